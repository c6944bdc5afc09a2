"""The demo's recording (``--save-wav PATH``): both sides of the call in one WAV.

Stereo, 16-bit, 16 kHz: **left the caller** (the frames it played into its track),
**right the agent** (the frames the caller received from the agent's track). Each
frame is placed at the Trio time it was handled, relative to the start of the
call: a channel that is behind that position is padded with silence, so gaps
(the other side speaking, thinking time) are kept. The caller's frames are stamped
when its track queue took them, up to 200 ms (the queue) before they played;
frames arriving back to back (a jitter burst) are appended, not overlapped. Good
enough to listen to a call and to see turn-taking in an audio editor; not a
sample-accurate capture.

Resampling is linear interpolation (plenty for speech at 16 kHz). Memory: 64 kB
per second of call.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from ..core import AudioFrame

__all__ = ["AGENT", "CALLER", "CallRecording"]

CALLER, AGENT = 0, 1
RATE = 16000


def _mono_at_rate(frame: AudioFrame) -> np.ndarray:
    mono = frame.to_float_mono()
    if frame.sample_rate != RATE and mono.size:
        count = max(1, round(mono.size * RATE / frame.sample_rate))
        positions = np.arange(count) * (frame.sample_rate / RATE)
        mono = np.interp(positions, np.arange(mono.size), mono)
    return (np.clip(mono, -1.0, 1.0) * 32767).astype(np.int16)


class CallRecording:
    """Two channels on the call's clock (see the module docstring)."""

    def __init__(self, started_at: float) -> None:
        self._started_at = started_at
        self._chunks: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        self._lengths = [0, 0]

    def add(self, channel: int, at: float, frame: AudioFrame) -> None:
        """``frame`` of ``channel`` (CALLER or AGENT), handled at Trio time ``at``."""
        gap = round((at - self._started_at) * RATE) - self._lengths[channel]
        if gap > 0:
            self._chunks[channel].append(np.zeros(gap, dtype=np.int16))
            self._lengths[channel] += gap
        samples = _mono_at_rate(frame)
        self._chunks[channel].append(samples)
        self._lengths[channel] += samples.size

    @property
    def duration(self) -> float:
        return max(self._lengths) / RATE

    def write(self, path: Path) -> float:
        """Write the WAV (see the module docstring); returns its duration in seconds."""
        length = max(self._lengths)
        stereo = np.zeros((length, 2), dtype=np.int16)
        for channel, chunks in enumerate(self._chunks):
            if chunks:
                samples = np.concatenate(chunks)
                stereo[: samples.size, channel] = samples
        with wave.open(str(path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(stereo.astype("<i2").tobytes())
        return length / RATE
