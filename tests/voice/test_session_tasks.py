"""Interrupted tool steps and AgentTask inside a running session (virtual time)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import AgentLLM, call
from trioagents.core import AgentHandoff, FunctionCall, FunctionCallOutput
from trioagents.testing import LLMScript
from trioagents.voice import (
    Agent,
    AgentHandedOff,
    AgentSession,
    AgentTask,
    Reset,
    RunContext,
    function_tool,
)

ORDER: list[str] = []


def outputs(session: AgentSession[None]) -> dict[str, FunctionCallOutput]:
    found = [i for i in session.history if isinstance(i, FunctionCallOutput)]
    by_id = {o.call_id: o for o in found}
    assert len(by_id) == len(found), "one output per call"
    calls = {i.call_id for i in session.history if isinstance(i, FunctionCall)}
    assert calls == set(by_id), "no orphan call or output"
    return by_id


class Clerk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="clerk")

    @function_tool
    async def quick(self) -> str:
        """Done at once."""
        return "quick done"

    @function_tool(on_interrupt="cancel")
    async def search(self) -> str:
        """Cancelled by a barge-in."""
        await trio.sleep(5)
        return "search done"

    @function_tool(on_interrupt="complete", interrupt_deadline=3.0)
    async def charge(self) -> str:
        """Completes within 3 s of a barge-in."""
        await trio.sleep(2)
        ORDER.append("charged")
        return "charged"

    @function_tool
    async def ask_name(self) -> str:
        """Runs a sub-agent and returns what it collected."""
        name = await CollectName()
        return f"name is {name}"


class CollectName(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="collect")

    async def on_enter(self) -> None:
        ORDER.append("task.enter")
        self.session.generate_reply()

    async def on_exit(self) -> None:
        ORDER.append("task.exit")

    @function_tool
    async def record_name(self, name: str) -> None:
        """Record the user's name."""
        self.complete(name)


class Host(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="host")

    async def on_enter(self) -> None:
        ORDER.append("host.enter")
        name = await CollectName()
        ORDER.append(f"host got {name}")
        self.session.say(f"Welcome, {name}.")


async def test_interruption_during_a_tool(autojump_clock: trio.testing.MockClock) -> None:
    ORDER.clear()
    calls = [call("quick"), call("search"), call("charge")]
    llm = AgentLLM({"clerk": [LLMScript(tool_calls=calls), LLMScript("never")]})
    session = AgentSession[None](llm=llm)
    async with session.start(Clerk()):
        speech = session.generate_reply(user_input="buy")
        await trio.sleep(1.0)  # all three tools started; quick has finished
        session.interrupt()
        interrupted_at = trio.current_time()
        await speech
        done_at = trio.current_time()
        assert ORDER == ["charged"]  # the completing tool finished its side effect
        await session.wait_idle()
    found = outputs(session)
    assert found["call_quick"].output == "quick done"
    assert "cancelled" in found["call_search"].output
    assert found["call_search"].is_error
    assert found["call_charge"].output == "charged"
    assert done_at - interrupted_at == pytest.approx(1.0)  # charge needed 1 s more
    assert llm.asked_by == ["clerk"]  # no reply after an interrupted step
    history_calls = [i for i in session.history if isinstance(i, FunctionCall)]
    assert [c.name for c in history_calls] == ["quick", "search", "charge"]  # committed once


async def test_agent_task_from_a_tool(autojump_clock: trio.testing.MockClock) -> None:
    ORDER.clear()
    llm = AgentLLM(
        {
            "clerk": [LLMScript(tool_calls=[call("ask_name")]), LLMScript("Thanks, Ada.")],
            "collect": [
                LLMScript("What is your name?"),
                LLMScript(tool_calls=[call("record_name", '{"name": "Ada"}')]),
            ],
        }
    )
    session = AgentSession[None](llm=llm)
    events = session.subscribe()
    async with session.start(Clerk()):
        first = await session.run(user_input="sign me up")
        assert session.current_agent.name == "CollectName"  # waiting for the user
        first.expect.contains_message(role="assistant", contains="What is your name")
        second = await session.run(user_input="I am Ada")
        assert session.current_agent.name == "Clerk"
    assert ORDER == ["task.enter", "task.exit"]
    second.expect.contains_message(role="assistant", contains="Thanks, Ada")
    found = outputs(session)
    assert found["call_ask_name"].output == "name is Ada"
    # the task's conversation was merged back: the clerk's last request saw it
    clerk_last = llm.requests[-1].chat_ctx
    contents = [m.content for m in clerk_last.messages()]
    assert "What is your name?" in contents
    assert "I am Ada" in contents
    assert contents[0] == "clerk"  # the task's instructions were not merged
    kinds = [(e.new_agent, e.kind) async for e in events if isinstance(e, AgentHandedOff)]
    assert kinds == [("CollectName", "task_started"), ("Clerk", "task_completed")]
    assert session.workflow_state is not None
    assert session.workflow_state.current is Clerk  # a task is not a workflow state


