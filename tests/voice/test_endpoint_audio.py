"""The endpointing delay is a length of audio: a turn is not ended on audio the VAD
has not judged (late input frames, a window the model still holds, voice too short
to start speech yet), and the wait for that audio is bounded.

Each session test has a twin scenario that the wall-clock deadline alone got wrong:
the user resumed before ``last speech + delay`` (in audio), but their audio reached
the VAD after that instant, and the turn was cut in two.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.core import AudioFrame
from trioagents.providers import EnergyVAD, VADOptions
from trioagents.testing import FakeAudioInput, Timeline, speech
from trioagents.voice import TurnMetricsCollected

from .harness import Call, open_call

# "a table for" ends at 1.5; the user resumes at 1.95, inside the 0.5 s delay
# (the default without a turn detector): one turn, not two
RESUMED = [speech(0.5, 1.5, "a table for"), speech(1.95, 2.6, "four")]


class LateInput(FakeAudioInput):
    """Frames from timeline ``stall_at`` on reach the session ``lag`` seconds late
    (a process busy in a GIL-holding decoder, a jittery network), then at ``speed``
    times real time (``speed=0``: never, the input stalls)."""

    def __init__(
        self, timeline: Timeline, *, stall_at: float, lag: float, speed: float = 1.0
    ) -> None:
        super().__init__(timeline)
        self._stall_at, self._lag, self._speed = stall_at, lag, speed
        self._position = 0.0

    async def __anext__(self) -> AudioFrame:
        frame = await super().__anext__()
        self._position += frame.duration
        if self._position > self._stall_at + 1e-9:
            if self._speed == 0:
                await trio.sleep_forever()
            behind = (self._position - self._stall_at) / self._speed
            await trio.sleep_until(self.to_clock(self._stall_at + self._lag + behind))
        return frame


def committed(call: Call) -> list[str]:
    """The user turns the session committed, in order."""
    return [m.content for m in call.session.history.messages() if m.role == "user"]


def eou_delays(call: Call) -> list[float]:
    return [m.end_of_utterance_delay for m in call.of_type(TurnMetricsCollected)]


async def test_late_frames_with_the_resumed_speech_do_not_cut_the_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # the VAD ends the speech at 1.8 (0.3 s of silence); frames from 1.8 arrive 0.3 s
    # late, so at 2.0 (1.5 + 0.5) the session has heard nothing of the resumed speech
    def late(timeline: Timeline) -> FakeAudioInput:
        return LateInput(timeline, stall_at=1.8, lag=0.3)

    async with open_call(RESUMED, audio_input=late) as call:
        await call.sleep_until(6.0)
    assert committed(call) == ["a table for four"]


async def test_on_time_frames_still_commit_at_the_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call([speech(0.5, 1.5, "a table for four")]) as call:
        await call.sleep_until(6.0)
    assert committed(call) == ["a table for four"]
    assert eou_delays(call) == [pytest.approx(0.5)]


async def test_voice_too_short_to_start_speech_holds_the_commit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # the energy VAD starts speech after 0.1 s of voice: the voice from 1.95 starts
    # it at 2.05 (audio), past the 2.0 deadline, yet the user spoke before it
    vad = EnergyVAD(
        threshold=1e-5, options=VADOptions(min_silence_duration=0.3, min_speech_duration=0.1)
    )
    segments = [speech(0.5, 1.5, "a table for"), speech(1.97, 2.6, "four")]
    async with open_call(segments, vad=vad) as call:
        await call.sleep_until(6.0)
    assert committed(call) == ["a table for four"]


@pytest.mark.parametrize(
    ("stall_at", "speed", "delay"),
    [
        # no frame after 1.85: the turn ends 0.25 s (_AUDIO_STALL) past the 2.0
        # deadline, not never
        (1.85, 0.0, 0.75),
        # from 1.8 on, audio comes at a quarter of real time: the 2.0 s audio instant
        # would arrive at 2.6; the hold gives up at 2.5 (_AUDIO_HOLD past the deadline)
        (1.8, 0.25, 1.0),
    ],
    ids=["stalled", "trickling"],
)
async def test_the_wait_for_missing_audio_is_bounded(
    stall_at: float, speed: float, delay: float, autojump_clock: trio.testing.MockClock
) -> None:
    def starved(timeline: Timeline) -> FakeAudioInput:
        return LateInput(timeline, stall_at=stall_at, lag=0.0, speed=speed)

    async with open_call([speech(0.5, 1.5, "a table for four")], audio_input=starved) as call:
        await call.sleep_until(8.0)
    assert committed(call) == ["a table for four"]
    assert eou_delays(call) == [pytest.approx(delay, abs=0.011)]
