"""PCM chunks and alignment in, :class:`~trioagents.core.AudioFrame` s with an exact
``text_end`` out.

A streaming TTS server sends an utterance's audio as base64 PCM (signed 16-bit
little-endian, mono) in chunks of any byte length -- an odd chunk leaves half a
sample for the next one, carried over, so no sample is lost or shifted -- and says
separately, or in the same message, which characters are spoken when.
:class:`AlignedFramer` cuts each chunk into frames of at most ``frame_samples``
(the last one of a chunk shorter: a frame is never held back waiting for more
audio) and gives every frame ``text_end``: how many characters of the text pushed
so far had been spoken by the end of that frame.

Alignment arrives as *marks*: "by ``at`` seconds from the utterance's first
sample, the speech had reached offset ``chars``" (an offset of
:class:`~._tts_text.TextAligner`), and as :meth:`~AlignedFramer.known_until`: every
mark up to that time has been given. A frame is released once its end is known (or
the utterance is finished); its ``text_end`` is the greatest mark at or before its
end, extended over the whitespace that follows (:meth:`TextAligner.covered`),
never less than the previous frame's and never more than the text. When the
alignment lags the audio (Cartesia's timestamps may come after the chunk they
describe), frames wait for it, at most ``wait`` seconds each (``None``: as long as
it takes); a frame whose wait ran out is released with what is known then.

After :meth:`~AlignedFramer.end_of_input` the newest frame is also held until
either more audio or :meth:`~AlignedFramer.finish` arrives, so the utterance's last
frame always says ``text_end == total``: everything pushed was spoken by the end
of the audio. Pure: times (``now``) are passed in, there is no clock here.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core import AudioFrame, ConfigurationError
from ._tts_text import TextAligner

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["AlignedFramer"]

_TOLERANCE = 0.001  # a mark 1 ms past a frame's end counts (servers round times to ms)


@dataclass(slots=True)
class _Held:
    data: NDArray[np.int16]
    end: float  # seconds from the first sample
    arrived: float


class AlignedFramer:
    """One utterance's frames; see the module docs for the release rule."""

    def __init__(
        self,
        sample_rate: int,
        aligner: TextAligner,
        *,
        frame_samples: int | None = None,
        wait: float | None = 0.3,
    ) -> None:
        if sample_rate <= 0 or (frame_samples is not None and frame_samples <= 0):
            raise ConfigurationError("AlignedFramer needs a positive sample_rate and frame size")
        self._rate = sample_rate
        self._aligner = aligner
        self._frame = frame_samples or max(1, sample_rate // 50)  # 20 ms
        self._wait = wait
        self._carry = b""
        self._bytes = 0
        self._samples = 0
        self._held: deque[_Held] = deque()
        self._marks: list[tuple[float, int]] = []  # a heap by time
        self._best = 0  # the greatest mark consumed so far
        self._known = 0.0
        self._last_text_end = 0
        self._input_ended = False
        self._total: int | None = None  # set by finish()

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received (half a sample counts as half)."""
        return self._bytes / 2 / self._rate

    @property
    def finished(self) -> bool:
        """Everything was said and every frame released."""
        return self._total is not None and not self._held

    def audio(self, pcm: bytes, now: float) -> float:
        """Add a chunk; returns its start in seconds (for chunk-relative alignment)."""
        start = self.audio_seconds
        self._bytes += len(pcm)
        data = self._carry + pcm
        usable = len(data) - len(data) % 2
        self._carry = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.int16, copy=False)
        samples = samples.reshape(-1, 1)  # read-only: AudioFrame need not copy it
        count = samples.shape[0]
        for offset in range(0, count, self._frame):
            stop = min(offset + self._frame, count)
            end = (self._samples + stop) / self._rate
            self._held.append(_Held(samples[offset:stop], end, now))
        self._samples += count
        return start

    def mark(self, at: float, chars: int) -> None:
        """By ``at`` seconds the speech had reached offset ``chars``."""
        heapq.heappush(self._marks, (at, chars))

    def known_until(self, at: float) -> None:
        """Every mark up to ``at`` seconds has been given."""
        self._known = max(self._known, at)

    def end_of_input(self) -> None:
        self._input_ended = True

    def finish(self) -> None:
        """The server said everything: the last frame speaks the whole text."""
        self._total = self._aligner.total

    def deadline(self) -> float:
        """When the oldest held frame's wait runs out (inf: nothing waits on a clock)."""
        if not self._held or self._wait is None:
            return math.inf
        return self._held[0].arrived + self._wait

    def release(self, now: float) -> list[AudioFrame]:
        """The frames whose alignment is known (or whose wait ran out), in order."""
        frames: list[AudioFrame] = []
        while self._held:
            held = self._held[0]
            if not self._releasable(held, now):
                break
            self._held.popleft()
            frames.append(AudioFrame(held.data, self._rate, text_end=self._text_end(held)))
        return frames

    def _releasable(self, held: _Held, now: float) -> bool:
        if self._total is not None:
            return True
        if self._wait is not None and now >= held.arrived + self._wait:
            return True
        tail = self._input_ended and len(self._held) == 1
        return not tail and held.end <= self._known + _TOLERANCE

    def _text_end(self, held: _Held) -> int:
        while self._marks and self._marks[0][0] <= held.end + _TOLERANCE:
            self._best = max(self._best, heapq.heappop(self._marks)[1])
        total = self._aligner.total
        if self._total is not None and not self._held:
            text_end = self._total
        else:
            text_end = self._aligner.covered(self._best)
        text_end = min(total, max(self._last_text_end, text_end))
        self._last_text_end = text_end
        return text_end
