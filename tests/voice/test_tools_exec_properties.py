"""Property: for random latencies, policies and interruption instants, a tool step
commits exactly one output per call, in call order, once, and leaves no task behind.

One Hypothesis example drives one Trio run under a ``MockClock`` with autojump, so
each example costs virtual seconds, not real ones. Latencies are whole seconds and
interruption instants half seconds, so no tool finishes at the very instant it is
cancelled (an ordering the scheduler may decide either way).
"""

from __future__ import annotations

from dataclasses import dataclass

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import FunctionCall, ToolError
from trioagents.voice import RunContext, ToolSet, ToolStepResult, function_tool, run_tool_calls


@dataclass
class Probe:
    active: int = 0
    finished: int = 0


async def _body(ctx: RunContext[Probe], seconds: int, fail: bool) -> str:
    ctx.userdata.active += 1
    try:
        await trio.sleep(seconds)
    finally:
        ctx.userdata.active -= 1
    if fail:
        raise ToolError("failed on purpose")
    ctx.userdata.finished += 1
    return f"{ctx.call_id} ok"


@function_tool(name="complete_1", interrupt_deadline=1.0)
async def complete_1(ctx: RunContext[Probe], seconds: int, fail: bool) -> str:
    return await _body(ctx, seconds, fail)


@function_tool(name="complete_3", interrupt_deadline=3.0)
async def complete_3(ctx: RunContext[Probe], seconds: int, fail: bool) -> str:
    return await _body(ctx, seconds, fail)


@function_tool(name="cancel", on_interrupt="cancel")
async def cancel(ctx: RunContext[Probe], seconds: int, fail: bool) -> str:
    return await _body(ctx, seconds, fail)


TOOLS = ToolSet([complete_1, complete_3, cancel])
DEADLINES = {"complete_1": 1.0, "complete_3": 3.0}

call_specs = st.lists(
    st.tuples(st.sampled_from(sorted(TOOLS)), st.integers(0, 8), st.booleans()),
    max_size=6,
)
cancel_instants = st.none() | st.integers(0, 9).map(lambda n: n + 0.5)


def _expected_kind(name: str, seconds: int, fail: bool, cancel_at: float | None) -> str:
    if cancel_at is None or seconds < cancel_at:
        finished = True
    elif name == "cancel":
        finished = False
    else:
        finished = seconds < cancel_at + DEADLINES[name]
    if not finished:
        return "cancelled" if name == "cancel" else "deadline_exceeded"
    return "tool_error" if fail else "ok"


def _expected_end(specs: list[tuple[str, int, bool]], cancel_at: float) -> float:
    ends = [cancel_at]
    for name, seconds, _ in specs:
        limit = cancel_at if name == "cancel" else cancel_at + DEADLINES[name]
        ends.append(min(seconds, limit))
    return max(ends)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call_specs, cancel_instants)
def test_one_output_per_call_in_order_and_no_orphans(
    specs: list[tuple[str, int, bool]], cancel_at: float | None
) -> None:
    calls = [
        FunctionCall(f"call_{i}", name, f'{{"seconds": {s}, "fail": {str(f).lower()}}}')
        for i, (name, s, f) in enumerate(specs)
    ]
    probe = Probe()
    commits: list[ToolStepResult] = []

    def make_context(function_call: FunctionCall) -> RunContext[Probe]:
        return RunContext(None, None, function_call, probe)

    async def main() -> tuple[bool, float]:
        deadline = trio.current_time() + (cancel_at if cancel_at is not None else 1e9)
        with trio.CancelScope(deadline=deadline) as turn:
            await run_tool_calls(calls, TOOLS, make_context, commits.append)
        return turn.cancelled_caught, trio.current_time()

    interrupted, end = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

    assert probe.active == 0, "a tool outlived run_tool_calls"
    assert len(commits) == 1
    [result] = commits
    assert [o.call.call_id for o in result.outcomes] == [c.call_id for c in calls]
    assert [o.output.call_id for o in result.outcomes] == [c.call_id for c in calls]
    expected = [_expected_kind(n, s, f, cancel_at) for n, s, f in specs]
    assert [o.kind for o in result.outcomes] == expected
    longest = max((s for _, s, _ in specs), default=0)
    assert interrupted == (cancel_at is not None and cancel_at < longest)
    assert result.interrupted == interrupted
    if cancel_at is None or not interrupted:
        assert end == longest
    else:
        assert end == _expected_end(specs, cancel_at)
