"""``FunctionToolsExecuted``: one event per tool step, with its calls and outputs."""

from __future__ import annotations

import dataclasses

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import AgentLLM, call
from trioagents.core import FunctionCall, FunctionCallOutput, LLMToolCall
from trioagents.testing import LLMScript
from trioagents.voice import (
    Agent,
    AgentSession,
    FunctionToolsExecuted,
    SpeechHandle,
    ToolStepOutcome,
    function_tool,
)


class Waiter(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="waiter")

    @function_tool
    async def count_tables(self, area: str) -> str:
        """How many tables are free."""
        return f"3 in {area}"

    @function_tool(on_interrupt="cancel")
    async def slow_lookup(self) -> str:
        """Takes a while."""
        await trio.sleep(10)
        return "done"


def record(session: AgentSession[None]) -> list[FunctionToolsExecuted]:
    """The session's FunctionToolsExecuted events, as its listeners get them."""
    seen: list[FunctionToolsExecuted] = []
    session.on(FunctionToolsExecuted, seen.append)
    return seen


async def test_one_event_per_step_with_calls_and_outputs_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = AgentLLM(
        {
            "waiter": [
                LLMScript(
                    "",
                    tool_calls=[
                        call("count_tables", '{"area": "terrace"}', "c1"),
                        call("no_such_tool", "{}", "c2"),
                    ],
                ),
                LLMScript("Three on the terrace."),
            ]
        }
    )
    session: AgentSession[None] = AgentSession(llm=llm)
    executed = record(session)
    async with session.start(Waiter()):
        result = await session.run(user_input="any tables?")
    [event] = executed
    assert [c.call_id for c in event.function_calls] == ["c1", "c2"]
    assert [o.call_id for o in event.function_call_outputs] == ["c1", "c2"]
    assert event.function_call_outputs[0].output == "3 in terrace"
    assert event.function_call_outputs[1].is_error
    assert event.reply_required
    assert not event.interrupted
    assert next((c.name, o.output if o else None) for c, o in event.zipped()) == (
        "count_tables",
        "3 in terrace",
    )
    assert event.speech_id == result.speech.id
    # the same items the chat context got, in the order the event lists them
    history_calls = [i for i in session.history if isinstance(i, FunctionCall)]
    assert tuple(history_calls) == event.function_calls
    # frozen and slotted, like every session event
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.interrupted = True  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


async def test_an_interrupted_step_is_reported_with_its_cancelled_outputs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = AgentLLM({"waiter": [LLMScript("", tool_calls=[call("slow_lookup", "{}", "s1")])]})
    session: AgentSession[None] = AgentSession(llm=llm)
    executed = record(session)
    async with session.start(Waiter()):
        handle = session.generate_reply()
        await trio.sleep(1.0)  # the tool is running
        session.interrupt()
        await handle
    [event] = executed
    assert event.interrupted
    assert not event.reply_required
    [output] = event.function_call_outputs
    assert output.is_error
    assert "cancelled" in output.output


async def test_a_custom_tool_executor_step_is_reported_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def executor(
        agent: Agent, speech: SpeechHandle, calls: list[LLMToolCall]
    ) -> ToolStepOutcome:
        items: list[FunctionCall | FunctionCallOutput] = [
            FunctionCall(c.call_id, c.name, c.arguments) for c in calls
        ]
        items += [FunctionCallOutput(c.call_id, c.name, "ok") for c in calls]
        return ToolStepOutcome(items, reply_required=False)

    llm = AgentLLM({"waiter": [LLMScript("", tool_calls=[call("anything", "{}", "x1")])]})
    session: AgentSession[None] = AgentSession(llm=llm)
    session.tool_executor = executor  # type: ignore[assignment]
    executed = record(session)
    async with session.start(Waiter()):
        await session.run(user_input="go")
    [event] = executed
    assert [c.call_id for c in event.function_calls] == ["x1"]
    assert [o.output for o in event.function_call_outputs] == ["ok"]
    assert not event.reply_required


async def test_no_event_without_tool_calls(autojump_clock: trio.testing.MockClock) -> None:
    session: AgentSession[None] = AgentSession(llm=AgentLLM({}))
    executed = record(session)
    async with session.start(Waiter()):
        await session.run(user_input="hello")
    assert executed == []
