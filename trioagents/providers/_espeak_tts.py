"""Offline synthesis with libespeak-ng from ``espeakng-loader`` (extra ``tts``).

License: espeak-ng is GPL-3.0-or-later. It is loaded only when an
:class:`EspeakTTS` is constructed (ctypes, lazily), never by importing
trioagents, so the core stays free of it; ship it as an opt-in.

libespeak-ng keeps global state (one voice, one callback), so every synthesis in
the process is serialized by a lock and runs in a worker thread (1-5 ms per
sentence, 22,050 Hz mono). Cancelling abandons the thread; the frames it produced
are dropped with it. The sound is robotic but intelligible, and with a JSGF
grammar pocketsphinx recognizes it exactly, which the tests use.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import trio

from ..core import AudioFrame, ConfigurationError, ProviderError
from ._optional import require

__all__ = ["EspeakTTS"]

_SYNCHRONOUS = 2
_UTF8 = 1
_RATE_PARAMETER = 1
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _library(loader: Any) -> tuple[Any, int]:
    """Load and initialize libespeak-ng once per process (call under _LOCK)."""
    if "lib" not in _STATE:
        lib = ctypes.CDLL(loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        data_root = str(Path(loader.get_data_path()).parent)
        rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, data_root.encode(), 0)
        if rate <= 0:
            raise ConfigurationError("libespeak-ng failed to initialize")
        _STATE.update(lib=lib, rate=rate)
    return _STATE["lib"], int(_STATE["rate"])


class EspeakTTS:
    """A chunked :class:`~trioagents.core.TTS` (see module docs); ``words_per_minute``
    is espeak's rate parameter."""

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 150) -> None:
        self._loader = require("espeakng_loader", "tts")
        with _LOCK:
            _, self._rate = _library(self._loader)
        self._voice = voice
        self._wpm = words_per_minute

    @property
    def label(self) -> str:
        return f"espeak-ng:{self._voice}"

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def num_channels(self) -> int:
        return 1

    def _synthesize(self, text: str) -> np.ndarray[Any, np.dtype[np.int16]]:
        chunks: list[np.ndarray[Any, np.dtype[np.int16]]] = []

        def collect(wav: Any, count: int, _events: Any) -> int:
            if count > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.int16))
            return 0

        callback = _CALLBACK(collect)
        encoded = text.encode("utf-8")
        with _LOCK:
            lib, _ = _library(self._loader)
            lib.espeak_SetSynthCallback(callback)
            if lib.espeak_SetVoiceByName(self._voice.encode()) != 0:
                raise ConfigurationError(f"espeak-ng has no voice {self._voice!r}")
            lib.espeak_SetParameter(_RATE_PARAMETER, self._wpm, 0)
            status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, _UTF8, None, None)
        if status != 0:
            raise ProviderError("espeak-ng synthesis failed", provider=self.label, retryable=False)
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    @asynccontextmanager
    async def synthesize(self, text: str) -> AsyncIterator[AsyncIterator[AudioFrame]]:
        """Synthesize in a worker thread, then yield 20 ms frames."""
        pcm = await trio.to_thread.run_sync(self._synthesize, text, abandon_on_cancel=True)
        frames = _Frames(pcm, self._rate)
        try:
            yield frames
        finally:
            frames.close()


class _Frames:
    def __init__(self, pcm: np.ndarray[Any, np.dtype[np.int16]], rate: int) -> None:
        self._pcm, self._rate, self._offset = pcm, rate, 0
        self._step = rate // 50

    def __aiter__(self) -> _Frames:
        return self

    def close(self) -> None:
        """Nothing comes out after the block closed."""
        self._offset = self._pcm.size

    async def __anext__(self) -> AudioFrame:
        await trio.lowlevel.checkpoint()
        if self._offset >= self._pcm.size:
            raise StopAsyncIteration
        chunk = self._pcm[self._offset : self._offset + self._step]
        self._offset += self._step
        return AudioFrame.from_mono(chunk, self._rate)
