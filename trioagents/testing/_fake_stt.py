"""FakeSTT: transcripts of the scripted segments, recovered from the audio markers.

While a speech segment's frames arrive the stream emits ``START_OF_SPEECH`` and,
every ``interim_interval`` of audio, an ``INTERIM_TRANSCRIPT`` with the share of the
words spoken so far. ``final_delay`` after the segment's last frame it emits the
``FINAL_TRANSCRIPT`` and ``END_OF_SPEECH``. Noise segments produce nothing. A pushed
frame may hold several markers (the session joins input frames into chunks); each
run of one marker is heard in turn, the events stamped when the frame arrives.

``errors``: one :class:`~trioagents.ProviderError` is raised by each of the next
``stream()`` openings (then streams work). The stream has no task of its own: the
delayed finals are released by ``__anext__`` when their time comes, so leaving
``stream()`` leaves nothing behind.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import numpy as np
import trio

from ..core import AudioFrame, ProviderError, SpeechEvent, SpeechEventType
from ._timeline import Timeline
from ._tracking import StreamTracker

__all__ = ["FakeSTT"]


class FakeSTT:
    def __init__(
        self,
        timeline: Timeline,
        *,
        final_delay: float = 0.1,
        interim_interval: float = 0.2,
        errors: Sequence[ProviderError] = (),
    ) -> None:
        self.timeline = timeline
        self.final_delay = final_delay
        self.interim_interval = interim_interval
        self.errors = list(errors)
        self.streams = StreamTracker()

    @property
    def label(self) -> str:
        return "fake-stt"

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[_FakeSTTStream]:
        await trio.lowlevel.checkpoint()
        with self.streams.track():
            if self.errors:
                raise self.errors.pop(0)
            yield _FakeSTTStream(self)


class _FakeSTTStream:
    def __init__(self, owner: FakeSTT) -> None:
        self._owner = owner
        self._ready: list[SpeechEvent] = []
        self._pending: list[tuple[float, str]] = []
        self._wake = trio.Event()
        self._ended = False
        self._marker = 0
        self._heard = 0.0
        self._interims = 0

    async def push_frame(self, frame: AudioFrame) -> None:
        await trio.lowlevel.checkpoint()
        column = frame.data[:, 0]
        raw = column.tobytes()
        if raw and raw == raw[:2] * column.size:  # one marker (fastest exact test)
            self._hear(int(column[0]), frame.duration)  # one marker: the usual case
            return
        # a chunk of joined frames may span a segment boundary: hear each run apart
        edges = [0, *(np.flatnonzero(column[1:] != column[:-1]) + 1).tolist(), column.size]
        for start, stop in itertools.pairwise(edges):
            self._hear(int(column[start]), (stop - start) / frame.sample_rate)

    def _hear(self, marker: int, duration: float) -> None:
        if marker != self._marker:
            self._segment_ended()
            self._marker, self._heard, self._interims = marker, 0.0, 0
            if marker and not self._words():
                self._marker = 0  # noise: nothing to transcribe
            elif marker:
                self._emit(SpeechEventType.START_OF_SPEECH, "")
        if not self._marker:
            return
        self._heard += duration
        due = int(self._heard / self._owner.interim_interval + 1e-9)
        if due > self._interims:
            self._interims = due
            self._emit(SpeechEventType.INTERIM_TRANSCRIPT, self._partial())

    async def end_input(self) -> None:
        await trio.lowlevel.checkpoint()
        self._segment_ended()
        self._marker = 0
        self._ended = True
        self._notify()

    def __aiter__(self) -> _FakeSTTStream:
        return self

    async def __anext__(self) -> SpeechEvent:
        while True:
            now = trio.current_time()
            while self._pending and self._pending[0][0] <= now + 1e-9:
                _, text = self._pending.pop(0)
                self._emit(SpeechEventType.FINAL_TRANSCRIPT, text)
                self._emit(SpeechEventType.END_OF_SPEECH, "")
            if self._ready:
                await trio.lowlevel.checkpoint()
                return self._ready.pop(0)
            if self._ended and not self._pending:
                raise StopAsyncIteration
            wake = self._wake
            with trio.move_on_at(self._pending[0][0] if self._pending else math.inf):
                await wake.wait()

    def _words(self) -> list[str]:
        return self._owner.timeline.segment(self._marker).transcript.split() if self._marker else []

    def _partial(self) -> str:
        seg = self._owner.timeline.segment(self._marker)
        words = self._words()
        share = min(1.0, self._heard / (seg.end - seg.start))
        return " ".join(words[: max(1, math.floor(len(words) * share))])

    def _segment_ended(self) -> None:
        if self._marker:
            due = trio.current_time() + self._owner.final_delay
            self._pending.append((due, " ".join(self._words())))
            self._notify()

    def _emit(self, kind: SpeechEventType, text: str) -> None:
        self._ready.append(SpeechEvent(kind, text=text, timestamp=trio.current_time()))
        self._notify()

    def _notify(self) -> None:
        self._wake.set()
        self._wake = trio.Event()
