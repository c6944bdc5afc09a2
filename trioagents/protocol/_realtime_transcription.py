"""OpenAI realtime transcription (a ``transcription`` session over a websocket), sans-I/O.

The wire protocol, as OpenAI documents it (the GA Realtime API; the older beta
form is kept behind ``api="beta"``):

* the client opens ``wss://api.openai.com/v1/realtime?intent=transcription`` with
  ``Authorization: Bearer <key>`` (no ``model`` in the URL: that would open a
  conversation session). The beta form adds ``OpenAI-Beta: realtime=v1``. The
  server greets with ``session.created`` (beta: ``transcription_session.created``);
* client -> server, JSON text messages: ``session.update`` with ``session.type =
  "transcription"`` and ``session.audio.input`` = ``format`` (``audio/pcm`` at 24
  kHz), ``transcription`` (``model``, ``language``, ``prompt``, ``delay``),
  ``turn_detection`` (``server_vad`` / ``semantic_vad``, or null: the client
  commits) and ``noise_reduction`` (beta: ``transcription_session.update`` with
  ``input_audio_format: "pcm16"``, ``input_audio_transcription``,
  ``turn_detection``, ``input_audio_noise_reduction``); answered by
  ``session.updated``. ``input_audio_buffer.append`` carries base64 PCM16 (24 kHz
  mono little-endian), unanswered; ``input_audio_buffer.commit`` makes the buffer
  one *item* and starts its transcription (answered by ``committed``, or by an
  ``input_audio_buffer_commit_empty`` error under 100 ms of audio);
  ``input_audio_buffer.clear`` drops the buffer (answered by ``cleared``);
* server -> client: ``input_audio_buffer.speech_started`` / ``speech_stopped``
  (server VAD; ``audio_start_ms`` / ``audio_end_ms``, counted in the session's
  audio, the end including the VAD's silence), ``input_audio_buffer.committed``
  (``item_id``, ``previous_item_id``), then per item
  ``conversation.item.input_audio_transcription.delta`` (text so far, in pieces),
  ``.completed`` (the final ``transcript``) or ``.failed`` (``error``); and
  ``error`` (``error.type`` / ``code`` / ``message``; most leave the session open).
  Completions of different items may arrive out of order.

This module holds the options, the URL, the ``session.update`` message and the
parser of server messages (:func:`parse_transcription_event`: one event per
message, :class:`~trioagents.core.RemoteProtocolError` for anything malformed --
a binary frame, bad JSON, a known type with fields of the wrong type -- and an
unknown ``type`` as :class:`TranscriptionMessageIgnored`, so a server that grows
new events does not break old clients). The client's state machine, which turns
events into finals in audio order, is :mod:`._realtime_transcription_client`.
Rejected alternative: the ``openai`` SDK's realtime types (an asyncio client and
a dependency, for ~150 lines of parsing whose error paths are not ours to fuzz).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias
from urllib.parse import urlencode, urlsplit

from ..core import ConfigurationError
from ._json_messages import FIELD_ERRORS, json_object, malformed, number, optional_text, text

__all__ = [
    "REALTIME_TRANSCRIPTION_SAMPLE_RATE",
    "RealtimeTranscriptionOptions",
    "SemanticVAD",
    "ServerVAD",
    "TranscriptionAudioCleared",
    "TranscriptionAudioCommitted",
    "TranscriptionCompleted",
    "TranscriptionDeltaReceived",
    "TranscriptionErrorReported",
    "TranscriptionEvent",
    "TranscriptionFailed",
    "TranscriptionMessageIgnored",
    "TranscriptionSessionConfigured",
    "TranscriptionSpeechStarted",
    "TranscriptionSpeechStopped",
    "append_message",
    "parse_transcription_event",
    "realtime_transcription_url",
    "session_update_message",
]

REALTIME_TRANSCRIPTION_SAMPLE_RATE = 24000
"""The only PCM rate a realtime session takes (mono s16le)."""
_PREFIX = "openai-realtime-transcription"
_NOISE_REDUCTION = ("near_field", "far_field")


# --------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class ServerVAD:
    """The server's energy-and-model VAD commits each utterance (OpenAI's defaults)."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1 or self.prefix_padding_ms < 0:
            raise ConfigurationError("ServerVAD: threshold must be 0..1, prefix_padding_ms >= 0")
        if self.silence_duration_ms <= 0:
            raise ConfigurationError("ServerVAD.silence_duration_ms must be positive")

    def wire(self) -> dict[str, Any]:
        return {
            "type": "server_vad",
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
        }


