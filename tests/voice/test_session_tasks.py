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
    StopResponse,
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


class Ordered(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="ordered")

    @function_tool
    async def slow(self) -> str:
        """Finishes second."""
        await trio.sleep(1.0)
        return "slow"

    @function_tool
    async def fast(self) -> str:
        """Finishes first."""
        return "fast"

    @function_tool
    async def stop(self) -> str:
        """Records an output and ends the reply."""
        raise StopResponse("stopped")


async def test_parallel_results_are_committed_in_call_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = AgentLLM(
        {"ordered": [LLMScript(tool_calls=[call("slow"), call("fast")]), LLMScript("both")]}
    )
    session = AgentSession[None](llm=llm)
    async with session.start(Ordered()):
        started = trio.current_time()
        result = await session.run(user_input="go")
        assert trio.current_time() - started == pytest.approx(1.0)  # in parallel
    names = [
        (type(i).__name__, i.name)
        for i in result.items
        if isinstance(i, FunctionCall | FunctionCallOutput)
    ]
    assert names == [
        ("FunctionCall", "slow"),
        ("FunctionCall", "fast"),
        ("FunctionCallOutput", "slow"),
        ("FunctionCallOutput", "fast"),
    ]
    result.expect.contains_message(role="assistant", contains="both")


async def test_stop_response_ends_the_reply(autojump_clock: trio.testing.MockClock) -> None:
    llm = AgentLLM({"ordered": [LLMScript("Stopping.", tool_calls=[call("stop")]), LLMScript("x")]})
    session = AgentSession[None](llm=llm)
    async with session.start(Ordered()):
        result = await session.run(user_input="go")
    assert llm.asked_by == ["ordered"]  # no second step
    assert outputs(session)["call_stop"].output == "stopped"
    result.expect.skip_next(3)
    result.expect.next_event().is_function_call_output(is_error=False)
    result.expect.no_more_events()


async def test_session_close_during_a_tool_commits_its_output(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = AgentLLM({"clerk": [LLMScript(tool_calls=[call("charge"), call("search")])]})
    session = AgentSession[None](llm=llm)
    ORDER.clear()
    async with session.start(Clerk()):
        session.generate_reply(user_input="buy")
        await trio.sleep(0.5)
        closing = trio.current_time()
    assert trio.current_time() - closing == pytest.approx(1.5)  # charge completes (2 s)
    assert ORDER == ["charged"]
    found = outputs(session)
    assert found["call_charge"].output == "charged"
    assert found["call_search"].is_error


class Careful(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="careful")

    @function_tool(on_interrupt="cancel")
    async def transfer(self, context: RunContext[None]) -> str:
        """Must not be interrupted once started."""
        context.disallow_interruptions()
        await context.wait_for_playout()
        await trio.sleep(2.0)
        return "transferred"


async def test_a_tool_can_disallow_interruptions(autojump_clock: trio.testing.MockClock) -> None:
    llm = AgentLLM({"careful": [LLMScript(tool_calls=[call("transfer")]), LLMScript("Done.")]})
    session = AgentSession[None](llm=llm)
    async with session.start(Careful()):
        speech = session.generate_reply(user_input="move money")
        await trio.sleep(1.0)
        session.interrupt()  # refused: the tool disallowed interruptions
        await speech
        assert not speech.interrupted
    assert outputs(session)["call_transfer"].output == "transferred"
    assert llm.asked_by == ["careful", "careful"]


class TwoForms(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="forms")

    @function_tool
    async def first_name(self) -> str:
        """Collect one name."""
        return "first " + await CollectName()

    @function_tool
    async def second_name(self) -> str:
        """Collect another name."""
        return "second " + await CollectName()


async def test_tasks_awaited_by_parallel_tools_take_turns(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ORDER.clear()
    llm = AgentLLM(
        {
            "forms": [
                LLMScript(tool_calls=[call("first_name"), call("second_name")]),
                LLMScript("Both recorded."),
            ],
            "collect": [
                LLMScript("Name?"),
                LLMScript(tool_calls=[call("record_name", '{"name": "Ann"}', "c_ann")]),
                LLMScript("Name?"),
                LLMScript(tool_calls=[call("record_name", '{"name": "Ben"}', "c_ben")]),
            ],
        }
    )
    session = AgentSession[None](llm=llm)
    async with session.start(TwoForms()):
        await session.run(user_input="two names")
        await session.run(user_input="Ann")
        assert session.current_agent.name == "CollectName"  # the second task
        result = await session.run(user_input="Ben")
        assert session.current_agent.name == "TwoForms"
    assert ORDER == ["task.enter", "task.exit", "task.enter", "task.exit"]
    found = outputs(session)
    got = {found["call_first_name"].output, found["call_second_name"].output}
    assert got in ({"first Ann", "second Ben"}, {"first Ben", "second Ann"})
    result.expect.contains_message(role="assistant", contains="Both recorded")


async def test_close_with_a_task_running_and_a_sibling_waiting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    llm = AgentLLM(
        {
            "forms": [LLMScript(tool_calls=[call("first_name"), call("second_name")])],
            "collect": [LLMScript("Name?")],
        }
    )
    session = AgentSession[None](llm=llm)
    async with session.start(TwoForms()):
        await session.run(user_input="two names")
        closing = trio.current_time()
    assert trio.current_time() - closing <= 2 * session.options.close_grace
    found = outputs(session)  # both waiting tools still got their one output
    assert found["call_first_name"].is_error
    assert found["call_second_name"].is_error


class Signup(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="signup")

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def get_name(self) -> str:
        """Ask a nested task for the name, then finish."""
        name = await CollectName()
        self.complete(f"signed up {name}")
        return name


class Front(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="front")

    @function_tool
    async def signup(self) -> str:
        """Run the signup task."""
        return await Signup()


async def test_a_task_may_await_a_task(autojump_clock: trio.testing.MockClock) -> None:
    ORDER.clear()
    llm = AgentLLM(
        {
            "front": [LLMScript(tool_calls=[call("signup")]), LLMScript("All done.")],
            "signup": [LLMScript(tool_calls=[call("get_name")])],
            "collect": [
                LLMScript("Name?"),
                LLMScript(tool_calls=[call("record_name", '{"name": "Dee"}')]),
            ],
        }
    )
    session = AgentSession[None](llm=llm)
    events = session.subscribe()
    async with session.start(Front()):
        await session.run(user_input="sign up")
        assert session.current_agent.name == "CollectName"
        result = await session.run(user_input="Dee")
        assert session.current_agent.name == "Front"
    result.expect.contains_message(role="assistant", contains="All done")
    assert outputs(session)["call_signup"].output == "signed up Dee"
    switches = [(e.new_agent, e.kind) async for e in events if isinstance(e, AgentHandedOff)]
    assert switches == [
        ("Signup", "task_started"),
        ("CollectName", "task_started"),
        ("Signup", "task_completed"),
        ("Front", "task_completed"),
    ]
