"""A scripted user: speech and noise segments on Trio's clock, played as audio frames.

The audio is synthetic but real: :class:`FakeAudioInput` yields 10 ms frames in real
(or virtual) time, each sample set to a *segment marker* -- 0 for silence, ``k + 1``
while segment ``k`` is active. :class:`~trioagents.testing.FakeVAD` hears any
non-zero frame as speech; :class:`~trioagents.testing.FakeSTT` looks the marker up in
the timeline to know what was said. Noise is a segment with an empty transcript: the
VAD hears it, the STT transcribes nothing.

A frame covering ``[t, t + d)`` is delivered at ``t + d`` (audio exists only once it
has been captured), so "speech start + 0.5 s" is the instant the VAD has heard 0.5 s.

Frames are immutable, so the timeline makes one per marker and hands out the same
object for every frame of that marker (a frame per 10 ms per session was a
measurable share of a 200-session process). While a :func:`~trioagents.core.open_ticker`
block is open, the input paces itself through the ticker and its time zero is the
next multiple of the frame duration on Trio's clock (``started_at``), so the
inputs of a process share tick instants.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import trio

from ..core import AudioFrame, ConfigurationError, Ticker, current_ticker

__all__ = ["FakeAudioInput", "Timeline", "UserSpeech", "noise", "speech"]


@dataclass(frozen=True, slots=True)
class UserSpeech:
    """One segment of user audio from ``start`` to ``end`` seconds (timeline time)."""

    start: float
    end: float
    transcript: str = ""

    @property
    def is_noise(self) -> bool:
        return not self.transcript.strip()


def speech(start: float, end: float, transcript: str) -> UserSpeech:
    if not transcript.strip():
        raise ConfigurationError("speech() needs a transcript; use noise() for wordless sound")
    return UserSpeech(start, end, transcript)


def noise(start: float, end: float) -> UserSpeech:
    return UserSpeech(start, end, "")


class Timeline:
    """Ordered, non-overlapping user segments; ``tail`` seconds of silence follow the last."""

    def __init__(
        self,
        segments: Sequence[UserSpeech],
        *,
        tail: float = 1.0,
        frame_duration: float = 0.01,
        sample_rate: int = 16000,
    ) -> None:
        ordered = sorted(segments, key=lambda s: s.start)
        for seg in ordered:
            if seg.start < 0 or seg.end <= seg.start:
                raise ConfigurationError("each segment needs 0 <= start < end")
        for prev, nxt in itertools.pairwise(ordered):
            if nxt.start < prev.end:
                raise ConfigurationError("timeline segments must not overlap")
        if len(ordered) > 32000:
            raise ConfigurationError("a timeline holds at most 32000 segments")
        self.segments: tuple[UserSpeech, ...] = tuple(ordered)
        self.frame_duration = frame_duration
        self.sample_rate = sample_rate
        self.duration = (ordered[-1].end if ordered else 0.0) + tail
        self._starts = [seg.start for seg in ordered]
        self._frames: dict[int, AudioFrame] = {}

    def marker_at(self, t: float) -> int:
        """0 for silence at timeline time ``t``, else index + 1 of the active segment."""
        index = bisect.bisect_right(self._starts, t) - 1
        if index >= 0 and t < self.segments[index].end:
            return index + 1
        return 0

    def segment(self, marker: int) -> UserSpeech:
        return self.segments[marker - 1]

    def frame(self, index: int) -> AudioFrame:
        """Frame ``index`` (covering ``[index * d, (index + 1) * d)``), marker-filled."""
        marker = self.marker_at((index + 0.5) * self.frame_duration)
        frame = self._frames.get(marker)
        if frame is None:
            samples = round(self.frame_duration * self.sample_rate)
            data = np.full((samples, 1), marker, dtype=np.int16)
            data.flags.writeable = False  # ours alone: AudioFrame need not copy it
            frame = self._frames[marker] = AudioFrame(data, self.sample_rate)
        return frame


class FakeAudioInput:
    """Plays a :class:`Timeline` as frames paced by Trio's clock.

    Time zero is the first ``__anext__`` (or ``push_frames``); ``started_at``
    records it. After the timeline (including its tail) the input ends, unless
    ``endless`` (then silence continues until cancelled). ``finished`` is set when
    the scripted part is over.

    It is a :class:`~trioagents.voice.PushAudioInput`: ``push_frames(on_frame)``
    delivers the same frames at the same instants by calling ``on_frame``; with a
    ticker open, from the ticker's task step (no task switch per frame). A subclass
    that overrides ``__anext__`` but not ``push_frames`` is iterated instead, so its
    override still sees every frame.
    """

    def __init__(self, timeline: Timeline, *, endless: bool = False) -> None:
        self.timeline = timeline
        self.endless = endless
        self.started_at: float | None = None
        self.finished = trio.Event()
        self._index = 0
        self._total = math.ceil(timeline.duration / timeline.frame_duration - 1e-9)
        self._ticker: Ticker | None = None

    def __aiter__(self) -> FakeAudioInput:
        return self

    def to_clock(self, t: float) -> float:
        """Trio time of timeline time ``t`` (requires the input to have started)."""
        if self.started_at is None:
            raise ConfigurationError("the audio input has not started")
        return self.started_at + t

    async def __anext__(self) -> AudioFrame:
        self._start()
        deadline = self._due()
        if deadline is None:
            raise StopAsyncIteration
        if self._ticker is None:
            await trio.sleep_until(deadline)
        else:
            await self._ticker.sleep_until(deadline)
        return self._take()

    async def push_frames(self, on_frame: Callable[[AudioFrame], bool]) -> bool:
        """Call ``on_frame`` with each frame as it is captured (see the class docs)."""
        cls = type(self)
        if cls.__anext__ is not FakeAudioInput.__anext__ and cls.push_frames is _PUSH:
            async for frame in self:  # the subclass's __anext__ sees every frame
                if not on_frame(frame):
                    return False
            return True
        self._start()
        deadline = self._due()
        if deadline is None:
            await trio.lowlevel.checkpoint()
            return True
        stopped = False

        def step() -> float | None:
            nonlocal stopped
            if not on_frame(self._take()):
                stopped = True
                return None
            return self._due()

        if self._ticker is None or not self._ticker.open:
            await _pace_alone(deadline, step)
        else:
            await self._ticker.run_paced(deadline, step)
        return not stopped

    def _start(self) -> None:
        if self.started_at is None:
            self._ticker = current_ticker()
            now = trio.current_time()
            period = self.timeline.frame_duration
            self.started_at = now if self._ticker is None else Ticker.align(now, period)

    def _due(self) -> float | None:
        """When the next frame is captured; None (and ``finished``) at the end."""
        assert self.started_at is not None
        if self._index >= self._total:
            self.finished.set()
            if not self.endless:
                return None
        return self.started_at + (self._index + 1) * self.timeline.frame_duration

    def _take(self) -> AudioFrame:
        frame = self.timeline.frame(self._index)
        self._index += 1
        return frame


async def _pace_alone(deadline: float, step: Callable[[], float | None]) -> None:
    next_deadline: float | None = deadline
    while next_deadline is not None:
        await trio.sleep_until(next_deadline)
        next_deadline = step()


_PUSH = FakeAudioInput.push_frames