async def test_agent_task_from_on_enter(autojump_clock: trio.testing.MockClock) -> None:
    ORDER.clear()
    llm = AgentLLM(
        {
            "collect": [
                LLMScript("Your name, please?"),
                LLMScript(tool_calls=[call("record_name", '{"name": "Bo"}')]),
            ]
        }
    )
    session = AgentSession[None](llm=llm)
    async with session.start(Host()):
        await session.wait_idle()
        assert session.current_agent.name == "CollectName"
        result = await session.run(user_input="Bo")
        assert session.current_agent.name == "Host"
    assert ORDER == ["host.enter", "task.enter", "task.exit", "host got Bo"]
    result.expect.contains_message(role="assistant", contains="Welcome, Bo")
    assert [(i.old_agent, i.new_agent) for i in session.history if isinstance(i, AgentHandoff)] == [
        ("Host", "CollectName"),
        ("CollectName", "Host"),
    ]


async def test_merge_policy_reset_keeps_only_the_result(
    autojump_clock: trio.testing.MockClock,
) -> None:
    CollectName.merge_policy = Reset()
    try:
        llm = AgentLLM(
            {
                "clerk": [LLMScript(tool_calls=[call("ask_name")]), LLMScript("Done.")],
                "collect": [
                    LLMScript("Name?"),
                    LLMScript(tool_calls=[call("record_name", '{"name": "Cy"}')]),
                ],
            }
        )
        session = AgentSession[None](llm=llm)
        async with session.start(Clerk()):
            await session.run(user_input="go")
            await session.run(user_input="Cy")
    finally:
        del CollectName.merge_policy
    contents = [m.content for m in llm.requests[-1].chat_ctx.messages()]
    assert "Name?" not in contents
    assert "Cy" not in contents
    assert outputs(session)["call_ask_name"].output == "name is Cy"


async def test_session_close_while_an_agent_task_is_pending(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ORDER.clear()
    llm = AgentLLM(
        {"clerk": [LLMScript(tool_calls=[call("ask_name")])], "collect": [LLMScript("Name?")]}
    )
    session = AgentSession[None](llm=llm)
    async with session.start(Clerk()):
        await session.run(user_input="sign me up")
        assert session.current_agent.name == "CollectName"
        closing_at = trio.current_time()
    closed_in = trio.current_time() - closing_at
    assert closed_in <= 2 * session.options.close_grace
    assert session.close_reason == "user_initiated"
    found = outputs(session)  # the awaiting tool still got its one output
    assert found["call_ask_name"].is_error
    assert ORDER == ["task.enter", "task.exit"]  # on_exit of the agent active at close


async def test_await_outside_a_session_is_a_clear_error() -> None:
    from trioagents.core import ConfigurationError

    with pytest.raises(ConfigurationError, match="from a tool or a hook"):
        await CollectName()


async def test_run_context_reaches_tools(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[tuple[str, str, object]] = []

    class Probe(Agent):
        @function_tool
        async def probe(self, context: RunContext[dict[str, int]]) -> str:
            """Probe."""
            seen.append((context.call_id, context.tool_name, context.speech_handle))
            context.userdata["n"] = 1
            return "ok"

    llm = AgentLLM({"p": [LLMScript(tool_calls=[call("probe")]), LLMScript("done")]})
    session = AgentSession[dict[str, int]](llm=llm, userdata={})
    async with session.start(Probe(instructions="p")):
        result = await session.run(user_input="x")
    assert seen == [("call_probe", "probe", result.speech)]
    assert session.userdata == {"n": 1}
