"""Endpointing delays: detector defaults, timeout/failure fallback, learned pauses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import trio
import trio.testing

from trioagents.core import AudioFrame, ChatContext, ConfigurationError, ProviderError
from trioagents.testing import speech
from trioagents.voice import SessionOptions, TurnMetricsCollected
from trioagents.voice._endpointing import Endpointing, PauseLearner, TurnAudio

from .harness import open_call


class ScriptedDetector:
    """Unlikely done after a dangling word; optional latency or failure."""

    unlikely_threshold = 0.5

    def __init__(self, *, latency: float = 0.0, fail: bool = False) -> None:
        self.latency = latency
        self.fail = fail
        self.calls: list[tuple[str, float]] = []  # transcript, audio seconds

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float:
        self.calls.append((transcript, sum(f.duration for f in audio)))
        await trio.sleep(self.latency)
        if self.fail:
            raise ProviderError("detector down", provider="test", retryable=True)
        return 0.1 if transcript.split()[-1] in {"for", "to", "and"} else 0.9


def eou_delays(call) -> list[float]:  # type: ignore[no-untyped-def]
    return [m.end_of_utterance_delay for m in call.of_type(TurnMetricsCollected)]


# ------------------------------------------------------------------ options


def test_delays_default_to_livekits_with_and_without_a_detector() -> None:
    options = SessionOptions()
    assert options.endpointing_delays(detector=False) == (0.5, 3.0)
    assert options.endpointing_delays(detector=True) == (0.3, 2.5)
    explicit = SessionOptions(min_endpointing_delay=0.4)
    assert explicit.endpointing_delays(detector=True) == (0.4, 2.5)
    assert SessionOptions(min_endpointing_delay=3.0).endpointing_delays(detector=True) == (
        3.0,
        3.0,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_endpointing_delay": 2.0, "max_endpointing_delay": 1.0}, "max_endpointing_delay"),
        ({"min_endpointing_delay": -1.0}, "min_endpointing_delay"),
        ({"endpointing_mode": "learned"}, "endpointing_mode"),
        ({"endpointing_alpha": 1.0}, "endpointing_alpha"),
        ({"turn_detector_timeout": -0.1}, "turn_detector_timeout"),
    ],
)
def test_endpointing_options_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SessionOptions(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the learner


def test_a_pause_inside_the_turn_raises_the_min_delay_by_the_ema() -> None:
    learner = PauseLearner(0.3, 2.5, 0.9)
    learner.user_stopped(1.0)
    learner.user_started(2.0, agent_spoke_at=None)  # a 1.0 s pause, no reply in between
    assert learner.min_delay == pytest.approx(0.9 * 0.3 + 0.1 * 1.0)
    assert learner.max_delay == 2.5


def test_speaking_again_right_after_the_reply_started_is_a_cut_turn() -> None:
    learner = PauseLearner(0.3, 2.5, 0.9)
    learner.user_stopped(1.0)
    learner.user_started(1.9, agent_spoke_at=1.7)  # 0.2 s into the reply: not finished
    assert learner.min_delay == pytest.approx(0.9 * 0.3 + 0.1 * 0.9)


def test_a_finished_turn_teaches_the_max_delay_the_reply_gap() -> None:
    learner = PauseLearner(0.3, 2.5, 0.9)
    learner.user_stopped(1.0)
    learner.user_started(6.0, agent_spoke_at=1.6)  # replied after 0.6 s, user spoke later
    assert learner.max_delay == pytest.approx(0.9 * 2.5 + 0.1 * 0.6)
    assert learner.min_delay == 0.3


def test_learned_delays_stay_in_the_configured_range() -> None:
    learner = PauseLearner(0.3, 2.5, 0.5)
    for start in range(1, 30):
        learner.user_stopped(float(start * 100))
        learner.user_started(start * 100 + 50.0, agent_spoke_at=None)  # 50 s pauses
    assert learner.min_delay == 2.5
    assert learner.max_delay == 2.5
    for start in range(30, 60):
        learner.user_stopped(float(start * 100))
        learner.user_started(start * 100 + 0.01, agent_spoke_at=None)
    assert learner.min_delay == 0.3


def test_fixed_mode_learns_nothing() -> None:
    policy = Endpointing(SessionOptions(), detector=True)
    policy.user_stopped(1.0)
    policy.user_started(3.0, agent_spoke_at=None)
    assert (policy.min_delay, policy.max_delay) == (0.3, 2.5)
    assert policy.delay(None, 0.5) == 0.5  # no verdict: VAD endpointing's delay


# ------------------------------------------------------------------ turn audio


def _frame(seconds: float) -> AudioFrame:
    return AudioFrame.from_mono(np.zeros(round(seconds * 16000), dtype=np.int16), 16000)


def test_turn_audio_keeps_a_pre_roll_then_the_last_8_seconds() -> None:
    audio = TurnAudio()
    for _ in range(100):
        audio.push(_frame(0.02))
    assert audio.duration == pytest.approx(0.5)
    audio.turn_started()
    for _ in range(1000):
        audio.push(_frame(0.02))
    assert audio.duration == pytest.approx(8.0)
    audio.clear()
    assert audio.frames() == ()


# ------------------------------------------------------------------ in a session


async def test_the_detector_hears_the_whole_turn_with_its_pauses(
    autojump_clock: trio.testing.MockClock,
) -> None:
    detector = ScriptedDetector()
    segments = [speech(0.5, 1.5, "a table for"), speech(2.5, 3.0, "four")]
    async with open_call(segments, turn_detector=detector) as call:
        await call.sleep_until(8.0)
    assert eou_delays(call) == [pytest.approx(0.3)]  # one turn: the pause was not cut
    (first, _), *_, (last, seconds) = detector.calls
    assert first == "a table for"
    assert last == "a table for four"
    # 0.5 s pre-roll + 2.5 s of speech and pause + the VAD's 0.3 s of silence
    assert seconds == pytest.approx(3.3, abs=0.02)


async def test_a_slow_detector_falls_back_to_vad_endpointing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    detector = ScriptedDetector(latency=30.0)
    async with open_call([speech(0.5, 1.5, "a table for")], turn_detector=detector) as call:
        await call.sleep_until(8.0)
    # asked at the VAD's end of speech (1.8), given up at 2.3: past 1.5 + 0.5, commit
    assert eou_delays(call) == [pytest.approx(0.8)]


async def test_a_failing_detector_falls_back_to_vad_endpointing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    detector = ScriptedDetector(fail=True)
    async with open_call([speech(0.5, 1.5, "a table for")], turn_detector=detector) as call:
        await call.sleep_until(8.0)
    assert eou_delays(call) == [pytest.approx(0.5)]  # not 2.5: no verdict, VAD's delay


async def test_dynamic_mode_covers_the_pauses_the_user_made(
    autojump_clock: trio.testing.MockClock,
) -> None:
    segments = [speech(0.5, 1.5, "a table for"), speech(2.5, 3.0, "four")]
    options = SessionOptions(endpointing_mode="dynamic")
    async with open_call(segments, turn_detector=ScriptedDetector(), options=options) as call:
        await call.sleep_until(8.0)
    # the 1.0 s pause moved the min delay from 0.3 to 0.9 * 0.3 + 0.1 * 1.0
    assert eou_delays(call) == [pytest.approx(0.37)]
    assert call.session.current_speech is None


class WarmableDetector(ScriptedDetector):
    """An audio model that can start at the VAD's end of speech (SmartTurnDetector's
    ``warm``): a later prediction for the same frames reuses the warmed verdict."""

    def __init__(self, *, latency: float) -> None:
        super().__init__(latency=latency)
        self.inferences = 0
        self._warmed: dict[int, trio.Event] = {}

    async def warm(self, audio: Sequence[AudioFrame]) -> None:
        done = self._warmed.setdefault(id(audio[-1]), trio.Event())
        self.inferences += 1
        await trio.sleep(self.latency)
        done.set()

    async def predict_end_of_turn(
        self, chat_ctx: ChatContext, transcript: str, audio: Sequence[AudioFrame]
    ) -> float:
        warmed = self._warmed.get(id(audio[-1]))
        if warmed is None:
            return await super().predict_end_of_turn(chat_ctx, transcript, audio)
        await warmed.wait()
        self.calls.append((transcript, sum(f.duration for f in audio)))
        return 0.9


@pytest.mark.parametrize("warmable", [True, False])
async def test_an_audio_detector_starts_at_the_vads_end_not_at_the_final_transcript(
    autojump_clock: trio.testing.MockClock, warmable: bool
) -> None:
    """The STT's final comes 0.5 s after the speech (the VAD ended it at 0.3 s); the
    model takes 0.2 s. Warmed at the VAD's end it is done when the final arrives: the
    turn ends at 0.5 s, not 0.5 + 0.2."""
    from trioagents.testing import FakeSTT, Timeline

    segments = [speech(0.5, 1.5, "a table please")]
    detector = WarmableDetector(latency=0.2) if warmable else ScriptedDetector(latency=0.2)
    stt = FakeSTT(Timeline(segments, tail=4.0), final_delay=0.5)
    async with open_call(segments, turn_detector=detector, stt=stt) as call:
        await call.sleep_until(5.0)
    expected = 0.5 if warmable else 0.7
    assert eou_delays(call) == [pytest.approx(expected, abs=0.011)]
    if isinstance(detector, WarmableDetector):
        assert detector.inferences == 1


@pytest.mark.parametrize("interim_interval", [10.0, 0.2])
async def test_the_wait_at_the_vads_end_waits_for_the_last_segments_words(
    autojump_clock: trio.testing.MockClock, interim_interval: float
) -> None:
    """The user goes on before the STT finalized their first words; after the second
    segment the VAD ends speech (2.8 s) while its final is still 0.2 s away. Before:
    the wait asked the detector about "my name is ada" alone -- complete -- and
    committed it at 2.8 s; "lovelace" then came as a turn of its own (with interim
    results the interim words went into the first turn and the final repeated them)."""
    from trioagents.testing import FakeSTT, Timeline

    segments = [speech(0.5, 1.5, "my name is ada"), speech(1.9, 2.5, "lovelace")]
    detector = ScriptedDetector()
    stt = FakeSTT(Timeline(segments, tail=6.0), final_delay=0.5, interim_interval=interim_interval)
    async with open_call(segments, turn_detector=detector, stt=stt) as call:
        await call.sleep_until(6.0)
    users = [m.content for m in call.session.history.messages() if m.role == "user"]
    assert users == ["my name is ada lovelace"]
    # committed when the final came (3.0 s): the 0.3 s minimum had already passed
    assert eou_delays(call) == [pytest.approx(0.5, abs=0.011)]
    assert [transcript for transcript, _ in detector.calls] == ["my name is ada lovelace"]


async def test_a_sound_the_stt_gives_no_words_for_holds_the_turn_at_most_the_max_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A cough after the words: the VAD hears speech, the STT gives no final (batch
    STTs omit empty ones), so the wait cannot know no words are coming. It waits for
    them until the max delay (2.5 s with a detector) after the sound, then commits the
    words it has -- slower than the 0.3 s minimum, never a turn without its end."""
    from trioagents.testing import FakeSTT, Timeline, noise

    segments = [speech(0.5, 1.5, "a table please"), noise(1.7, 2.0)]
    stt = FakeSTT(Timeline(segments, tail=6.0), final_delay=0.3, interim_interval=10.0)
    async with open_call(segments, turn_detector=ScriptedDetector(), stt=stt) as call:
        await call.sleep_until(8.0)
    users = [m.content for m in call.session.history.messages() if m.role == "user"]
    assert users == ["a table please"]
    assert eou_delays(call) == [pytest.approx(2.5, abs=0.011)]


