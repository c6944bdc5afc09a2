"""``result.expect``: typed event checks, cursor moves, random access and searches."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import AgentLLM, call
from trioagents.core import AgentHandoff, ChatMessage, FunctionCall, FunctionCallOutput
from trioagents.testing import LLMScript
from trioagents.voice import (
    Agent,
    AgentSession,
    ChatMessageAssert,
    FunctionCallAssert,
    RunExpectations,
    RunResult,
    function_tool,
)


class BookingBase(Agent):
    pass


class SpecialBooking(BookingBase):
    def __init__(self) -> None:
        super().__init__(instructions="booking")

    async def on_enter(self) -> None:
        self.session.generate_reply()


class Concierge(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="concierge")

    @function_tool
    async def get_weather(self, city: str, unit: str = "C") -> str:
        """Weather for a city."""
        return f"sunny, 21 {unit} in {city}"

    @function_tool
    async def start_booking(self) -> SpecialBooking:
        """Hand over to bookings."""
        return SpecialBooking()


WEATHER = call("get_weather", '{"city": "Oslo", "unit": "C"}', call_id="w1")


async def weather_run() -> RunResult:
    llm = AgentLLM(
        {"concierge": [LLMScript("Let me check.", tool_calls=[WEATHER]), LLMScript("Sunny!")]}
    )
    session = AgentSession(llm=llm)
    async with session.start(Concierge()):
        return await session.run(user_input="weather in Oslo?")


async def handoff_run() -> RunResult:
    llm = AgentLLM(
        {
            "concierge": [LLMScript(tool_calls=[call("start_booking")])],
            "booking": [LLMScript("How many people?")],
        }
    )
    session = AgentSession(llm=llm)
    async with session.start(Concierge()):
        return await session.run(user_input="a table please")


async def test_function_call_arguments_match_like_livekit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await weather_run()
    event = result.expect[2]
    matched = event.is_function_call(name="get_weather", arguments={"city": "Oslo", "unit": "C"})
    assert isinstance(matched, FunctionCallAssert)
    assert (matched.name, matched.call_id) == ("get_weather", "w1")
    assert isinstance(matched.item, FunctionCall)
    assert matched.event().type == "function_call"
    event.is_function_call(arguments={"city": "Oslo"})  # keys not given are not checked
    with pytest.raises(AssertionError, match=r"argument 'city' of get_weather: expected 'Bergen'"):
        event.is_function_call(arguments={"city": "Bergen"})
    with pytest.raises(AssertionError, match="called without argument 'days'"):
        event.is_function_call(arguments={"days": 3})
    with pytest.raises(AssertionError, match="expected a function call to lookup"):
        event.is_function_call(name="lookup")


async def test_arguments_that_are_not_json_fail_the_check() -> None:
    expect = RunExpectations([_event(FunctionCall("c", "f", "{not json"))])
    with pytest.raises(AssertionError, match="not valid JSON"):
        expect.next_event().is_function_call(arguments={"a": 1})


async def test_function_call_output_checks_output_and_error_flag(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await weather_run()
    event = result.expect[3]
    output = event.is_function_call_output(output="sunny, 21 C in Oslo", is_error=False)
    assert (output.output, output.is_error, output.call_id) == ("sunny, 21 C in Oslo", False, "w1")
    with pytest.raises(AssertionError, match="output equal to 'rain'"):
        event.is_function_call_output(output="rain")
    with pytest.raises(AssertionError, match="is_error=True"):
        event.is_function_call_output(is_error=True)


async def test_handoff_matches_the_new_agent_object_with_isinstance(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await handoff_run()
    handoff = result.expect.next_event(type="agent_handoff")
    assert handoff.new_agent == "SpecialBooking"
    assert isinstance(handoff.event().new_agent, SpecialBooking)
    event = result.expect[handoff.index]
    event.is_agent_handoff(new_agent_type=SpecialBooking)
    event.is_agent_handoff(new_agent_type=BookingBase)  # a subclass instance matches
    with pytest.raises(AssertionError, match="an agent handoff to a Concierge"):
        event.is_agent_handoff(new_agent_type=Concierge)
    result.expect.contains_agent_handoff(new_agent_type=BookingBase)
    with pytest.raises(AssertionError, match="no agent handoff to Concierge"):
        result.expect.contains_agent_handoff(new_agent_type=Concierge)


async def test_handoff_without_an_agent_object_matches_by_class_name() -> None:
    expect = RunExpectations([_event(AgentHandoff("Concierge", "SpecialBooking"))])
    expect[0].is_agent_handoff(new_agent_type=SpecialBooking)
    with pytest.raises(AssertionError):
        expect[0].is_agent_handoff(new_agent_type=BookingBase)


async def test_contains_searches_every_event(autojump_clock: trio.testing.MockClock) -> None:
    result = await weather_run()
    expect = result.expect
    found = expect.contains_function_call(name="get_weather", arguments={"city": "Oslo"})
    assert found.index == 2
    with pytest.raises(AssertionError, match="no function call to get_weather with arguments"):
        expect.contains_function_call(name="get_weather", arguments={"city": "Rome"})
    message = expect.contains_message(role="assistant", contains="sunny")
    assert isinstance(message, ChatMessageAssert)
    assert (message.index, message.content) == (4, "Sunny!")
    with pytest.raises(AssertionError, match="no user message containing 'sunny'"):
        expect.contains_message(role="user", contains="sunny")
    assert expect.contains_function_call_output(is_error=False).index == 3
    with pytest.raises(AssertionError, match="no function call output with is_error=True"):
        expect.contains_function_call_output(is_error=True)
    with pytest.raises(AssertionError, match="no agent handoff"):
        expect.contains_agent_handoff()
    expect.next_event().is_message(role="user")  # searches did not move the cursor


async def test_slices_and_indices(autojump_clock: trio.testing.MockClock) -> None:
    result = await weather_run()
    expect = result.expect
    assert len(result.events) == 5
    expect[0].is_message(role="user", contains="weather")
    expect[-1].is_message(role="assistant")
    expect[2:4].contains_function_call(name="get_weather")
    assert expect[:2].contains_message(role="assistant").index == 1
    with pytest.raises(AssertionError, match=r"among the run's events 3\.\.4"):
        expect[3:].contains_function_call()
    with pytest.raises(AssertionError, match="no event 5: the run has 5"):
        expect[5]
    with pytest.raises(AssertionError, match="no event -6"):
        expect[-6]
    expect.next_event().is_message(role="user")


async def test_skip_next_event_if_skips_only_a_match(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await weather_run()
    expect = result.expect
    assert expect.skip_next_event_if(type="message", role="assistant") is None  # a user message
    skipped = expect.skip_next_event_if(type="message", role="user")
    assert skipped is not None
    assert skipped.index == 0
    assert expect.skip_next_event_if(type="function_call") is None  # an assistant message
    expect.skip_next()
    not_oslo = expect.skip_next_event_if(type="function_call", arguments={"city": "Rome"})
    assert not_oslo is None
    called = expect.skip_next_event_if(type="function_call", name="get_weather")
    assert called is not None
    assert called.call_id == "w1"
    assert expect.skip_next_event_if(type="function_call_output", is_error=True) is None
    out = expect.skip_next_event_if(type="function_call_output", output="sunny, 21 C in Oslo")
    assert out is not None
    assert out.index == 3
    assert expect.skip_next_event_if(type="agent_handoff") is None  # a message: stays
    expect.next_event().is_message(role="assistant", contains="sunny")
    assert expect.skip_next_event_if(type="message") is None  # no next event
    expect.no_more_events()
    with pytest.raises(ValueError, match="unknown event type 'chat'"):
        expect.skip_next_event_if(type="chat")  # type: ignore[call-overload]


async def test_next_event_of_a_type_skips_others(autojump_clock: trio.testing.MockClock) -> None:
    result = await weather_run()
    expect = result.expect
    assert expect.next_event(type="function_call").name == "get_weather"
    assert expect.next_event(type="message").content == "Sunny!"  # skipped the output
    with pytest.raises(AssertionError, match="the run has no more"):
        expect.next_event(type="function_call")


async def test_skip_next_chains_and_refuses_to_run_past_the_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await weather_run()
    assert result.expect.skip_next(2) is result.expect
    result.expect.skip_next().skip_next().next_event().is_message(role="assistant")
    with pytest.raises(AssertionError, match="expected an event at index 5"):
        result.expect.skip_next()


async def test_failures_list_the_run_and_mark_the_event(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await weather_run()
    result.expect.skip_next()
    with pytest.raises(AssertionError) as excinfo:
        result.expect.next_event().is_function_call()
    lines = str(excinfo.value).splitlines()
    assert lines[0] == "event 1: expected a function call, got message assistant: 'Let me check.'"
    assert lines[1] == "run events:"
    assert lines[2] == "    [0] message user: 'weather in Oslo?'"
    assert lines[3] == ">>> [1] message assistant: 'Let me check.'"
    assert lines[4] == """    [2] function_call get_weather('{"city": "Oslo", "unit": "C"}')"""
    assert lines[5] == "    [3] function_call_output get_weather: 'sunny, 21 C in Oslo'"
    with pytest.raises(AssertionError, match=r"expected no more events, 3 left\n"):
        result.expect.no_more_events()


async def test_message_assert_keeps_the_item_fields() -> None:
    message = ChatMessage("assistant", "Hello there")
    output = FunctionCallOutput("c", "f", "done", is_error=True)
    expect = RunExpectations([_event(message), _event(output)])
    matched = expect.next_event().is_message(role="assistant", contains="HELLO")
    assert matched.item is message
    assert (matched.role, matched.content) == ("assistant", "Hello there")
    assert expect.next_event().is_function_call_output(is_error=True).item is output


def _event(item):  # type: ignore[no-untyped-def]
    from trioagents.voice import RunEvent

    return RunEvent.of(item)