@dataclass(frozen=True, slots=True)
class SemanticVAD:
    """A turn detector model decides when the utterance ends."""

    eagerness: Literal["low", "medium", "high", "auto"] = "auto"

    def __post_init__(self) -> None:
        if self.eagerness not in ("low", "medium", "high", "auto"):
            raise ConfigurationError("SemanticVAD.eagerness is low, medium, high or auto")

    def wire(self) -> dict[str, Any]:
        return {"type": "semantic_vad", "eagerness": self.eagerness}


@dataclass(frozen=True, slots=True)
class RealtimeTranscriptionOptions:
    """One transcription session's configuration (OpenAI's names).

    ``turn_detection`` None: the server does not segment; the client commits
    (``flush()``, ``end_input()``); ``gpt-realtime-whisper`` needs that. ``language``
    is sent as its ISO-639-1 part (``"en-US"`` -> ``"en"``); None lets the model
    detect it. ``delay`` (``minimal`` .. ``xhigh``) is ``gpt-realtime-whisper``'s
    latency/accuracy trade-off (GA only). ``api``: ``"ga"`` (``session.update``) or
    ``"beta"`` (``transcription_session.update`` with ``OpenAI-Beta: realtime=v1``).
    """

    model: str = "gpt-4o-mini-transcribe"
    language: str | None = "en"
    prompt: str | None = None
    turn_detection: ServerVAD | SemanticVAD | None = ServerVAD()
    noise_reduction: Literal["near_field", "far_field"] | None = None
    delay: str | None = None
    api: Literal["ga", "beta"] = "ga"

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigurationError("RealtimeTranscriptionOptions.model must be set")
        if self.api not in ("ga", "beta"):
            raise ConfigurationError("RealtimeTranscriptionOptions.api is 'ga' or 'beta'")
        if self.noise_reduction is not None and self.noise_reduction not in _NOISE_REDUCTION:
            raise ConfigurationError("noise_reduction is 'near_field', 'far_field' or None")
        if self.delay is not None and self.api == "beta":
            raise ConfigurationError("RealtimeTranscriptionOptions.delay needs api='ga'")

    @property
    def server_segments(self) -> bool:
        """Whether the server's turn detection commits the audio (else the client does)."""
        return self.turn_detection is not None


def realtime_transcription_url(base_url: str, query: Mapping[str, str] | None = None) -> str:
    """The websocket URL for an API base (``https://api.openai.com/v1`` ->
    ``wss://api.openai.com/v1/realtime?intent=transcription``); ``query`` is added
    (Azure's ``api-version``). The API key never goes here."""
    parts = urlsplit(base_url)
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise ConfigurationError("the realtime base URL must be http(s):// or ws(s):// with a host")
    if parts.query:
        raise ConfigurationError("the realtime base URL must not carry a query; pass query=")
    path = parts.path.rstrip("/") + "/realtime"
    pairs = [("intent", "transcription"), *(query or {}).items()]
    return f"{scheme}://{parts.netloc}{path}?{urlencode(pairs)}"


def _language_code(language: str | None) -> str | None:
    return language.split("-")[0].split("_")[0].lower() if language else None


def session_update_message(
    options: RealtimeTranscriptionOptions, language: str | None = None
) -> dict[str, Any]:
    """The ``session.update`` (or beta ``transcription_session.update``) for ``options``;
    ``language`` overrides the option."""
    transcription: dict[str, Any] = {"model": options.model}
    code = _language_code(language or options.language)
    if code:
        transcription["language"] = code
    if options.prompt:
        transcription["prompt"] = options.prompt
    if options.delay:
        transcription["delay"] = options.delay
    turns = options.turn_detection.wire() if options.turn_detection else None
    noise = {"type": options.noise_reduction} if options.noise_reduction else None
    if options.api == "beta":
        session: dict[str, Any] = {
            "input_audio_format": "pcm16",
            "input_audio_transcription": transcription,
            "turn_detection": turns,
        }
        if noise:
            session["input_audio_noise_reduction"] = noise
        return {"type": "transcription_session.update", "session": session}
    audio_input: dict[str, Any] = {
        "format": {"type": "audio/pcm", "rate": REALTIME_TRANSCRIPTION_SAMPLE_RATE},
        "transcription": transcription,
        "turn_detection": turns,
    }
    if noise:
        audio_input["noise_reduction"] = noise
    return {
        "type": "session.update",
        "session": {"type": "transcription", "audio": {"input": audio_input}},
    }


