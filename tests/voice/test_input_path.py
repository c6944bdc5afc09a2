"""The listener's per-frame cost: STT audio in chunks, frames pushed without a task
switch, the end of speech never held back (docs/performance.md, *Sessions per
process*)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from trioagents.core import AudioFrame, SpeechEvent, open_ticker
from trioagents.testing import FakeAudioInput, FakeLLM, FakeSTT, FakeVAD, Timeline, speech
from trioagents.voice import Agent, AgentSession, SessionOptions

TIMELINE = Timeline([speech(0.5, 1.0, "hello there")], tail=1.0)


class RecordingSTT:
    """FakeSTT's transcripts; records every pushed frame (time, duration, marker)."""

    def __init__(self) -> None:
        self.inner = FakeSTT(TIMELINE, final_delay=0.0)
        self.pushed: list[tuple[float, float, int]] = []
        self.label = "recording-stt"

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[_Stream]:
        async with self.inner.stream(language=language) as stream:
            yield _Stream(self, stream)


class _Stream:
    def __init__(self, owner: RecordingSTT, inner: object) -> None:
        self._owner, self._inner = owner, inner

    async def push_frame(self, frame: AudioFrame) -> None:
        marker = int(frame.data[-1, 0])
        self._owner.pushed.append((trio.current_time(), frame.duration, marker))
        await self._inner.push_frame(frame)  # type: ignore[attr-defined]

    async def end_input(self) -> None:
        await self._inner.end_input()  # type: ignore[attr-defined]

    def __aiter__(self) -> AsyncIterator[SpeechEvent]:
        return self._inner.__aiter__()  # type: ignore[attr-defined,no-any-return]


async def listen(
    options: SessionOptions | None = None, *, ticker: bool = False, timeline: Timeline = TIMELINE
) -> RecordingSTT:
    stt = RecordingSTT()
    session: AgentSession[None] = AgentSession(
        stt=stt,
        vad=FakeVAD(min_silence_duration=0.25),
        llm=FakeLLM(),
        options=options or SessionOptions(),
    )
    async with contextlib.AsyncExitStack() as stack:
        if ticker:
            await stack.enter_async_context(open_ticker())
        audio = FakeAudioInput(timeline)
        async with session.start(Agent(instructions="t"), audio_input=audio):
            await audio.finished.wait()
    return stt


async def test_the_stt_gets_40_ms_chunks(autojump_clock: trio.testing.MockClock) -> None:
    stt = await listen(SessionOptions())
    durations = [round(d, 3) for _, d, _ in stt.pushed]
    assert sum(durations) == pytest.approx(TIMELINE.duration, abs=0.001)
    assert durations.count(0.04) >= len(durations) - 4  # short ones: flushed early


async def test_every_frame_with_chunks_off(autojump_clock: trio.testing.MockClock) -> None:
    stt = await listen(SessionOptions(stt_chunk_duration=0.0))
    assert {round(d, 3) for _, d, _ in stt.pushed} == {0.01}


async def test_the_chunk_goes_out_when_the_vad_ends_speech(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The frame that completes the VAD's silence window is not held for the chunk to
    fill: at the end of speech the STT has everything heard."""
    stt = await listen(SessionOptions(stt_chunk_duration=0.5))
    end_of_speech = 1.0 + 0.25  # the last speech plus FakeVAD's silence window
    sent = [at for at, _, _ in stt.pushed]
    assert any(at == pytest.approx(end_of_speech, abs=1e-6) for at in sent), sent
    start_of_speech = 0.5 + 0.01
    assert any(at == pytest.approx(start_of_speech, abs=1e-6) for at in sent), sent


class StepCounter(trio.abc.Instrument):
    def __init__(self) -> None:
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1


@pytest.mark.parametrize("ticker", [False, True])
async def test_listening_sessions_cost_under_a_task_switch_per_frame(
    autojump_clock: trio.testing.MockClock, ticker: bool
) -> None:
    """Before: a sleep in the input's task and a channel hop to the STT task per
    10 ms frame -- three task steps a frame. Now the STT task wakes once per 40 ms
    chunk (two steps), and with a ticker the frames of all sessions are pushed from
    one ticker step per 10 ms (no task switch per session); without one each input
    still paces itself (one step a frame)."""
    sessions = 10

    async def steps(seconds: float) -> int:
        counter = StepCounter()
        timeline = Timeline([speech(0.5, 1.0, "hello there")], tail=seconds)
        trio.lowlevel.add_instrument(counter)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if ticker:
                    await stack.enter_async_context(open_ticker())
                async with trio.open_nursery() as nursery:
                    for _ in range(sessions):
                        nursery.start_soon(functools.partial(listen, timeline=timeline))
        finally:
            trio.lowlevel.remove_instrument(counter)
        return counter.steps

    frames = sessions * 1000
    per_frame = (await steps(20.0) - await steps(10.0)) / frames  # set-up cancels out
    assert per_frame < (0.7 if ticker else 1.6), per_frame
