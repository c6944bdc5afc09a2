"""The fake recognizers' shared half: timeline-marker audio in, the words heard out.

The kit's fake speech servers (the fake Deepgram, the fake OpenAI realtime
transcription) hear :class:`~trioagents.testing.Timeline` audio, where each sample
is a segment marker (0 for silence). :class:`MarkerBlocks` cuts received PCM into
10 ms blocks and gives each block's marker (its most common sample, so resampled
audio works too) and level (its mean absolute sample, for an energy VAD).
:class:`HeardWords` spreads the words of segment ``k`` evenly over its duration: a
transcript holds the words whose share of the segment's audio was heard *on this
connection*, so audio a client failed to (re)send shows up as missing words.
Sans-I/O and clock-free: what comes out depends only on the audio received.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ._timeline import Timeline

__all__ = ["BLOCK", "HeardWords", "MarkerBlocks"]

BLOCK = 0.01  # seconds of audio per block
_EPS = 1e-9


class MarkerBlocks:
    """Whole 10 ms blocks of mono s16le PCM at ``sample_rate``; keeps the remainder."""

    def __init__(self, sample_rate: int) -> None:
        self.samples = max(1, round(sample_rate * BLOCK))
        self._leftover = b""

    def feed(self, pcm: bytes) -> list[tuple[int, float]]:
        """``(marker, level)`` of every block completed by ``pcm``."""
        data = self._leftover + pcm
        size = self.samples * 2
        whole = len(data) // size * size
        samples = np.frombuffer(data[:whole], dtype="<i2")
        blocks: list[tuple[int, float]] = []
        for start in range(0, len(samples), self.samples):
            block = samples[start : start + self.samples]
            values, counts = np.unique(block, return_counts=True)
            level = float(np.mean(np.abs(block.astype(np.int32))))
            blocks.append((int(values[np.argmax(counts)]), level))
        self._leftover = data[whole:]
        return blocks


class HeardWords:
    """The words of a timeline heard so far and not yet given out as final."""

    def __init__(self, timeline: Timeline) -> None:
        self._timeline = timeline
        self._order: list[int] = []  # markers of the words not yet final, in order
        self._heard: Counter[int] = Counter()
        self._final_words: Counter[int] = Counter()

    def words(self, marker: int) -> list[str]:
        """The words of segment ``marker`` (none for silence, noise or a stray value)."""
        if not 0 < marker <= len(self._timeline.segments):
            return []
        return self._timeline.segment(marker).transcript.split()

    def hear(self, marker: int) -> None:
        """One block of segment ``marker``'s speech was received."""
        if marker not in self._order:
            self._order.append(marker)
        self._heard[marker] += 1

    def pending(self, *, commit: bool) -> str:
        """The words heard and not yet final; ``commit``: they are final now."""
        words: list[str] = []
        for marker in self._order:
            share = self._share(marker)
            words += self.words(marker)[self._final_words[marker] : share]
            if commit:
                self._final_words[marker] = max(self._final_words[marker], share)
        if commit:
            self._order = [m for m in self._order if self._final_words[m] < len(self.words(m))]
        return " ".join(words)

    def _share(self, marker: int) -> int:
        words = self.words(marker)
        segment = self._timeline.segment(marker)
        heard = (self._heard[marker] + 1) * BLOCK  # one block of slack for edges
        share = len(words) * heard / (segment.end - segment.start)
        return min(len(words), math.floor(share + _EPS))
