"""Cartesia text-to-speech with input streaming (``/tts/websocket``), sans-I/O.

The wire protocol, as Cartesia documents it:

* the client opens ``wss://api.cartesia.ai/tts/websocket`` with ``X-API-Key`` and
  ``Cartesia-Version`` headers (the key may also go in the query; we never put it
  there); a refused upgrade is an HTTP status;
* client -> server: one JSON generation request per piece of an utterance, all
  sharing its ``context_id`` and every field but ``transcript`` and ``continue``:
  ``model_id``, ``voice`` (``{"mode": "id", "id": ...}``), ``language``,
  ``output_format`` (``{"container": "raw", "encoding": "pcm_s16le",
  "sample_rate": N}``), ``add_timestamps`` and optionally ``max_buffer_delay_ms``
  (how long the server may wait for more text before generating) and
  ``generation_config``. Transcripts are concatenated verbatim; ``"continue":
  true`` says more will follow, the last request has ``"continue": false`` (an
  empty transcript when the text was all sent). ``{"context_id": ..., "cancel":
  true}`` stops a context at once;
* server -> client: ``{"type": "chunk", "data": <base64 PCM>}``, ``{"type":
  "timestamps", "word_timestamps": {"words": [...], "start": [...], "end": [...]}}``
  (seconds from the context's first sample; words without whitespace, punctuation
  mostly stripped), ``{"type": "done"}``, ``flush_done`` and
  ``phoneme_timestamps`` (ignored here), and ``{"type": "error", "status_code":
  400, "error": ...}`` (newer versions: ``title``/``message``/``error_code``), which
  ends the context. Every message names its ``context_id``.

:class:`CartesiaContext` builds one utterance's requests around the shared state
machine (:class:`~._tts_events.TTSContextMachine`); :func:`parse_cartesia_message`
turns a server message into a :data:`~._tts_events.TTSServerEvent` or raises
:class:`~trioagents.core.RemoteProtocolError` (an unknown ``type`` is ignored).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import ConfigurationError
from ._json_messages import (
    FIELD_ERRORS,
    json_object,
    malformed,
    number,
    optional_text,
    text,
)
from ._tts_events import (
    TTSAudioReceived,
    TTSContextDone,
    TTSContextMachine,
    TTSErrorReported,
    TTSMessageIgnored,
    TTSServerEvent,
    TTSWordsTimed,
    WordTiming,
)
from ._tts_text import TextPiece
from ._ws_urls import websocket_base

__all__ = [
    "CARTESIA_API_URL",
    "CARTESIA_SAMPLE_RATES",
    "CARTESIA_VERSION",
    "CartesiaContext",
    "CartesiaOptions",
    "cartesia_url",
    "parse_cartesia_message",
]

CARTESIA_API_URL = "wss://api.cartesia.ai"
CARTESIA_VERSION = "2025-04-16"
CARTESIA_SAMPLE_RATES = frozenset({8000, 16000, 22050, 24000, 44100, 48000})


@dataclass(frozen=True, slots=True)
class CartesiaOptions:
    """One voice's generation settings (Cartesia's names).

    ``max_buffer_delay_ms`` (0..5000; None: the server's default, 3000): how long
    the server may buffer text before generating -- 0 when the caller already sends
    whole phrases. ``generation_config`` (``speed``, ``volume``, ``emotion`` on
    sonic-3) is sent as given. ``api_version`` goes in the ``Cartesia-Version``
    header.
    """

    voice_id: str = "a0e99841-438c-4a64-b679-ae501e7d6091"
    model_id: str = "sonic-2"
    language: str = "en"
    sample_rate: int = 24000
    max_buffer_delay_ms: int | None = None
    generation_config: Mapping[str, Any] = field(default_factory=dict)
    api_version: str = CARTESIA_VERSION

    def __post_init__(self) -> None:
        if self.sample_rate not in CARTESIA_SAMPLE_RATES:
            rates = ", ".join(str(r) for r in sorted(CARTESIA_SAMPLE_RATES))
            raise ConfigurationError(f"CartesiaOptions.sample_rate must be one of {rates}")
        if not self.voice_id or not self.model_id or not self.api_version:
            raise ConfigurationError("CartesiaOptions needs a voice_id, model_id and api_version")
        delay = self.max_buffer_delay_ms
        if delay is not None and not 0 <= delay <= 5000:
            raise ConfigurationError("CartesiaOptions.max_buffer_delay_ms is 0..5000 or None")

    def request(self, context_id: str, transcript: str, *, more: bool) -> dict[str, Any]:
        """One generation request of an utterance."""
        body: dict[str, Any] = {
            "model_id": self.model_id,
            "transcript": transcript,
            "voice": {"mode": "id", "id": self.voice_id},
            "language": self.language,
            "context_id": context_id,
            "output_format": {
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": self.sample_rate,
            },
            "add_timestamps": True,
            "continue": more,
        }
        if self.max_buffer_delay_ms is not None:
            body["max_buffer_delay_ms"] = self.max_buffer_delay_ms
        if self.generation_config:
            body["generation_config"] = dict(self.generation_config)
        return body


def cartesia_url(base_url: str = CARTESIA_API_URL) -> str:
    """The websocket URL (the key and version travel in headers)."""
    return f"{websocket_base(base_url, 'Cartesia')}/tts/websocket"


class CartesiaContext:
    """One utterance's requests (``context_id`` is the utterance's name on the wire)."""

    __slots__ = ("_options", "context_id", "machine")

    def __init__(self, options: CartesiaOptions, context_id: str) -> None:
        self._options = options
        self.context_id = context_id
        self.machine = TTSContextMachine()

    def open(self) -> list[str]:
        """Nothing to send: the first request opens the context."""
        self.machine.step("open")
        return []

    def text(self, piece: TextPiece) -> list[str]:
        self.machine.step("text")
        if not piece.text:
            return []
        return [json.dumps(self._options.request(self.context_id, piece.text, more=True))]

    def end(self, rest: str) -> list[str]:
        self.machine.step("end")
        return [json.dumps(self._options.request(self.context_id, rest, more=False))]

    def cancel(self) -> list[str]:
        self.machine.step("cancel")
        return [json.dumps({"context_id": self.context_id, "cancel": True})]

    def done(self) -> bool:
        return self.machine.done()


def parse_cartesia_message(message: str | bytes) -> TTSServerEvent:
    """One server message; RemoteProtocolError if malformed."""
    body = json_object("cartesia", message)
    kind = body.get("type")
    if not isinstance(kind, str):
        raise malformed("cartesia", "a message without a string 'type'", message)
    try:
        return _parse(kind, body)
    except FIELD_ERRORS as exc:
        what = "a known message type with malformed fields"
        raise malformed("cartesia", what, message) from exc


def _parse(kind: str, body: dict[str, Any]) -> TTSServerEvent:
    context_id = optional_text(body.get("context_id"))
    if kind == "chunk":
        pcm = base64.b64decode(text(body["data"]), validate=True)
        return TTSAudioReceived(context_id, pcm)
    if kind == "timestamps":
        return TTSWordsTimed(context_id, _words(body["word_timestamps"]))
    if kind == "done":
        return TTSContextDone(context_id)
    if kind == "error":
        status = body.get("status_code")
        if isinstance(status, bool) or not isinstance(status, int | None):
            raise TypeError("status_code")
        code = body.get("error_code", body.get("title"))
        return TTSErrorReported(context_id, status, code if isinstance(code, str) else None, body)
    return TTSMessageIgnored(context_id, kind)


def _words(timestamps: object) -> tuple[WordTiming, ...]:
    if not isinstance(timestamps, dict):
        raise TypeError("word_timestamps")
    words, starts, ends = timestamps["words"], timestamps["start"], timestamps["end"]
    if not all(isinstance(x, list) for x in (words, starts, ends)):
        raise TypeError("word_timestamps lists")
    if not len(words) == len(starts) == len(ends):
        raise ValueError("word_timestamps lists of different lengths")
    return tuple(
        WordTiming(text(word), number(start), number(end))
        for word, start, end in zip(words, starts, ends, strict=True)
    )