def append_message(pcm: bytes) -> str:
    """``input_audio_buffer.append`` of PCM16 bytes, as the JSON text to send."""
    audio = base64.b64encode(pcm).decode("ascii")
    return json.dumps({"type": "input_audio_buffer.append", "audio": audio})


# --------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class TranscriptionSessionConfigured:
    """``session.created`` (``created``) or ``session.updated`` (either API's name)."""

    created: bool
    session: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TranscriptionSpeechStarted:
    item_id: str
    audio_start: float  # seconds of the session's audio


@dataclass(frozen=True, slots=True)
class TranscriptionSpeechStopped:
    item_id: str
    audio_end: float  # seconds of the session's audio; includes the VAD's silence


@dataclass(frozen=True, slots=True)
class TranscriptionAudioCommitted:
    item_id: str
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class TranscriptionAudioCleared:
    pass


@dataclass(frozen=True, slots=True)
class TranscriptionDeltaReceived:
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class TranscriptionCompleted:
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class TranscriptionFailed:
    """An item's transcription failed; ``kind``/``code`` from its ``error``, the whole
    message in ``body`` (kept out of any text)."""

    item_id: str
    kind: str | None
    code: str | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TranscriptionErrorReported:
    """An ``error`` event: ``kind`` is ``error.type`` (``invalid_request_error``,
    ``server_error``, ...), ``code`` e.g. ``input_audio_buffer_commit_empty``."""

    kind: str | None
    code: str | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TranscriptionMessageIgnored:
    """A message of a type this client does not use (``type`` as sent)."""

    type: str


TranscriptionEvent: TypeAlias = (
    TranscriptionSessionConfigured
    | TranscriptionSpeechStarted
    | TranscriptionSpeechStopped
    | TranscriptionAudioCommitted
    | TranscriptionAudioCleared
    | TranscriptionDeltaReceived
    | TranscriptionCompleted
    | TranscriptionFailed
    | TranscriptionErrorReported
    | TranscriptionMessageIgnored
)

_ITEM = "conversation.item.input_audio_transcription."


def parse_transcription_event(message: str | bytes) -> TranscriptionEvent:
    """Parse one server message; RemoteProtocolError if malformed (see module docs)."""
    body = json_object(_PREFIX, message)
    kind = body.get("type")
    if not isinstance(kind, str):
        raise malformed(_PREFIX, "a message without a string 'type'", message)
    try:
        return _parse(kind, body)
    except FIELD_ERRORS as exc:
        raise malformed(_PREFIX, "a known message type with malformed fields", message) from exc


def _parse(kind: str, body: dict[str, Any]) -> TranscriptionEvent:
    if kind in ("session.created", "transcription_session.created"):
        return TranscriptionSessionConfigured(True, _object(body["session"]))
    if kind in ("session.updated", "transcription_session.updated"):
        return TranscriptionSessionConfigured(False, _object(body["session"]))
    if kind == "input_audio_buffer.speech_started":
        start = number(body["audio_start_ms"]) / 1000
        return TranscriptionSpeechStarted(text(body["item_id"]), start)
    if kind == "input_audio_buffer.speech_stopped":
        end = number(body["audio_end_ms"]) / 1000
        return TranscriptionSpeechStopped(text(body["item_id"]), end)
    if kind == "input_audio_buffer.committed":
        previous = optional_text(body.get("previous_item_id"))
        return TranscriptionAudioCommitted(text(body["item_id"]), previous)
    if kind == "input_audio_buffer.cleared":
        return TranscriptionAudioCleared()
    if kind == "error":
        error = _object(body["error"])
        return TranscriptionErrorReported(
            optional_text(error.get("type")), optional_text(error.get("code")), body
        )
    if kind.startswith(_ITEM):
        return _item_event(kind.removeprefix(_ITEM), body)
    return TranscriptionMessageIgnored(kind)


def _item_event(kind: str, body: dict[str, Any]) -> TranscriptionEvent:
    if kind == "delta":
        return TranscriptionDeltaReceived(text(body["item_id"]), text(body.get("delta", "")))
    if kind == "completed":
        return TranscriptionCompleted(text(body["item_id"]), text(body["transcript"]))
    if kind == "failed":
        error = _object(body.get("error") or {})
        return TranscriptionFailed(
            text(body["item_id"]),
            optional_text(error.get("type")),
            optional_text(error.get("code")),
            body,
        )
    return TranscriptionMessageIgnored(_ITEM + kind)


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("object")
    return value
