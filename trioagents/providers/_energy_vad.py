"""A dependency-free VAD: frame energy against a threshold.

Good enough for clean audio, tests and demos; no model, no extra. The score of a
frame is ``0.5 * rms / threshold`` clipped to 1, so a frame at the threshold
scores exactly the gate's default activation (0.5) and the
:class:`~trioagents.providers.VADOptions` hysteresis applies unchanged. Use
:class:`~trioagents.providers.SileroVAD` (extra ``vad``) for real rooms: energy
cannot tell speech from a slammed door.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..core import AudioFrame, ConfigurationError, VADStream
from ._vad_gate import GatedVADStream, VADOptions

__all__ = ["EnergyVAD"]


class EnergyVAD:
    """A :class:`~trioagents.core.VAD`; ``threshold`` is an RMS level in [0, 1]
    (0.01 is about -40 dBFS)."""

    def __init__(self, *, threshold: float = 0.01, options: VADOptions | None = None) -> None:
        if not 0 < threshold < 1:
            raise ConfigurationError("EnergyVAD threshold must be an RMS level in (0, 1)")
        self._threshold = threshold
        self._options = options or VADOptions()

    @property
    def label(self) -> str:
        return "energy-vad"

    def _score(self, frame: AudioFrame) -> list[tuple[float, float]]:
        return [(min(1.0, 0.5 * frame.rms() / self._threshold), frame.duration)]

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[VADStream]:
        """A stream scoring each pushed frame; closed when the block exits."""
        stream = GatedVADStream(self._score, self._options)
        try:
            yield stream
        finally:
            stream.close()
