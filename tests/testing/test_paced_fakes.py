"""The fakes under a process-wide ticker: same frames, same instants, fewer task switches."""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import AudioFrame, SpeechEventType, concat_frames, open_ticker
from trioagents.testing import FakeAudioInput, FakeSTT, Timeline, noise, speech

TIMELINE = Timeline([speech(0.1, 0.35, "one two"), noise(0.5, 0.6)], tail=0.2)


async def _iterated(ticker: bool) -> list[tuple[float, int]]:
    async with contextlib.AsyncExitStack() as stack:
        if ticker:
            await stack.enter_async_context(open_ticker())
        audio = FakeAudioInput(TIMELINE)
        start = trio.current_time()
        return [(trio.current_time() - start, int(f.data[0, 0])) async for f in audio]


async def _pushed(
    ticker: bool, stop_after: int | None = None
) -> tuple[list[tuple[float, int]], bool]:
    got: list[tuple[float, int]] = []
    async with contextlib.AsyncExitStack() as stack:
        if ticker:
            await stack.enter_async_context(open_ticker())
        audio = FakeAudioInput(TIMELINE)
        start = trio.current_time()

        def on_frame(frame: AudioFrame) -> bool:
            got.append((trio.current_time() - start, int(frame.data[0, 0])))
            return stop_after is None or len(got) < stop_after

        ended = await audio.push_frames(on_frame)
        if not ended:  # the rest by iteration: one position, shared
            got.extend([(trio.current_time() - start, int(f.data[0, 0])) async for f in audio])
        assert audio.finished.is_set()
    return got, ended


@pytest.mark.parametrize("ticker", [False, True])
async def test_pushed_frames_are_the_iterated_frames(
    autojump_clock: trio.testing.MockClock, ticker: bool
) -> None:
    iterated = await _iterated(ticker=False)
    pushed, ended = await _pushed(ticker)
    assert ended
    assert len(pushed) == len(iterated) == 80
    assert [m for _, m in pushed] == [m for _, m in iterated]
    assert [t for t, _ in pushed] == pytest.approx([t for t, _ in iterated])
    assert iterated[0][0] == pytest.approx(0.01)  # delivered once captured


@pytest.mark.parametrize("ticker", [False, True])
async def test_push_stops_when_told_and_iteration_goes_on(
    autojump_clock: trio.testing.MockClock, ticker: bool
) -> None:
    pushed, ended = await _pushed(ticker, stop_after=30)
    assert not ended
    assert [m for _, m in pushed] == [m for _, m in await _iterated(ticker=False)]


async def test_with_a_ticker_time_zero_is_aligned(autojump_clock: trio.testing.MockClock) -> None:
    await trio.sleep(0.1234)
    async with open_ticker():
        audio = FakeAudioInput(TIMELINE)
        await audio.__anext__()
        assert audio.started_at == pytest.approx(0.13)
        assert trio.current_time() == pytest.approx(0.14)


async def test_a_subclass_overriding_anext_is_iterated(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[int] = []

    class Counting(FakeAudioInput):
        async def __anext__(self) -> AudioFrame:
            frame = await super().__anext__()
            seen.append(int(frame.data[0, 0]))
            return frame

    async with open_ticker():
        pushed: list[AudioFrame] = []

        def on_frame(frame: AudioFrame) -> bool:
            pushed.append(frame)
            return True

        await Counting(TIMELINE).push_frames(on_frame)
    assert len(seen) == len(pushed) == 80


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(1, 79), max_size=12))
def test_the_stt_hears_joined_frames_as_it_hears_single_ones(cuts: list[int]) -> None:
    """Chunks that span segment boundaries (the session joins input frames) give the
    same transcripts as frame by frame."""

    async def transcribe(chunk_edges: list[int]) -> list[tuple[SpeechEventType, str]]:
        frames = [TIMELINE.frame(i) for i in range(80)]
        edges = sorted({0, *chunk_edges, 80})
        stt = FakeSTT(TIMELINE, final_delay=0.0, interim_interval=0.1)
        async with stt.stream() as stream:
            for start, stop in itertools.pairwise(edges):
                await stream.push_frame(concat_frames(frames[start:stop]))
            await stream.end_input()
            return [(event.type, event.text) async for event in stream]

    single = trio.run(transcribe, list(range(80)))
    joined = trio.run(transcribe, cuts)
    finals = [e for e in single if e[0] is SpeechEventType.FINAL_TRANSCRIPT]
    assert finals == [(SpeechEventType.FINAL_TRANSCRIPT, "one two")]
    assert [e for e in joined if e[0] is not SpeechEventType.INTERIM_TRANSCRIPT] == [
        e for e in single if e[0] is not SpeechEventType.INTERIM_TRANSCRIPT
    ]


def test_a_frame_of_one_marker_is_heard_whole() -> None:
    async def check() -> None:
        stt = FakeSTT(TIMELINE, final_delay=0.0)
        async with stt.stream() as stream:
            await stream.push_frame(AudioFrame(np.full((4000, 1), 1, np.int16), 16000))
            await stream.end_input()
            events = [(event.type, event.text) async for event in stream]
        assert events[0] == (SpeechEventType.START_OF_SPEECH, "")
        assert (SpeechEventType.FINAL_TRANSCRIPT, "one two") in events

    trio.run(check)
