"""User audio for the STT, joined into chunks: fewer hand-offs per second of audio.

The VAD judges every input frame on the audio pump (barge-in needs it), but the STT
step runs in a task of its own behind a channel, and each frame through that
channel wakes it: a channel hand-off and two task steps per 10 ms frame, per
session -- a large share of a 200-session process (``docs/performance.md``,
*Sessions per process*). :class:`ChunkJoiner` joins consecutive frames until a
chunk lasts ``SessionOptions.stt_chunk_duration`` (40 ms by default), so the STT
task wakes once per chunk. LiveKit's STT plugins do the same inside the plugin
(Deepgram's sends 50 ms chunks); doing it once here serves every STT.

What it costs: a chunk reaches the STT when its last frame arrived, so a
transcript can come up to one chunk minus one frame later. The pump flushes the
chunk early where that would matter -- when the VAD starts or ends speech, when
the input ends, when the VAD is swapped, and before ``flush_stt`` pads silence --
so the end of speech is never held back.

Frames of another format (sample rate, channels) flush the chunk first. A chunk of
one frame is that frame (no copy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import AudioFrame

__all__ = ["ChunkJoiner"]


class ChunkJoiner:
    """Joins frames into chunks of at least ``duration`` seconds (0: every frame)."""

    __slots__ = ("_duration", "_format", "_frames", "_held")

    def __init__(self, duration: float) -> None:
        self._duration = duration - 1e-9
        self._frames: list[AudioFrame] = []
        self._held = 0.0
        self._format = (0, 0)  # (sample rate, channels) of the frames held

    @property
    def held(self) -> float:
        """Seconds of audio waiting for the chunk to fill."""
        return self._held

    def add(self, frame: AudioFrame) -> Sequence[AudioFrame]:
        """Take ``frame``; return the chunks now complete (zero, one or two)."""
        frames = self._frames
        out: Sequence[AudioFrame] = ()
        if not frames:
            self._format = (frame.sample_rate, frame.data.shape[1])
        elif frame.sample_rate != self._format[0] or frame.data.shape[1] != self._format[1]:
            out = self.flush()
            self._format = (frame.sample_rate, frame.data.shape[1])
        frames.append(frame)
        self._held += frame.duration
        if self._held >= self._duration:
            out = [*out, *self.flush()]
        return out

    def flush(self) -> Sequence[AudioFrame]:
        """The chunk held so far, if any (zero or one frame)."""
        frames = self._frames
        if not frames:
            return ()
        self._frames = []
        self._held = 0.0
        if len(frames) == 1:
            return frames
        data = np.concatenate([f.data for f in frames], axis=0)
        data.flags.writeable = False  # ours alone: AudioFrame need not copy it
        return [AudioFrame(data, frames[0].sample_rate)]
