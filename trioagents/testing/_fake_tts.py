"""FakeTTS: deterministic speech whose samples say which characters were spoken.

Audio lasts exactly ``len(text) / chars_per_second`` seconds (24 kHz, 20 ms frames,
the last one shorter); the default rate is the synchronizer's standard estimate, so
the heard text of a half-synthesized sentence is exact in tests. Every sample of a
frame holds ``1 +`` the number of characters fully spoken by the end of that frame,
so a test can recover the heard text from what a sink actually played (see
:func:`heard_chars`). ``ttfb`` delays the first frame, ``frame_interval`` paces the
rest (0: all at once, faster than real time: after the first, frames are returned
without a scheduling point, as a TTS that synthesized the sentence returns them).
Each frame carries its alignment (``AudioFrame.text_end``: the characters spoken by
its end) unless ``aligned=False`` (a provider that gives none).

``errors`` maps a sentence (exact text) to the error its synthesis raises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import numpy as np
import trio

from ..core import AudioFrame, ProviderError, pace_until
from ._tracking import StreamRecord, StreamTracker

__all__ = ["FakeTTS", "heard_chars"]

_SAMPLE_RATE = 24000
_FRAME = 480  # 20 ms


class FakeTTS:
    def __init__(
        self,
        *,
        ttfb: float = 0.0,
        frame_interval: float = 0.0,
        chars_per_second: float = 16.0,
        errors: Mapping[str, ProviderError] | None = None,
        hang: bool = False,
        aligned: bool = True,
    ) -> None:
        self.ttfb = ttfb
        self.frame_interval = frame_interval
        self.chars_per_second = chars_per_second
        self.errors = dict(errors or {})
        self.hang = hang
        self.aligned = aligned
        self.streams = StreamTracker()

    @property
    def label(self) -> str:
        return "fake-tts"

    @property
    def sample_rate(self) -> int:
        return _SAMPLE_RATE

    @property
    def num_channels(self) -> int:
        return 1

    @asynccontextmanager
    async def synthesize(self, text: str) -> AsyncIterator[_FakeTTSStream]:
        with self.streams.track(text) as record:
            yield _FakeTTSStream(self, text, record)


class _FakeTTSStream:
    def __init__(self, owner: FakeTTS, text: str, record: StreamRecord) -> None:
        self._owner = owner
        self._text = text
        self._record = record
        self._samples_per_char = _SAMPLE_RATE / owner.chars_per_second
        self._total = round(len(text) * self._samples_per_char)
        self._offset = 0

    def __aiter__(self) -> _FakeTTSStream:
        return self

    async def __anext__(self) -> AudioFrame:
        owner = self._owner
        delay = owner.ttfb if self._offset == 0 else owner.frame_interval
        if delay > 0:
            await pace_until(trio.current_time() + delay)  # one timer per process if open
        elif self._offset == 0:
            await trio.lowlevel.checkpoint()
        # else: the sentence is synthesized; its frames are ready (like piper's)
        error = owner.errors.get(self._text)
        if error is not None:
            raise error
        if owner.hang:
            await trio.sleep_forever()
        if self._offset >= self._total:
            raise StopAsyncIteration
        end = min(self._offset + _FRAME, self._total)
        # the last frame speaks the whole text (rounding the length must not lose a char)
        spoken = len(self._text) if end >= self._total else int(end / self._samples_per_char + 1e-9)
        data = np.full((end - self._offset, 1), min(spoken + 1, 32767), dtype=np.int16)
        data.flags.writeable = False  # ours alone: AudioFrame need not copy it
        self._offset = end
        if self._record.first_output_at is None:
            self._record.first_output_at = trio.current_time()
        return AudioFrame(data, _SAMPLE_RATE, text_end=spoken if owner.aligned else None)


def heard_chars(frame_values: Sequence[int]) -> list[int]:
    """Characters heard per sentence, from the marker values of played frames in order.

    A sentence starts wherever the marker drops (a new TTS request restarts at 1).
    """
    sentences: list[int] = []
    previous = 0
    for value in frame_values:
        if value < previous or not sentences:
            sentences.append(0)
        sentences[-1] = value - 1
        previous = value
    return sentences
