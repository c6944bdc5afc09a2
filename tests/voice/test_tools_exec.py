"""Running one LLM step's tool calls: parallelism, call order, interrupt policies.

Everything here runs under virtual time (pytest-trio ``autojump_clock``, or a
``MockClock(autojump_threshold=0)`` inside Hypothesis examples).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.testing

from trioagents.core import ConfigurationError, FunctionCall, ToolError
from trioagents.voice import (
    RunContext,
    StopResponse,
    ToolSet,
    ToolStepResult,
    function_tool,
    run_tool_calls,
)


class Agent:
    __trioagents_agent__ = True
    __trioagents_agent_base__ = True


class BillingAgent(Agent):
    pass


class SupportAgent(Agent):
    pass


class Recorder:
    """Collects commits and the virtual times at which tools start and finish."""

    def __init__(self) -> None:
        self.commits: list[ToolStepResult] = []
        self.events: list[tuple[str, str, float]] = []
        self.active = 0

    def commit(self, result: ToolStepResult) -> None:
        self.commits.append(result)

    def context(self, call: FunctionCall) -> RunContext[Recorder]:
        return RunContext(session=None, speech_handle=None, function_call=call, userdata=self)


@function_tool
async def sleep_then_echo(ctx: RunContext[Recorder], seconds: float, text: str) -> str:
    """Sleep, then return the text."""
    recorder = ctx.userdata
    recorder.active += 1
    recorder.events.append(("start", ctx.call_id, trio.current_time()))
    try:
        await trio.sleep(seconds)
    finally:
        recorder.active -= 1
        recorder.events.append(("end", ctx.call_id, trio.current_time()))
    return text


@function_tool(on_interrupt="cancel", name="cancellable_sleep")
async def cancellable_sleep(ctx: RunContext[Recorder], seconds: float, text: str) -> str:
    """Sleep (cancelled with the turn), then return the text."""
    return await sleep_then_echo.invoke({"seconds": seconds, "text": text}, ctx)


@function_tool(interrupt_deadline=5.0)
async def slow_side_effect(ctx: RunContext[Recorder], seconds: float) -> str:
    """A side effect that completes within 5 s of an interruption, or is cancelled."""
    return await sleep_then_echo.invoke({"seconds": seconds, "text": "done"}, ctx)


@function_tool
def fail_with_tool_error(reason: str) -> str:
    """Refuse."""
    raise ToolError(reason)


@function_tool
def crash() -> str:
    """Crash with a private message."""
    raise RuntimeError("database password is hunter2")


@function_tool
def stop(note: str = "") -> str:
    """Stop the reply."""
    raise StopResponse(note)


@function_tool
def give_set() -> object:
    """Return something JSON cannot encode."""
    return object()


@function_tool
def structured() -> dict[str, Any]:
    """Return structured data."""
    return {"total": 3, "items": ("a", "b")}


@function_tool
async def to_billing() -> BillingAgent:
    """Hand off to billing."""
    return BillingAgent()


@function_tool
async def to_support_with_message() -> tuple[SupportAgent, str]:
    """Hand off to support with a message."""
    await trio.sleep(1)
    return SupportAgent(), "Transferring you to support."


@function_tool
def two_agents() -> tuple[BillingAgent, SupportAgent]:
    """Return two agents at once."""
    return BillingAgent(), SupportAgent()


TOOLS = ToolSet(
    [
        sleep_then_echo,
        cancellable_sleep,
        slow_side_effect,
        fail_with_tool_error,
        crash,
        stop,
        give_set,
        structured,
        to_billing,
        to_support_with_message,
        two_agents,
    ]
)


def call(call_id: str, name: str, arguments: str = "{}") -> FunctionCall:
    return FunctionCall(call_id=call_id, name=name, arguments=arguments)


def echo(call_id: str, seconds: float, text: str, name: str = "sleep_then_echo") -> FunctionCall:
    return call(call_id, name, f'{{"seconds": {seconds}, "text": "{text}"}}')


async def run(calls: list[FunctionCall], recorder: Recorder) -> ToolStepResult:
    return await run_tool_calls(calls, TOOLS, recorder.context, recorder.commit)


async def test_calls_run_in_parallel_and_commit_in_call_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    calls = [echo("a", 3, "first"), echo("b", 1, "second"), echo("c", 2, "third")]
    start = trio.current_time()
    result = await run(calls, recorder)
    assert trio.current_time() - start == pytest.approx(3)
    assert [o.output.output for o in result.outcomes] == ["first", "second", "third"]
    assert [o.output.call_id for o in result.outcomes] == ["a", "b", "c"]
    ends = [cid for kind, cid, _ in recorder.events if kind == "end"]
    assert ends == ["b", "c", "a"]  # completion order differs from call order
    assert recorder.commits == [result]
    assert result.reply_required
    assert not result.interrupted
    assert result.handoff is None
    items = result.chat_items()
    assert [type(i).__name__ for i in items] == ["FunctionCall"] * 3 + ["FunctionCallOutput"] * 3
    assert [i.call_id for i in items] == ["a", "b", "c", "a", "b", "c"]
    assert result.outputs[1].created_at == pytest.approx(start + 1)


async def test_every_failure_becomes_exactly_one_error_output(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    calls = [
        call("1", "no_such_tool"),
        call("2", "sleep_then_echo", '{"seconds": "soon"}'),
        call("3", "fail_with_tool_error", '{"reason": "no tables left"}'),
        call("4", "crash"),
        call("5", "sleep_then_echo", "{not json"),
        call("6", "give_set"),
        call("7", "structured"),
    ]
    with caplog.at_level(logging.WARNING, logger="trioagents.voice.tools"):
        result = await run(calls, recorder)
    kinds = [o.kind for o in result.outcomes]
    assert kinds == [
        "unknown_tool",
        "invalid_arguments",
        "tool_error",
        "internal_error",
        "invalid_arguments",
        "internal_error",
        "ok",
    ]
    outputs = [o.output for o in result.outcomes]
    assert [o.is_error for o in outputs] == [True] * 6 + [False]
    assert outputs[0].output.startswith("Unknown tool 'no_such_tool'. Available tools: ")
    assert "seconds: expected number, got string" in outputs[1].output
    assert outputs[2].output == "no tables left"
    assert outputs[3].output == "An internal error occurred while running the tool."
    assert "not valid JSON" in outputs[4].output
    assert outputs[6].output == '{"total": 3, "items": ["a", "b"]}'
    crashed = result.outcomes[3]
    assert isinstance(crashed.exception, RuntimeError)
    assert all("hunter2" not in o.output for o in outputs)
    assert all("hunter2" not in r.getMessage() for r in caplog.records)
    [record] = [r for r in caplog.records if getattr(r, "tool", None) == "crash"]
    assert record.call_id == "4"  # type: ignore[attr-defined]
    assert result.reply_required
    assert len(recorder.commits) == 1


async def test_stop_response_records_output_without_reply(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    result = await run([call("s", "stop", '{"note": "booked"}')], recorder)
    [outcome] = result.outcomes
    assert outcome.kind == "stop_response"
    assert outcome.output.output == "booked"
    assert not outcome.output.is_error
    assert not result.reply_required


async def test_empty_step_commits_an_empty_result() -> None:
    recorder = Recorder()
    result = await run([], recorder)
    assert result.outcomes == ()
    assert recorder.commits == [result]
    assert not result.reply_required


async def test_context_factory_failure_is_an_internal_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    commits: list[ToolStepResult] = []

    def broken_context(call: FunctionCall) -> RunContext[Any]:
        raise LookupError("no session")

    result = await run_tool_calls([echo("x", 1, "t")], TOOLS, broken_context, commits.append)
    assert [o.kind for o in result.outcomes] == ["internal_error"]
    assert commits == [result]


async def test_interruption_applies_each_policy_and_commits_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    calls = [
        echo("done-early", 1, "early"),
        call("completes", "slow_side_effect", '{"seconds": 4}'),
        echo("cancelled", 10, "never", name="cancellable_sleep"),
        call("too-slow", "slow_side_effect", '{"seconds": 60}'),
        call("bad", "nope"),
    ]
    start = trio.current_time()
    with trio.move_on_after(2) as turn:
        await run(calls, recorder)
    assert turn.cancelled_caught
    # the completing tools were waited for, up to their 5 s deadline after the cancel
    assert trio.current_time() - start == pytest.approx(2 + 5)
    assert recorder.active == 0
    [result] = recorder.commits
    assert result.interrupted
    assert not result.reply_required
    assert [o.kind for o in result.outcomes] == [
        "ok",
        "ok",
        "cancelled",
        "deadline_exceeded",
        "unknown_tool",
    ]
    texts = [o.output.output for o in result.outcomes]
    assert texts[:2] == ["early", "done"]
    assert texts[2] == "The tool was cancelled by an interruption before it finished."
    assert "did not finish within 5s" in texts[3]
    ends = {cid: t - start for kind, cid, t in recorder.events if kind == "end"}
    assert ends["cancelled"] == pytest.approx(2)
    assert ends["completes"] == pytest.approx(4)
    assert ends["too-slow"] == pytest.approx(7)


async def test_cancellation_before_the_step_still_commits_every_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    with trio.CancelScope() as turn:
        turn.cancel()
        await run([echo("a", 1, "x", name="cancellable_sleep"), echo("b", 1, "y")], recorder)
    [result] = recorder.commits
    assert [o.kind for o in result.outcomes] == ["cancelled", "ok"]
    assert recorder.active == 0


async def test_a_single_handoff_is_reported_and_ends_the_agents_reply(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    result = await run([call("h", "to_billing")], recorder)
    assert result.handoff is not None
    assert isinstance(result.handoff.agent, BillingAgent)
    assert result.handoff.message is None
    assert result.handoff.agent_name == "BillingAgent"
    assert result.outcomes[0].output.output == "Transferred to BillingAgent."
    assert not result.reply_required


async def test_handoff_with_message_alongside_a_slower_parallel_tool(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    start = trio.current_time()
    result = await run([call("h", "to_support_with_message"), echo("e", 3, "later")], recorder)
    # the handoff is decided only after the whole step: the slower tool's output is kept
    assert trio.current_time() - start == pytest.approx(3)
    assert result.handoff is not None
    assert result.handoff.message == "Transferring you to support."
    assert [o.kind for o in result.outcomes] == ["handoff", "ok"]
    assert [o.output.output for o in result.outcomes] == ["Transferring you to support.", "later"]
    assert result.outcomes[0].reply_required
    assert not result.reply_required  # the old agent says nothing more


async def test_two_handoffs_in_one_step_are_refused(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    result = await run(
        [call("1", "to_billing"), echo("2", 1, "x"), call("3", "to_support_with_message")],
        recorder,
    )
    assert result.handoff is None
    assert [o.kind for o in result.outcomes] == ["handoff_conflict", "ok", "handoff_conflict"]
    message = result.outcomes[0].output.output
    assert "to_billing, to_support_with_message" in message
    assert result.outcomes[0].output.is_error
    assert result.reply_required  # the LLM is told, and may pick one


async def test_two_agents_from_one_tool_are_refused(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    result = await run([call("1", "two_agents")], recorder)
    assert result.handoff is None
    assert result.outcomes[0].kind == "handoff_conflict"


async def test_interrupted_handoff_does_not_happen(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    with trio.move_on_after(0.5):
        await run([call("h", "to_billing"), echo("e", 3, "x", name="cancellable_sleep")], recorder)
    [result] = recorder.commits
    assert result.handoff is None
    assert result.outcomes[0].kind == "handoff_interrupted"
    assert result.outcomes[0].output.output == (
        "The agent handoff was interrupted and did not happen."
    )


async def test_a_tool_whose_signature_cannot_be_analysed_gets_an_internal_error() -> None:
    @function_tool
    def takes_bytes(data: bytes) -> str:
        """Unsupported parameter type."""
        return "never"

    commits: list[ToolStepResult] = []
    recorder = Recorder()
    tools = ToolSet([takes_bytes])
    result = await run_tool_calls(
        [call("b", "takes_bytes", '{"data": "x"}')], tools, recorder.context, commits.append
    )
    assert [o.kind for o in result.outcomes] == ["internal_error"]
    assert isinstance(result.outcomes[0].exception, ConfigurationError)
    assert commits == [result]
