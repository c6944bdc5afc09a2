"""Text mode (no audio): ``session.run`` and ordered-event assertions; the tool seam."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.core import LLMToolCall, ProviderStatusError, ToolSpec
from trioagents.testing import FakeLLM, LLMScript
from trioagents.voice import (
    Agent,
    AgentSession,
    InterruptionNotAllowedError,
    SessionOptions,
    ToolStepOutcome,
)


class WeatherTool:
    spec = ToolSpec(name="get_weather", description="Weather for a city")


def make_session(llm: FakeLLM) -> AgentSession[None]:
    return AgentSession(llm=llm)


async def test_run_returns_ordered_items(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM({"hello": LLMScript("Hi, how can I help?", ttft=0.3)})
    session = make_session(llm)
    async with session.start(Agent(instructions="Be brief.")):
        result = await session.run(user_input="hello")
    result.expect.next_event().is_message(role="user", contains="hello")
    result.expect.next_event().is_message(role="assistant", contains="how can I help")
    result.expect.no_more_events()
    assert llm.requests[0].chat_ctx.messages()[0].content == "Be brief."


async def test_assertion_messages_name_the_event(autojump_clock: trio.testing.MockClock) -> None:
    session = make_session(FakeLLM(default=LLMScript("Fine.")))
    async with session.start(Agent(instructions="")):
        result = await session.run(user_input="hi")
    with pytest.raises(AssertionError, match="event 0: expected a function call"):
        result.expect.next_event().is_function_call()
    with pytest.raises(AssertionError, match="expected no more events, 1 left"):
        result.expect.no_more_events()


async def test_a_spec_only_tool_gets_an_error_output(
    autojump_clock: trio.testing.MockClock,
) -> None:
    call = LLMToolCall(call_id="c1", name="get_weather", arguments='{"city": "Oslo"}')
    script = [LLMScript("Let me look.", tool_calls=[call]), LLMScript("Sorry, I cannot.")]
    llm = FakeLLM({"weather?": script})
    session = make_session(llm)
    async with session.start(Agent(instructions="x", tools=[WeatherTool()])):
        result = await session.run(user_input="weather?")
    result.expect.skip_next()
    result.expect.next_event().is_message(role="assistant")
    assert result.expect.next_event().is_function_call(name="get_weather").call_id == "c1"
    output = result.expect.next_event().is_function_call_output(is_error=True)
    # the built-in runner executes FunctionTools only; a bare spec cannot be run
    assert output.output == "Unknown tool 'get_weather'. Available tools: none."
    result.expect.next_event().is_message(role="assistant", contains="cannot")  # error → reply
    result.expect.no_more_events()
    assert llm.requests[0].tools == (WeatherTool.spec,)


async def test_custom_tool_executor_gets_another_step(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from trioagents.core import FunctionCall, FunctionCallOutput

    call = LLMToolCall(call_id="c1", name="get_weather", arguments="{}")
    llm = FakeLLM({"weather?": [LLMScript(tool_calls=[call]), LLMScript("It is sunny.")]})

    async def executor(agent, speech, calls):  # type: ignore[no-untyped-def]
        await trio.sleep(0.1)
        c = calls[0]
        return ToolStepOutcome(
            [
                FunctionCall(c.call_id, c.name, c.arguments),
                FunctionCallOutput(c.call_id, c.name, "sun"),
            ],
            reply_required=True,
        )

    session = make_session(llm)
    session.tool_executor = executor
    async with session.start(Agent(instructions="x", tools=[WeatherTool()])):
        result = await session.run(user_input="weather?")
    result.expect.skip_next()
    result.expect.next_event().is_function_call()
    result.expect.next_event().is_function_call_output(is_error=False)
    result.expect.next_event().is_message(role="assistant", contains="sunny")
    assert len(llm.requests) == 2


async def test_max_tool_steps_forces_text(autojump_clock: trio.testing.MockClock) -> None:
    call = LLMToolCall(call_id="c", name="get_weather", arguments="{}")
    llm = FakeLLM(default=LLMScript("again", tool_calls=[call]))

    async def executor(agent, speech, calls):  # type: ignore[no-untyped-def]
        await trio.lowlevel.checkpoint()
        return ToolStepOutcome([], reply_required=True)

    session = AgentSession(llm=llm, options=SessionOptions(max_tool_steps=2))
    session.tool_executor = executor
    async with session.start(Agent(instructions="x", tools=[WeatherTool()])):
        await session.run(user_input="loop")
    assert [len(r.tools) for r in llm.requests] == [1, 1, 0]


async def test_run_raises_the_provider_error(autojump_clock: trio.testing.MockClock) -> None:
    error = ProviderStatusError("boom", provider="fake-llm", status=500)
    session = make_session(FakeLLM(default=LLMScript(error=error)))
    async with session.start(Agent(instructions="x")):
        with pytest.raises(ProviderStatusError) as caught:
            await session.run(user_input="hi")
        assert caught.value is error
        assert session.errors.consecutive("llm") == 1  # the session is still running


async def test_say_and_speech_handle(autojump_clock: trio.testing.MockClock) -> None:
    session = make_session(FakeLLM())
    async with session.start(Agent(instructions="x")):
        locked = session.say("Please hold.", allow_interruptions=False)
        with pytest.raises(InterruptionNotAllowedError):
            locked.interrupt()
        queued = session.say("Second.")
        queued.interrupt()  # interrupted before it starts: never plays
        await locked
        await queued
    assert locked.done()
    assert not locked.interrupted
    assert queued.interrupted
    assert queued.chat_items == []
    assert [m.content for m in session.history.messages()] == ["Please hold."]


async def test_generate_reply_interrupted_while_thinking(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = FakeLLM(default=LLMScript("Too late.", ttft=5.0))
    session = make_session(llm)
    async with session.start(Agent(instructions="x")):
        handle = session.generate_reply(user_input="hi")
        await trio.sleep(1.0)
        assert session.agent_state == "thinking"
        session.interrupt()
        await handle
        assert session.agent_state == "listening"
    assert handle.interrupted
    assert [m.role for m in session.history.messages()] == ["user"]
    assert llm.streams.all_closed()
    assert llm.streams.records[0].closed_at == pytest.approx(1.0 + llm.streams.records[0].opened_at)


async def test_session_api_requires_start() -> None:
    from trioagents.core import ConfigurationError

    session = make_session(FakeLLM())
    with pytest.raises(ConfigurationError, match="not running"):
        session.say("hi")
    with pytest.raises(ConfigurationError, match="userdata"):
        session.userdata  # noqa: B018


def test_options_are_validated() -> None:
    from trioagents.core import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_endpointing_delay"):
        SessionOptions(min_endpointing_delay=2.0, max_endpointing_delay=1.0)
    with pytest.raises(ConfigurationError, match="min_interruption_duration"):
        SessionOptions(min_interruption_duration=-1)


async def test_interrupt_stops_at_uninterruptible_speech(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = make_session(FakeLLM())
    async with session.start(Agent(instructions="x")):
        first = session.say("One.")
        locked = session.say("Two.", allow_interruptions=False)
        after = session.say("Three.")
        session.interrupt()
        await after
        assert first.interrupted
        assert not locked.interrupted  # it and everything after it keep their place
        assert not after.interrupted
        forced = session.say("Four.", allow_interruptions=False)
        session.interrupt(force=True)
        await forced
        assert forced.interrupted
    assert [m.content for m in session.history.messages()] == ["Two.", "Three."]
