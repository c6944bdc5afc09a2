"""Barge-in with the library's own VADs (energy here; Silero shares the gate and the
stream): the VAD's verdict stops the agent, and on the inline path no frame of the
interrupted reply reaches the sink after the frame that made the condition true.

EnergyVAD with a threshold below the testing timeline's marker samples hears the
scripted user exactly where the timeline says (any non-zero frame is loud).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import AudioFrame, VADEvent, VADStream, open_ticker
from trioagents.providers import EnergyVAD, VADOptions
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeStreamingTTS,
    FakeSTT,
    FakeTTS,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import Agent, AgentSession, InlineVADStream

REPLY = " ".join(["This is a long answer that keeps going for quite a while."] * 8)
MIN_INTERRUPTION = 0.5  # SessionOptions' default
OPTIONS = VADOptions(min_speech_duration=0.05, min_silence_duration=0.3)


def marker_vad() -> EnergyVAD:
    return EnergyVAD(threshold=1e-5, options=OPTIONS)


class AsyncOnly:
    """The same VAD seen through the plain VADStream protocol (no inline path)."""

    def __init__(self, inner: EnergyVAD) -> None:
        self._inner = inner
        self.label = "async-energy"

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[VADStream]:
        async with self._inner.stream() as stream:
            yield _Plain(stream)


class _Plain:
    def __init__(self, stream: VADStream) -> None:
        self._stream = stream

    async def push_frame(self, frame: AudioFrame) -> None:
        await self._stream.push_frame(frame)

    async def end_input(self) -> None:
        await self._stream.end_input()

    def __aiter__(self) -> AsyncIterator[VADEvent]:
        return self._stream.__aiter__()


class Order:
    """One counter for input deliveries and sink captures: which came first, even
    within one instant of virtual time."""

    def __init__(self) -> None:
        self._next = itertools.count()

    def __call__(self) -> int:
        return next(self._next)


class StampedInput(FakeAudioInput):
    """Records when each frame was delivered (time, order, segment marker), iterated
    (the async VAD path) or pushed (the inline path)."""

    def __init__(self, timeline: Timeline, order: Order) -> None:
        super().__init__(timeline)
        self.order = order
        self.delivered: list[tuple[float, int, int]] = []

    def _stamp(self, frame: AudioFrame) -> None:
        self.delivered.append((trio.current_time(), self.order(), int(frame.data[0, 0])))

    async def __anext__(self) -> AudioFrame:
        frame = await super().__anext__()
        self._stamp(frame)
        return frame

    async def push_frames(self, on_frame: Callable[[AudioFrame], bool]) -> bool:
        def stamped(frame: AudioFrame) -> bool:
            self._stamp(frame)
            return on_frame(frame)

        return await super().push_frames(stamped)

    def instant(self, marker: int, seconds: float) -> tuple[float, int]:
        """(time, order) of the delivery completing ``seconds`` of segment ``marker``."""
        frames = [(at, seq) for at, seq, m in self.delivered if m == marker]
        return frames[round(seconds / 0.01) - 1]


class StampedOutput(FakeAudioOutput):
    def __init__(self, order: Order) -> None:
        super().__init__()
        self.order = order
        self.captured: list[int] = []

    def capture_frame(self, frame: AudioFrame) -> None:
        super().capture_frame(frame)
        self.captured.append(self.order())


async def barge_in_run(
    vad: object, barge_in: float, *, ticker: bool = False, streaming: bool = False
) -> tuple[StampedOutput, float, int]:
    """One barge-in; with ``ticker`` the input pushes its frames from a process-wide
    ticker's task (as in a worker), else it paces itself. ``streaming``: the reply's
    words stream into one TTS input stream (``tts_stream_node``), else sentences."""
    async with contextlib.AsyncExitStack() as stack:
        if ticker:
            await stack.enter_async_context(open_ticker())
        return await _barge_in_run(vad, barge_in, streaming)


async def _barge_in_run(
    vad: object, barge_in: float, streaming: bool = False
) -> tuple[StampedOutput, float, int]:
    timeline = Timeline(
        [speech(0.3, 0.8, "tell me everything"), speech(barge_in, barge_in + 1.0, "stop")],
        tail=0.5,
    )
    order = Order()
    output = StampedOutput(order)
    audio_input = StampedInput(timeline, order)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0),
        llm=FakeLLM(default=LLMScript(REPLY, token_delay=0.03, hang=True)),
        tts=FakeStreamingTTS(frame_interval=0.02) if streaming else FakeTTS(frame_interval=0.02),
        vad=vad,  # type: ignore[arg-type]
    )
    async with session.start(Agent(instructions="t"), audio_input=audio_input, audio_output=output):
        await trio.sleep(barge_in + MIN_INTERRUPTION + 0.5)
    return output, *audio_input.instant(2, MIN_INTERRUPTION)


def test_the_gated_stream_is_an_inline_stream() -> None:
    async def check() -> None:
        async with marker_vad().stream() as stream:
            assert isinstance(stream, InlineVADStream)

    trio.run(check)


@pytest.mark.parametrize("ticker", [False, True])
@pytest.mark.parametrize("path", ["inline", "async"])
async def test_the_energy_vad_stops_the_agent(
    autojump_clock: trio.testing.MockClock, path: str, ticker: bool
) -> None:
    """Its speech events alone (no INFERENCE_DONE asked for) carry barge-in: before,
    the gate emitted no inference events unless ``emit_inference``, so a Silero or
    energy VAD never interrupted the agent."""
    vad = marker_vad() if path == "inline" else AsyncOnly(marker_vad())
    output, instant, _ = await barge_in_run(vad, barge_in=2.0, ticker=ticker)
    assert output.clears, "the reply was not interrupted"
    assert output.clears[0] == pytest.approx(instant, abs=0.011)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(barge_in=st.floats(1.5, 3.5), ticker=st.booleans(), streaming=st.booleans())
async def test_inline_no_frame_after_the_interruption_instant(
    autojump_clock: trio.testing.MockClock, barge_in: float, ticker: bool, streaming: bool
) -> None:
    """I1 on the inline path, whatever the instant and Trio's scheduling order, with
    the frames pushed from a ticker's task or paced by the input itself, and the
    reply synthesized per sentence or from streamed words (frames move in bursts)."""
    output, instant, seq = await barge_in_run(
        marker_vad(), barge_in, ticker=ticker, streaming=streaming
    )
    assert output.clears, "the reply was not interrupted"
    assert output.clears[0] <= instant + 1e-9, (output.clears[0], instant)
    ghosts = [captured for captured in output.captured if captured > seq]
    assert ghosts == [], "frames captured after the frame that decided the interruption"


async def test_input_that_ends_mid_speech_ends_the_users_speech(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """On the inline path the END_OF_SPEECH that ``end_input`` produces is handled too
    (it was queued on a channel nobody read): the user is not left 'speaking'."""

    async def loud_then_gone() -> AsyncIterator[AudioFrame]:
        for _ in range(100):  # 1 s of speech, then the participant leaves
            await trio.sleep(0.01)
            yield AudioFrame.from_mono(np.full(160, 3000, dtype=np.int16), 16000)

    session: AgentSession[None] = AgentSession(vad=marker_vad(), llm=FakeLLM())
    states: list[str] = []
    async with session.start(Agent(instructions="t"), audio_input=loud_then_gone()):
        for _ in range(30):
            await trio.sleep(0.1)
            states.append(session.user_state)
    assert "speaking" in states
    assert states[-1] == "listening"


class JitteredEvents:
    """An async VAD whose events reach the session after random extra checkpoints
    (another task's work in between): Trio's scheduling order varies per event."""

    def __init__(self, inner: EnergyVAD, delays: list[int]) -> None:
        self._inner = inner
        self._delays = itertools.cycle(delays or [0])
        self.label = "jittered-energy"

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[VADStream]:
        async with self._inner.stream() as stream:
            yield _Jittered(stream, self._delays)


class _Jittered(_Plain):
    def __init__(self, stream: VADStream, delays: itertools.cycle[int]) -> None:
        super().__init__(stream)
        self._events = stream.__aiter__()
        self._delays = delays

    def __aiter__(self) -> AsyncIterator[VADEvent]:
        return self

    async def __anext__(self) -> VADEvent:
        event = await self._events.__anext__()
        for _ in range(next(self._delays)):
            await trio.lowlevel.checkpoint()
        return event


class RefusingCheck(StampedOutput):
    """Counts frames captured while the session's current speech is interrupted."""

    def __init__(self, order: Order) -> None:
        super().__init__(order)
        self.session: AgentSession[None] | None = None
        self.after_decision: list[float] = []

    def capture_frame(self, frame: AudioFrame) -> None:
        speech_handle = self.session.current_speech if self.session is not None else None
        if speech_handle is not None and speech_handle.interrupted:
            self.after_decision.append(trio.current_time())
        super().capture_frame(frame)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(barge_in=st.floats(1.5, 3.5), delays=st.lists(st.integers(0, 6), max_size=8))
async def test_async_vad_no_frame_after_the_interruption_is_decided(
    autojump_clock: trio.testing.MockClock, barge_in: float, delays: list[int]
) -> None:
    """I1 for a VAD that is not inline: whichever task decides the interruption and
    whenever its event is read, the sink takes no frame of the speech from then on."""
    timeline = Timeline(
        [speech(0.3, 0.8, "tell me everything"), speech(barge_in, barge_in + 1.0, "stop")],
        tail=0.5,
    )
    output = RefusingCheck(Order())
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0),
        llm=FakeLLM(default=LLMScript(REPLY, token_delay=0.03, hang=True)),
        tts=FakeTTS(frame_interval=0.02),
        vad=JitteredEvents(marker_vad(), delays),  # type: ignore[arg-type]
    )
    output.session = session
    async with session.start(
        Agent(instructions="t"), audio_input=FakeAudioInput(timeline), audio_output=output
    ):
        await trio.sleep(barge_in + MIN_INTERRUPTION + 0.5)
    assert output.clears, "the reply was not interrupted"
    assert output.after_decision == []
