"""Audio frames as numpy arrays.

An :class:`AudioFrame` is an immutable block of signed 16-bit PCM samples shaped
``(samples_per_channel, num_channels)`` at a given sample rate. Everything in
trioagents speaks this one type; conversions to and from codecs live in ``rtc``.

Invariants (checked at construction, with a clear error): dtype ``int16``, two
dimensions, at least one channel, a positive sample rate. The array is made
read-only so a frame handed to a sink cannot change under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray

__all__ = ["AudioFrame", "concat_frames", "silence"]


@dataclass(frozen=True, slots=True, eq=False)
class AudioFrame:
    """``data`` is ``int16`` shaped ``(samples_per_channel, num_channels)``."""

    data: NDArray[np.int16]
    sample_rate: int
    text_end: int | None = None
    """Alignment, set by a TTS that knows it: how many characters of the text it was
    given have been spoken by the end of this frame (the session's heard-text cut
    reads it; LiveKit's timed transcripts). ``None``: not known."""
    duration: float = field(init=False, repr=False, compare=False)
    """Length in seconds (computed once: the input path reads it several times a frame)."""

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, np.ndarray):
            raise ConfigurationError(
                f"AudioFrame.data must be a numpy array, got {type(data).__name__}"
            )
        if data.dtype != np.int16:
            raise ConfigurationError(
                f"AudioFrame.data must be int16 PCM, got {data.dtype}; "
                "convert float audio with AudioFrame.from_float()"
            )
        if data.ndim != 2 or data.shape[1] < 1:
            raise ConfigurationError(
                f"AudioFrame.data must be shaped (samples, channels), got {data.shape}; "
                "use AudioFrame.from_mono() for a 1-D array"
            )
        if not isinstance(self.sample_rate, int) or self.sample_rate <= 0:
            raise ConfigurationError(
                f"sample_rate must be a positive int, got {self.sample_rate!r}"
            )
        if data.flags.writeable:
            data = data.copy()  # never flip flags on the caller's array
            data.flags.writeable = False
            object.__setattr__(self, "data", data)
        object.__setattr__(self, "duration", data.shape[0] / self.sample_rate)

    @classmethod
    def from_mono(cls, samples: NDArray[Any], sample_rate: int) -> AudioFrame:
        """Wrap a 1-D int16 array as a mono frame."""
        arr = np.asarray(samples)
        if arr.ndim != 1:
            raise ConfigurationError(f"from_mono expects a 1-D array, got shape {arr.shape}")
        return cls(arr.astype(np.int16, copy=False).reshape(-1, 1), sample_rate)

    @classmethod
    def from_float(cls, samples: NDArray[Any], sample_rate: int) -> AudioFrame:
        """Convert float samples in [-1, 1] (1-D mono or 2-D) to an int16 frame, clipping."""
        arr = np.asarray(samples, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        pcm = np.clip(np.round(arr * 32767.0), -32768, 32767).astype(np.int16)
        return cls(pcm, sample_rate)

    @classmethod
    def from_bytes(cls, pcm: bytes, sample_rate: int, num_channels: int = 1) -> AudioFrame:
        """Interpret little-endian interleaved s16 bytes."""
        if num_channels < 1:
            raise ConfigurationError("num_channels must be >= 1")
        if len(pcm) % (2 * num_channels):
            raise ConfigurationError(
                f"PCM byte length {len(pcm)} is not a multiple of 2 * num_channels ({num_channels})"
            )
        arr = np.frombuffer(pcm, dtype="<i2").astype(np.int16).reshape(-1, num_channels)
        return cls(arr, sample_rate)

    @property
    def num_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def samples_per_channel(self) -> int:
        return int(self.data.shape[0])

    def to_bytes(self) -> bytes:
        """Little-endian interleaved s16 bytes."""
        return self.data.astype("<i2", copy=False).tobytes()

    def to_float_mono(self) -> NDArray[np.float32]:
        """Mean of the channels as float32 in [-1, 1] (VAD/STT input)."""
        if self.data.shape[1] == 1:  # the common case, 4x faster, the same values
            mono: NDArray[np.float32] = self.data[:, 0].astype(np.float32)
        else:
            mono = self.data.astype(np.float32).mean(axis=1, dtype=np.float32)
        mono /= np.float32(32768.0)
        return mono

    def rms(self) -> float:
        """Root mean square level in [0, 1]."""
        if self.samples_per_channel == 0:
            return 0.0
        x = self.data.astype(np.float64) / 32768.0
        return float(np.sqrt(np.mean(x * x)))

    def slice(self, start: int, stop: int) -> AudioFrame:
        """Samples ``[start, stop)`` of every channel."""
        return AudioFrame(self.data[start:stop].copy(), self.sample_rate)


def silence(duration: float, sample_rate: int, num_channels: int = 1) -> AudioFrame:
    """A frame of digital silence lasting ``duration`` seconds (rounded to whole samples)."""
    n = round(duration * sample_rate)
    return AudioFrame(np.zeros((n, num_channels), dtype=np.int16), sample_rate)


def concat_frames(frames: Iterable[AudioFrame]) -> AudioFrame:
    """Join frames of one format end to end; raises ConfigurationError on mixed formats."""
    items = list(frames)
    if not items:
        raise ConfigurationError("concat_frames needs at least one frame")
    rate, channels = items[0].sample_rate, items[0].num_channels
    for frame in items:
        if frame.sample_rate != rate or frame.num_channels != channels:
            raise ConfigurationError(
                "concat_frames: mixed formats "
                f"({rate} Hz x{channels} vs {frame.sample_rate} Hz x{frame.num_channels})"
            )
    return AudioFrame(np.concatenate([f.data for f in items], axis=0), rate)
