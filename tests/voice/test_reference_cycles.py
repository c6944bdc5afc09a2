"""A finished turn is freed by reference counting alone: it leaves no reference
cycle for the cyclic garbage collector (which, paced in a worker, runs rarely;
``trioagents.worker.paced_gc``). Checked with the collector off, so that what is
not freed by reference counting stays visible."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import trio

from trioagents.testing import LLMScript, speech
from trioagents.voice import _playout, _reply, _transcript_sync

from .harness import open_call

TURN_TYPES = (_reply._Turn, _playout.Utterance, _transcript_sync.TranscriptSynchronizer)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def alive(types: tuple[type, ...]) -> list[object]:
    return [o for o in gc.get_objects() if isinstance(o, types)]


@pytest.mark.usefixtures("collector_off")
async def test_finished_turns_leave_no_reference_cycle(autojump_clock: trio.abc.Clock) -> None:
    long = LLMScript("One two three four five six seven eight nine ten eleven twelve.")
    segments = [
        speech(0.5, 1.5, "first question"),
        speech(5.0, 6.0, "second question"),  # barges in on the first reply
        speech(14.0, 15.0, "third question"),
    ]
    async with open_call(segments, default=long) as call:
        await call.sleep_until(13.0)
        assert not alive(TURN_TYPES)  # two turns done, one cut: nothing of them left
        await call.sleep_until(16.5)
        assert alive(TURN_TYPES)  # the check sees a turn while it runs
        await call.sleep_until(25.0)
        assert not alive(TURN_TYPES)
    assert len([m for m in call.session.history.messages() if m.role == "assistant"]) == 3
