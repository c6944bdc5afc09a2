"""Offline recognition with pocketsphinx (extra ``stt``; BSD; ships its en-US model).

:class:`PocketsphinxSTT` is a :class:`~trioagents.core.BatchSTT`: one utterance
in, one final transcript out. Stream it with
:class:`~trioagents.providers.VADSegmentedSTT`.

``grammar`` switches from the open language model to a JSGF grammar accepting
exactly the given sentences: recognition becomes deterministic, which makes it a
test oracle (and a good fit for command-style agents). Robotic synthetic speech
is poorly recognized by the open model; the grammar recognizes it exactly.

Decoding is CPU work (RTF ~0.2): it runs in a worker thread. Cancelling the
caller abandons the thread (``abandon_on_cancel=True``) so a barge-in never
waits on it; a lock inside the thread keeps the one decoder from being used by
two utterances at once. The decoder is created on first use (~0.3 s).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import trio

from ..core import AudioFrame, ConfigurationError, SpeechEvent, SpeechEventType
from ._optional import mono_at, require

__all__ = ["PocketsphinxSTT", "grammar_words", "pocketsphinx_unknown_words"]

_RATE = 16000
_WORD = re.compile(r"[a-z0-9']+")


def grammar_words(sentence: str) -> list[str]:
    """The words of ``sentence`` as a grammar holds them: lower case, symbols dropped
    (JSGF gives ``; = | * + < > ( ) [ ] { } /`` and quotes a meaning of their own)."""
    return _WORD.findall(sentence.lower())


@functools.cache
def _dictionary(path: str) -> frozenset[str]:
    with open(path, encoding="utf-8", errors="replace") as lines:
        return frozenset(line.split(" ", 1)[0].split("(", 1)[0] for line in lines if line.strip())


def pocketsphinx_unknown_words(sentences: Sequence[str]) -> list[str]:
    """Words of ``sentences`` missing from pocketsphinx's en-US pronunciation
    dictionary, in order, once each. A grammar with any of them is rejected by the
    decoder (``Failed to parse JSGF``); the open language model is the fallback.
    Reads the dictionary file once (~0.1 s); ConfigurationError without the extra."""
    module = require("pocketsphinx", "stt")
    known = _dictionary(str(Path(module.get_model_path(), "en-us", "cmudict-en-us.dict")))
    unknown: list[str] = []
    for sentence in sentences:
        unknown += [w for w in grammar_words(sentence) if w not in known and w not in unknown]
    return unknown


def jsgf_for(sentences: Sequence[str]) -> str:
    """A JSGF grammar accepting exactly ``sentences`` (see :func:`grammar_words`)."""
    cleaned = [" ".join(grammar_words(s)) for s in sentences]
    if not all(cleaned):
        raise ConfigurationError("grammar sentences must contain words")
    return "#JSGF V1.0;\ngrammar sentences;\npublic <s> = " + " | ".join(cleaned) + ";\n"


class PocketsphinxSTT:
    """A batch STT (see module docs)."""

    def __init__(self, *, grammar: Sequence[str] | None = None, language: str = "en-US") -> None:
        self._module = require("pocketsphinx", "stt")
        self._jsgf = jsgf_for(grammar) if grammar is not None else None
        self._language = language
        self._decoder: Any = None
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return "pocketsphinx"

    def _decode(self, pcm: bytes) -> str:
        with self._lock:
            if self._decoder is None:
                decoder = self._module.Decoder(samprate=_RATE, loglevel="FATAL")
                if self._jsgf is not None:
                    decoder.add_jsgf_string("sentences", self._jsgf)
                    decoder.activate_search("sentences")
                self._decoder = decoder
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
            hypothesis = self._decoder.hyp()
            return str(hypothesis.hypstr) if hypothesis is not None else ""

    async def recognize(
        self, frames: Sequence[AudioFrame], *, language: str | None = None
    ) -> SpeechEvent:
        """Decode ``frames`` in a thread; returns a FINAL_TRANSCRIPT (text may be empty)."""
        if not frames:
            await trio.lowlevel.checkpoint()
            return SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT, language=self._language)
        audio = np.concatenate([mono_at(frame, _RATE) for frame in frames])
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        text = await trio.to_thread.run_sync(self._decode, pcm, abandon_on_cancel=True)
        return SpeechEvent(
            SpeechEventType.FINAL_TRANSCRIPT,
            text=text,
            language=language or self._language,
            timestamp=trio.current_time(),
        )
