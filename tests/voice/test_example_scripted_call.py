"""examples/scripted_call runs, barges in, and records only what was heard."""

from __future__ import annotations

import trio
import trio.testing

from examples.scripted_call.main import HOURS, run_call


async def test_scripted_call(autojump_clock: trio.testing.MockClock) -> None:
    lines: list[str] = []
    session = await run_call(lines.append)
    messages = session.history.messages()
    assert [m.role for m in messages] == ["user", "assistant"] * 3
    cut = messages[1]
    assert cut.interrupted
    assert HOURS.startswith(cut.content)
    assert len(cut.content) < len(HOURS) / 2
    assert messages[3].content == "On Sundays we are closed."
    assert any("[interrupted]" in line for line in lines)
    assert lines[-1] == "barge-in: device queue cleared 1 time(s)"
    assert session.close_reason == "user_initiated"
