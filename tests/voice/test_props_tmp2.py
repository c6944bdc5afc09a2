"""Hypothesis properties over random spoken conversations (virtual time).

Each example scripts a random timeline (speech and noise at random instants), random
provider latencies, a random sink (pausable or not, reporting playout or not) and
explicit ``session.interrupt()`` calls at random instants, then checks:

* no frame is accepted by the sink for a speech already interrupted or closed;
* the chat context holds exactly the words the played audio contained;
* every LLM/TTS stream opened for a turn is closed by the time the turn is done;
* nothing outlives the session, and closing completes within a bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import AudioFrame, ChatContext, LLMEvent, ToolSpec
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    UserSpeech,
)
from trioagents.voice import Agent, AgentSession, SessionOptions, SpeechHandle

from .harness import heard_text_from_audio

REPLY = "Sure thing, let me check that for you. It will take one moment. Thanks for waiting."
GRACE = 0.5


@dataclass
class Watch:
    """What the instrumented agent and sink saw."""

    session: AgentSession[None] | None = None
    violations: list[str] = field(default_factory=list)
    streams: list[tuple[SpeechHandle, float]] = field(default_factory=list)


class WatchedOutput(FakeAudioOutput):
    def __init__(self, watch: Watch, **kwargs: bool) -> None:
        super().__init__(**kwargs)
        self.watch = watch

    def capture_frame(self, frame: AudioFrame) -> None:
        session = self.watch.session
        speech = session.current_speech if session is not None else None
        if speech is None or speech.interrupted or speech.done():
            self.watch.violations.append(f"frame accepted at {trio.current_time()}")
        if session is not None and session.close_reason is not None:
            self.watch.violations.append("frame accepted after close")
        super().capture_frame(frame)


class WatchedAgent(Agent):
    def __init__(self, watch: Watch) -> None:
        super().__init__(instructions="property test")
        self.watch = watch

    async def llm_node(
        self,
        chat_ctx: ChatContext,
        tools: Sequence[ToolSpec],
        events: trio.MemorySendChannel[LLMEvent],
    ) -> None:
        speech = self.session.current_speech
        try:
            await super().llm_node(chat_ctx, tools, events)
        finally:
            if speech is not None and not speech.interrupted:
                self.watch.streams.append((speech, trio.current_time()))

    async def tts_node(self, text: str, frames: trio.MemorySendChannel[AudioFrame]) -> None:
        speech = self.session.current_speech
        try:
            await super().tts_node(text, frames)
        finally:
            assert speech is not None, "TTS outside a turn"
            self.watch.streams.append((speech, trio.current_time()))


@st.composite
def timelines(draw: st.DrawFn) -> list[UserSpeech]:
    segments, t = [], draw(st.floats(0.2, 1.0))
    for i in range(draw(st.integers(1, 4))):
        length = draw(st.floats(0.1, 1.5))
        words = "" if draw(st.booleans()) and i else f"request number {i}"
        segments.append(UserSpeech(round(t, 2), round(t + length, 2), words))
        t += length + draw(st.floats(0.3, 4.0))
    return segments


def _tasks(task: trio.lowlevel.Task) -> set[trio.lowlevel.Task]:
    out = {task}
    for nursery in task.child_nurseries:
        for child in nursery.child_tasks:
            out |= _tasks(child)
    return out


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    segments=timelines(),
    ttft=st.floats(0.0, 1.0),
    token_delay=st.sampled_from([0.0, 0.01, 0.05]),
    ttfb=st.floats(0.0, 0.5),
    frame_interval=st.sampled_from([0.0, 0.01, 0.02]),
    can_pause=st.booleans(),
    reports_playout=st.booleans(),
    interrupts=st.lists(st.floats(0.0, 12.0), max_size=3),
    close_at=st.floats(1.0, 14.0),
)
async def test_random_conversations(
    autojump_clock: trio.testing.MockClock,
    segments: list[UserSpeech],
    ttft: float,
    token_delay: float,
    ttfb: float,
    frame_interval: float,
    can_pause: bool,
    reports_playout: bool,
    interrupts: list[float],
    close_at: float,
) -> None:
    watch = Watch()
    timeline = Timeline(segments, tail=20.0)
    llm = FakeLLM(default=LLMScript(REPLY, ttft=ttft, token_delay=token_delay))
    tts = FakeTTS(ttfb=ttfb, frame_interval=frame_interval)
    stt, vad = FakeSTT(timeline), FakeVAD()
    output = WatchedOutput(watch, can_pause=can_pause, reports_playout=reports_playout)
    session: AgentSession[None] = AgentSession(
        stt=stt, llm=llm, tts=tts, vad=vad, options=SessionOptions(close_grace=GRACE)
    )
    watch.session = session
    before = _tasks(trio.lowlevel.current_root_task())
    start = trio.current_time()
    async with session.start(
        WatchedAgent(watch), audio_input=FakeAudioInput(timeline), audio_output=output
    ):
        for instant in sorted(interrupts):
            if instant < close_at:
                await trio.sleep_until(start + instant)
                session.interrupt()
        await trio.sleep_until(start + close_at)
        closing = trio.current_time()
    # close bound: one grace for the sink, one for the LLM stream, one for on_exit
    assert trio.current_time() - closing <= 3 * GRACE + 1e-6
    assert _tasks(trio.lowlevel.current_root_task()) == before, "a task outlived the session"
    assert watch.violations == []
    for tracker in (llm.streams, tts.streams, stt.streams, vad.streams):
        assert tracker.all_closed()
    for speech, closed_at in watch.streams:
        assert speech.done_at is not None
        assert closed_at <= speech.done_at
    replies = [m.content for m in session.history.messages() if m.role == "assistant"]
    if reports_playout:
        heard = [heard_text_from_audio(REPLY, seg.markers) for seg in output.segments]
        assert replies == [h for h in heard if h]
    else:  # a sink that never reports playout: the heard text is an estimate
        assert all(REPLY.startswith(r) for r in replies)
