"""Tools and handoffs inside a running session (text mode, virtual time)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import AgentLLM, call
from trioagents.core import (
    AgentHandoff,
    ChatItem,
    ChatMessage,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
)
from trioagents.testing import LLMScript
from trioagents.voice import (
    Agent,
    AgentHandedOff,
    AgentSession,
    KeepLastTurns,
    Reset,
    RunContext,
    Summarize,
    Workflow,
    function_tool,
)
from trioagents.voice._handoff import DEFAULT_SUMMARY_PROMPT, SUMMARY_PREFIX

LOG: list[str] = []


@dataclass
class Booking:
    people: int | None = None
    log: list[str] = field(default_factory=list)


class Greeter(Agent):
    exit_delay = 0.0

    def __init__(self) -> None:
        super().__init__(instructions="greeter")

    async def on_exit(self) -> None:
        await trio.sleep(self.exit_delay)
        LOG.append("greeter.exit")

    @function_tool
    async def start_booking(self) -> BookingAgent:
        """Hand over to the booking agent."""
        return BookingAgent()

    @function_tool
    async def start_booking_with_message(self) -> tuple[BookingAgent, str]:
        """Hand over, with a message."""
        return BookingAgent(), "Passing you to bookings."

    @function_tool
    async def slow_lookup(self, context: RunContext[Booking]) -> str:
        """A lookup that takes two seconds."""
        await trio.sleep(2.0)
        context.userdata.log.append("lookup")
        return "found"

    @function_tool
    async def also_booking(self) -> BookingAgent:
        """A second handoff tool."""
        return BookingAgent()


class BookingAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="booking")

    async def on_enter(self) -> None:
        LOG.append("booking.enter")
        self.session.generate_reply()

    @function_tool
    async def set_people(self, people: int, context: RunContext[Booking]) -> str:
        """Record the party size."""
        context.userdata.people = people
        return f"{people} people"

    @function_tool(transitions=["Greeter"])
    async def back(self) -> Agent:
        """Back to the greeter (declared transition)."""
        return Greeter()

    @function_tool
    async def rogue(self) -> str:
        """Returns an agent the workflow does not declare."""
        return Greeter()  # type: ignore[return-value]


def make(scripts: dict[str, list[LLMScript]]) -> tuple[AgentSession[Booking], AgentLLM]:
    LOG.clear()
    llm = AgentLLM(scripts)
    return AgentSession(llm=llm, userdata=Booking()), llm


def handoffs(session: AgentSession[Booking]) -> list[tuple[str | None, str]]:
    return [(i.old_agent, i.new_agent) for i in session.history if isinstance(i, AgentHandoff)]


def assert_no_orphans(session: AgentSession[Booking]) -> None:
    calls = [i.call_id for i in session.history if isinstance(i, FunctionCall)]
    outputs = [i.call_id for i in session.history if isinstance(i, FunctionCallOutput)]
    assert sorted(calls) == sorted(outputs)
    assert len(set(outputs)) == len(outputs)


async def test_handoff_alone(autojump_clock: trio.testing.MockClock) -> None:
    session, llm = make(
        {
            "greeter": [LLMScript("One moment.", tool_calls=[call("start_booking")])],
            "booking": [LLMScript("How many people?")],
        }
    )
    events = session.subscribe()
    async with session.start(Greeter()):
        result = await session.run(user_input="I want a table")
        assert session.current_agent.name == "BookingAgent"
    result.expect.next_event().is_message(role="user")
    result.expect.next_event().is_message(role="assistant", contains="One moment")
    result.expect.next_event().is_function_call(name="start_booking")
    output = result.expect.next_event().is_function_call_output(is_error=False)
    assert output.output == "Transferred to BookingAgent."
    result.expect.next_event().is_agent_handoff(new_agent="BookingAgent")
    result.expect.next_event().is_message(role="assistant", contains="How many")
    result.expect.no_more_events()
    assert LOG == ["greeter.exit", "booking.enter"]  # on_exit before on_enter
    assert llm.asked_by == ["greeter", "booking"]  # the old agent said nothing more
    booking_ctx = llm.requests[1].chat_ctx
    assert [m.content for m in booking_ctx.messages()][:2] == ["booking", "I want a table"]
    assert session.workflow_state is not None
    assert session.workflow_state.current is BookingAgent
    published = [e async for e in events if isinstance(e, AgentHandedOff)]
    assert [(e.old_agent, e.new_agent, e.kind) for e in published] == [
        ("Greeter", "BookingAgent", "handoff")
    ]
    assert_no_orphans(session)


async def test_handoff_with_a_message(autojump_clock: trio.testing.MockClock) -> None:
    session, llm = make(
        {
            "greeter": [LLMScript(tool_calls=[call("start_booking_with_message")])],
            "booking": [LLMScript("Hello from bookings.")],
        }
    )
    async with session.start(Greeter()):
        result = await session.run(user_input="book")
    result.expect.skip_next(2)
    assert result.expect.next_event().is_function_call_output().output == (
        "Passing you to bookings."
    )
    result.expect.next_event().is_agent_handoff(new_agent="BookingAgent")
    result.expect.next_event().is_message(role="assistant", contains="bookings")
    result.expect.no_more_events()  # one opening message: on_enter's, no extra reply
    assert llm.asked_by == ["greeter", "booking"]


async def test_handoff_alongside_a_parallel_tool_that_finishes_later(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = [call("start_booking"), call("slow_lookup")]
    session, llm = make(
        {"greeter": [LLMScript(tool_calls=calls)], "booking": [LLMScript("Bookings here.")]}
    )
    async with session.start(Greeter()):
        start = trio.current_time()
        result = await session.run(user_input="book")
        handed: list[AgentHandoff] = [i for i in result.items if isinstance(i, AgentHandoff)]
    assert [type(i).__name__ for i in result.items[1:5]] == [
        "FunctionCall",
        "FunctionCall",
        "FunctionCallOutput",
        "FunctionCallOutput",
    ]
    outputs = [i for i in result.items if isinstance(i, FunctionCallOutput)]
    assert [o.name for o in outputs] == ["start_booking", "slow_lookup"]  # call order
    assert outputs[1].output == "found"
    assert handed[0].created_at - start == pytest.approx(2.0)  # waited for the slow tool
    assert session.userdata.log == ["lookup"]
    assert llm.asked_by == ["greeter", "booking"]


async def test_two_agents_returned_is_a_clear_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = [call("start_booking"), call("also_booking")]
    session, llm = make({"greeter": [LLMScript(tool_calls=calls), LLMScript("Let me try again.")]})
    async with session.start(Greeter()):
        result = await session.run(user_input="book")
        assert session.current_agent.name == "Greeter"
    outputs = [i for i in result.items if isinstance(i, FunctionCallOutput)]
    assert all(o.is_error and "Several tools" in o.output for o in outputs)
    assert not handoffs(session)
    result.expect.contains_message(role="assistant", contains="try again")
    assert llm.asked_by == ["greeter", "greeter"]


async def test_undeclared_handoff_is_refused_with_an_error_output(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session, _llm = make(
        {
            "greeter": [LLMScript(tool_calls=[call("start_booking")])],
            "booking": [LLMScript("Hi."), LLMScript(tool_calls=[call("rogue")]), LLMScript("Ok")],
        }
    )
    async with session.start(Greeter()):
        await session.run(user_input="book")
        result = await session.run(user_input="go back")
        assert session.current_agent.name == "BookingAgent"
    output = next(i for i in result.items if isinstance(i, FunctionCallOutput))
    assert output.is_error
    assert "BookingAgent may not hand off to Greeter through tool 'rogue'" in output.output
    assert handoffs(session) == [("Greeter", "BookingAgent")]


async def test_declared_transition_back_and_context_policies(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session, llm = make(
        {
            "greeter": [LLMScript(tool_calls=[call("start_booking")]), LLMScript("Welcome back")],
            "booking": [LLMScript("Hi."), LLMScript(tool_calls=[call("back")])],
        }
    )
    BookingAgent.context_policy = Reset()
    try:
        async with session.start(Greeter()):
            await session.run(user_input="book")
            Greeter.context_policy = KeepLastTurns(1)
            await session.run(user_input="actually no")
            await session.run(user_input="hello again")
    finally:
        BookingAgent.context_policy = None
        Greeter.context_policy = None
    booking_first = llm.requests[1].chat_ctx
    assert [m.content for m in booking_first.messages()] == ["booking"]  # Reset
    greeter_again = llm.requests[3].chat_ctx
    users = [m.content for m in greeter_again.messages() if m.role == "user"]
    assert users == ["actually no", "hello again"]  # last turn kept, then the new one
    assert handoffs(session) == [("Greeter", "BookingAgent"), ("BookingAgent", "Greeter")]


async def test_userdata_is_shared_across_agents(autojump_clock: trio.testing.MockClock) -> None:
    session, _ = make(
        {
            "greeter": [LLMScript(tool_calls=[call("start_booking")])],
            "booking": [
                LLMScript("How many?"),
                LLMScript(tool_calls=[call("set_people", '{"people": 4}')]),
                LLMScript("Four it is."),
            ],
        }
    )
    async with session.start(Greeter()):
        await session.run(user_input="book")
        result = await session.run(user_input="four of us")
    assert session.userdata.people == 4
    result.expect.contains_message(role="assistant", contains="Four it is")


class Typo(Agent):
    @function_tool(transitions=["Nowhere"])
    async def go(self) -> None:
        """Goes nowhere."""


async def test_workflow_errors_surface_at_start_up() -> None:
    session = AgentSession[None](llm=AgentLLM({}))
    with pytest.raises(ConfigurationError, match="unknown agent 'Nowhere'"):
        async with session.start(Typo(instructions="x")):
            pass


async def test_interruption_during_a_transition_reaches_the_new_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session, llm = make(
        {
            "greeter": [LLMScript(tool_calls=[call("start_booking")])],
            "booking": [LLMScript("Bookings, hello.", ttft=0.2), LLMScript("Sure, four.")],
        }
    )
    events: list[ChatItem] = []
    greeter = Greeter()
    greeter.exit_delay = 1.0
    async with session.start(greeter):
        session.generate_reply(user_input="book")
        await trio.sleep(0.5)  # the transition is running (on_exit takes 1 s)
        assert session.current_agent is greeter
        session.interrupt()  # barge-in: there is no old speech left to cancel
        session.generate_reply(user_input="four people")
        await session.wait_idle()
        assert session.current_agent.name == "BookingAgent"
        events = list(session.history)
    assert llm.asked_by == ["greeter", "booking", "booking"]
    booking_ctx = llm.requests[-1].chat_ctx
    assert "four people" in [m.content for m in booking_ctx.messages()]
    kinds = [type(i).__name__ for i in events]
    handoff_at = kinds.index("AgentHandoff")
    user_at = [i for i, item in enumerate(events) if isinstance(item, ChatMessage)][-3]
    assert user_at < handoff_at  # recorded during the transition, carried over
    assert_no_orphans(session)


class SummarizingGreeter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="greeter")

    @function_tool
    async def start_booking(self, context: RunContext[Booking]) -> BookingAgent:
        """Hand over with a summary of the conversation (a per-transition policy)."""
        agent = BookingAgent()
        agent.context_policy = Summarize(context.session.llm)
        return agent


async def test_summarize_policy_and_a_barge_in_while_summarizing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session, llm = make(
        {
            "greeter": [LLMScript("Hello!"), LLMScript(tool_calls=[call("start_booking")])],
            DEFAULT_SUMMARY_PROMPT: [LLMScript("Guest wants a table.", ttft=1.0)],
            "booking": [LLMScript("Booking here."), LLMScript("Four, noted.")],
        }
    )
    workflow = Workflow(SummarizingGreeter, states=[Greeter])  # `back` names "Greeter"
    async with session.start(SummarizingGreeter(), workflow=workflow):
        await session.run(user_input="hi")
        session.generate_reply(user_input="a table please")
        await trio.sleep(0.5)  # summarizing (1 s)
        assert session.transition_pending
        session.interrupt()
        session.generate_reply(user_input="for four")
        await session.wait_idle()
        assert not session.transition_pending
    assert llm.asked_by == ["greeter", "greeter", DEFAULT_SUMMARY_PROMPT, "booking", "booking"]
    booking_ctx = llm.requests[3].chat_ctx
    contents = [m.content for m in booking_ctx.messages()]
    assert contents[0] == "booking"
    assert contents[1] == SUMMARY_PREFIX + "Guest wants a table."
    assert "for four" in contents  # said during the summary, carried over
    assert "hi" not in contents  # summarized away


def test_duplicate_tool_names_fail_at_construction() -> None:
    class Twice(Agent):
        @function_tool
        async def lookup(self) -> str:
            """Lookup."""
            return ""

    with pytest.raises(ConfigurationError, match="two tools of one agent are named 'lookup'"):
        Twice(instructions="x", tools=[function_tool(name="lookup")(lambda: "")])
