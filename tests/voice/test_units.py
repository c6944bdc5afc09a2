"""Unit tests: transcript synchronizer, revocable sink, speech handle."""

from __future__ import annotations

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import AudioFrame
from trioagents.testing import FakeAudioOutput
from trioagents.voice import SpeechHandle, TranscriptSynchronizer, UtteranceSink


def test_sync_heard_text_is_whole_words() -> None:
    sync = TranscriptSynchronizer()
    sync.begin_sentence("Hello there friend.")  # 19 chars over 1.9 s
    sync.push_audio(1.9)
    sync.end_sentence()
    assert sync.heard_text(0.0) == ""
    assert sync.heard_text(0.4) == ""  # "Hell" is not a word heard
    assert sync.heard_text(0.5) == "Hello"
    assert sync.heard_text(1.1) == "Hello there"
    assert sync.heard_text(5.0) == "Hello there friend."


def test_sync_estimates_unfinished_sentence() -> None:
    sync = TranscriptSynchronizer()
    sync.begin_sentence("abcd efgh.")  # 10 chars, 1 s
    sync.push_audio(1.0)
    sync.begin_sentence("ijkl mnop qrst.")
    sync.push_audio(0.2)
    # rate from the finished sentence: 10 chars/s; 0.5 s into the second → 5 chars
    assert sync.heard_text(1.5) == "abcd efgh. ijkl"
    sync.expect_duration(3.0)  # synthesis finished: 15 chars over 3 s
    assert sync.heard_text(1.5) == "abcd efgh."


@given(st.text(alphabet="ab ", min_size=1, max_size=40), st.floats(0, 3))
def test_sync_prefix_property(text: str, position: float) -> None:
    sync = TranscriptSynchronizer()
    sync.begin_sentence(text)
    sync.push_audio(2.0)
    sync.end_sentence()
    heard = sync.heard_text(position)
    assert text.strip().startswith(heard)
    assert heard == "" or len(heard) == len(text.strip()) or text.strip()[len(heard)] == " "


def frame() -> AudioFrame:
    return AudioFrame(np.ones((480, 1), np.int16), 24000)


async def test_revoked_sink_drops_frames(autojump_clock: trio.testing.MockClock) -> None:
    out = FakeAudioOutput()
    sink = UtteranceSink(out)
    assert await sink.write(frame())
    sink.revoke()
    assert out.clears  # audio had started: the device queue was cleared
    assert not await sink.write(frame())
    assert len(out.accepted) == 1
    assert sink.frames_dropped == 1


async def test_revoke_while_waiting_for_capacity(autojump_clock: trio.testing.MockClock) -> None:
    out = FakeAudioOutput(queue_duration=0.0)
    sink = UtteranceSink(out)
    await sink.write(frame())
    results: list[bool] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _append(results, sink))
        await trio.sleep(0.001)
        sink.revoke()  # the writer is blocked in wait_for_capacity: nothing more goes out
    assert results == [False]
    assert len(out.accepted) == 1


async def _append(results: list[bool], sink: UtteranceSink) -> None:
    results.append(await sink.write(frame()))


async def test_speech_handle_interrupt_callbacks(autojump_clock: trio.testing.MockClock) -> None:
    handle = SpeechHandle(source="say", allow_interruptions=True)
    calls: list[str] = []
    handle.on_interrupt(lambda: calls.append("revoke"))
    handle.on_interrupt(lambda: calls.append("cancel"))
    handle.interrupt()
    handle.interrupt()  # idempotent
    handle.on_interrupt(lambda: calls.append("late"))  # runs at once
    assert calls == ["revoke", "cancel", "late"]
    handle.mark_done()
    with trio.fail_after(1):
        await handle
    assert handle.done_at == pytest.approx(trio.current_time())
