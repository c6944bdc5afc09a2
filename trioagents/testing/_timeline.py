"""A scripted user: speech and noise segments on Trio's clock, played as audio frames.

The audio is synthetic but real: :class:`FakeAudioInput` yields 10 ms frames in real
(or virtual) time, each sample set to a *segment marker* -- 0 for silence, ``k + 1``
while segment ``k`` is active. :class:`~trioagents.testing.FakeVAD` hears any
non-zero frame as speech; :class:`~trioagents.testing.FakeSTT` looks the marker up in
the timeline to know what was said. Noise is a segment with an empty transcript: the
VAD hears it, the STT transcribes nothing.

A frame covering ``[t, t + d)`` is delivered at ``t + d`` (audio exists only once it
has been captured), so "speech start + 0.5 s" is the instant the VAD has heard 0.5 s.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trio

from ..core import AudioFrame, ConfigurationError

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

    def marker_at(self, t: float) -> int:
        """0 for silence at timeline time ``t``, else index + 1 of the active segment."""
        for index, seg in enumerate(self.segments):
            if seg.start <= t < seg.end:
                return index + 1
        return 0

    def segment(self, marker: int) -> UserSpeech:
        return self.segments[marker - 1]

    def frame(self, index: int) -> AudioFrame:
        """Frame ``index`` (covering ``[index * d, (index + 1) * d)``), marker-filled."""
        mid = (index + 0.5) * self.frame_duration
        samples = round(self.frame_duration * self.sample_rate)
        data = np.full((samples, 1), self.marker_at(mid), dtype=np.int16)
        data.flags.writeable = False  # ours alone: AudioFrame need not copy it
        return AudioFrame(data, self.sample_rate)


class FakeAudioInput:
    """Plays a :class:`Timeline` as frames paced by Trio's clock.

    Time zero is the first ``__anext__``; ``started_at`` records it. After the
    timeline (including its tail) the input ends, unless ``endless`` (then silence
    continues until cancelled). ``finished`` is set when the scripted part is over.
    """

    def __init__(self, timeline: Timeline, *, endless: bool = False) -> None:
        self.timeline = timeline
        self.endless = endless
        self.started_at: float | None = None
        self.finished = trio.Event()
        self._index = 0

    def __aiter__(self) -> FakeAudioInput:
        return self

    def to_clock(self, t: float) -> float:
        """Trio time of timeline time ``t`` (requires the input to have started)."""
        if self.started_at is None:
            raise ConfigurationError("the audio input has not started")
        return self.started_at + t

    async def __anext__(self) -> AudioFrame:
        if self.started_at is None:
            self.started_at = trio.current_time()
        d = self.timeline.frame_duration
        total = math.ceil(self.timeline.duration / d - 1e-9)
        if self._index >= total:
            self.finished.set()
            if not self.endless:
                raise StopAsyncIteration
        await trio.sleep_until(self.started_at + (self._index + 1) * d)
        frame = self.timeline.frame(self._index)
        self._index += 1
        return frame