async def test_a_final_that_came_before_late_silence_frames_is_that_speechs_final(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The speech ends at 1.5 s and the STT's final comes at once; then the input's
    frames arrive 0.1 s late (a busy process, a jittery network), so the VAD's end --
    its clock minus the 0.3 s of silence it counted in audio -- reads 1.6 s, after the
    final. Before: the wait took the final for an earlier speech's and held the turn
    the max delay (3 s) for words it already had (200 sessions: 1 turn in 20)."""
    from trioagents.testing import (
        FakeAudioInput,
        FakeAudioOutput,
        FakeLLM,
        FakeSTT,
        FakeTTS,
        FakeVAD,
        LLMScript,
        Timeline,
    )
    from trioagents.voice import Agent, AgentSession

    class LateAfterSpeech(FakeAudioInput):
        async def __anext__(self) -> AudioFrame:
            frame = await super().__anext__()
            captured_at = self.to_clock(self._index * self.timeline.frame_duration)
            if captured_at - self.to_clock(0.0) > 1.6:
                await trio.sleep_until(captured_at + 0.1)  # each frame from here on
            return frame

    timeline = Timeline([speech(0.5, 1.5, "a table please")], tail=5.0)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0),
        llm=FakeLLM(default=LLMScript("Sure.")),
        tts=FakeTTS(),
        vad=FakeVAD(),
    )
    events = session.subscribe()
    audio_in = LateAfterSpeech(timeline)
    async with session.start(
        Agent(instructions="t"), audio_input=audio_in, audio_output=FakeAudioOutput()
    ):
        await audio_in.finished.wait()
    delays = [
        event.end_of_utterance_delay
        async for event in events
        if isinstance(event, TurnMetricsCollected)
    ]
    low, _ = SessionOptions().endpointing_delays(detector=False)
    assert delays == [pytest.approx(low, abs=0.11)]
