"""ElevenLabs text-to-speech with input streaming (websocket), sans-I/O.

The wire protocol, as ElevenLabs documents it (``/v1/text-to-speech/{voice_id}/
stream-input`` and ``.../multi-stream-input``):

* the client opens ``wss://api.elevenlabs.io/v1/text-to-speech/<voice>/stream-input
  ?model_id=...&output_format=pcm_24000&sync_alignment=true...`` with the key in the
  ``xi-api-key`` header; a refused upgrade is an HTTP status (401, 403, 429, 5xx);
* client -> server, one JSON object per text message: the first message of an
  utterance is ``{"text": " "}`` with ``voice_settings`` and ``generation_config``
  (``chunk_length_schedule``: characters buffered before each generation); then
  ``{"text": "some words "}`` (``"flush": true`` generates what is buffered now);
  the end of input is ``{"text": ""}`` -- the server flushes, sends
  ``{"isFinal": true}`` and closes;
* multi-stream-input carries several utterances (*contexts*) on one socket: every
  message names its ``context_id``; an utterance ends with ``{"text": "",
  "flush": true}`` then ``{"close_context": true}`` (the server finishes the flush,
  then sends ``isFinal`` for that context); a ``close_context`` without a flush
  stops the context at once (barge-in); ``{"close_socket": true}`` ends the
  connection;
* server -> client: ``{"audio": <base64 PCM>, "alignment": {"chars": [...],
  "charStartTimesMs": [...], "charDurationsMs": [...]}, "normalizedAlignment": ...,
  "contextId": ...}`` -- alignment for the characters the server *received* (ours,
  plus the leading space), times relative to this chunk's audio -- and ``isFinal``;
  an error is a message with ``error``; a policy refusal closes with 1008.

Both spellings ElevenLabs has used are read: ``contextId``/``context_id``,
``isFinal``/``is_final``, ``charStartTimesMs``/``charsStartTimesMs``,
``charDurationsMs``/``charsDurationsMs``. ``alignment`` (the received text) is
preferred over ``normalizedAlignment`` (numbers spelled out, ...), as it is what
maps back onto our text.

:class:`ElevenLabsContext` builds one utterance's messages around the shared state
machine (:class:`~._tts_events.TTSContextMachine`); :func:`parse_elevenlabs_message`
turns a server message into a :data:`~._tts_events.TTSServerEvent` or raises
:class:`~trioagents.core.RemoteProtocolError`. Never an empty ``{"text": ""}``
mid-utterance: on ``stream-input`` it would end the stream.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from ..core import ConfigurationError
from ._json_messages import (
    FIELD_ERRORS,
    flag,
    json_object,
    malformed,
    number,
    optional_text,
)
from ._tts_events import (
    CharTiming,
    TTSAudioReceived,
    TTSContextDone,
    TTSContextMachine,
    TTSErrorReported,
    TTSMessageIgnored,
    TTSServerEvent,
)
from ._tts_text import TextPiece
from ._ws_urls import websocket_base

__all__ = [
    "ELEVENLABS_API_URL",
    "ELEVENLABS_SAMPLE_RATES",
    "ElevenLabsContext",
    "ElevenLabsOptions",
    "elevenlabs_close_socket",
    "elevenlabs_url",
    "parse_elevenlabs_message",
]

ELEVENLABS_API_URL = "wss://api.elevenlabs.io/v1"
ELEVENLABS_SAMPLE_RATES = frozenset({8000, 16000, 22050, 24000, 44100, 48000})
_NORMALIZATION = frozenset({"auto", "on", "off"})


@dataclass(frozen=True, slots=True)
class ElevenLabsOptions:
    """One voice's synthesis settings (ElevenLabs' names).

    ``sample_rate`` picks the raw PCM ``output_format`` (``pcm_<rate>``).
    ``voice_settings`` (``stability``, ``similarity_boost``, ``style``, ``speed``,
    ``use_speaker_boost``) and ``chunk_length_schedule`` (each 50..500; None: the
    server's default) go into each utterance's first message. ``flush_sentences``
    flushes at each sentence end (see :class:`~._tts_text.WordChunker`), so audio
    starts after the first sentence rather than after the schedule's first chunk.
    ``inactivity_timeout`` (seconds, at most 180) is how long the server keeps an
    idle context or connection.
    """

    voice_id: str = "21m00Tcm4TlvDq8ikWAM"
    model_id: str = "eleven_flash_v2_5"
    sample_rate: int = 24000
    language_code: str | None = None
    voice_settings: Mapping[str, float | bool] = field(default_factory=dict)
    chunk_length_schedule: tuple[int, ...] | None = None
    flush_sentences: bool = True
    auto_mode: bool = False
    apply_text_normalization: str = "auto"
    inactivity_timeout: int = 60
    enable_logging: bool = True

    def __post_init__(self) -> None:
        if self.sample_rate not in ELEVENLABS_SAMPLE_RATES:
            rates = ", ".join(str(r) for r in sorted(ELEVENLABS_SAMPLE_RATES))
            raise ConfigurationError(f"ElevenLabsOptions.sample_rate must be one of {rates}")
        if not self.voice_id or not self.model_id:
            raise ConfigurationError("ElevenLabsOptions needs a voice_id and a model_id")
        schedule = self.chunk_length_schedule
        if schedule is not None and (not schedule or not all(50 <= n <= 500 for n in schedule)):
            raise ConfigurationError(
                "ElevenLabsOptions.chunk_length_schedule: a non-empty tuple of 50..500"
            )
        if self.apply_text_normalization not in _NORMALIZATION:
            raise ConfigurationError(
                "ElevenLabsOptions.apply_text_normalization is 'auto', 'on' or 'off'"
            )
        if not 1 <= self.inactivity_timeout <= 180:
            raise ConfigurationError("ElevenLabsOptions.inactivity_timeout is 1..180 seconds")

    @property
    def output_format(self) -> str:
        return f"pcm_{self.sample_rate}"

    def query(self) -> list[tuple[str, str]]:
        """The connection's query pairs, in a stable order (never the key)."""
        flag_text = {True: "true", False: "false"}
        pairs = [
            ("model_id", self.model_id),
            ("output_format", self.output_format),
            ("sync_alignment", "true"),
            ("inactivity_timeout", str(self.inactivity_timeout)),
            ("auto_mode", flag_text[self.auto_mode]),
            ("apply_text_normalization", self.apply_text_normalization),
            ("enable_logging", flag_text[self.enable_logging]),
        ]
        if self.language_code:
            pairs.append(("language_code", self.language_code))
        return pairs


def elevenlabs_url(
    options: ElevenLabsOptions, *, base_url: str = ELEVENLABS_API_URL, multi: bool = False
) -> str:
    """The websocket URL: ``stream-input`` (one utterance) or ``multi-stream-input``."""
    base = websocket_base(base_url, "ElevenLabs")
    path = "multi-stream-input" if multi else "stream-input"
    voice = quote(options.voice_id, safe="")
    return f"{base}/text-to-speech/{voice}/{path}?{urlencode(options.query())}"


def elevenlabs_close_socket() -> str:
    """multi-stream-input: flush every context and close the connection."""
    return '{"close_socket": true}'


class ElevenLabsContext:
    """One utterance's messages; ``context_id`` None: the ``stream-input`` protocol."""

    __slots__ = ("_options", "context_id", "machine")

    def __init__(self, options: ElevenLabsOptions, context_id: str | None = None) -> None:
        self._options = options
        self.context_id = context_id
        self.machine = TTSContextMachine()

    def _message(self, body: dict[str, Any]) -> str:
        if self.context_id is not None:
            body["context_id"] = self.context_id
        return json.dumps(body)

    def open(self) -> list[str]:
        """The utterance's first message (a single space, with its settings)."""
        self.machine.step("open")
        body: dict[str, Any] = {"text": " "}
        if self._options.voice_settings:
            body["voice_settings"] = dict(self._options.voice_settings)
        if self._options.chunk_length_schedule is not None:
            schedule = list(self._options.chunk_length_schedule)
            body["generation_config"] = {"chunk_length_schedule": schedule}
        return [self._message(body)]

    def text(self, piece: TextPiece) -> list[str]:
        self.machine.step("text")
        if not piece.text:
            return []
        body: dict[str, Any] = {"text": piece.text}
        if piece.flush:
            body["flush"] = True
        return [self._message(body)]

    def end(self, rest: str) -> list[str]:
        """The end of input, with the text held back until now."""
        self.machine.step("end")
        if self.context_id is None:
            messages = [self._message({"text": rest, "flush": True})] if rest else []
            return [*messages, self._message({"text": ""})]
        return [
            self._message({"text": rest, "flush": True}),
            self._message({"close_context": True}),
        ]

    def cancel(self) -> list[str]:
        """Stop now: ``close_context`` (multi), or nothing -- close the socket.

        A ``close_context`` lets a flush already asked for finish, so the cancel
        first sends an empty, unflushed text (ElevenLabs' keep-alive, ignored): the
        close never directly follows a flush, whatever was pushed last."""
        self.machine.step("cancel")
        if self.context_id is None:
            return []
        return [self._message({"text": ""}), self._message({"close_context": True})]

    def done(self) -> bool:
        """``isFinal`` arrived; True when it was the end we asked for."""
        return self.machine.done()


def parse_elevenlabs_message(message: str | bytes) -> TTSServerEvent:
    """One server message; RemoteProtocolError if malformed."""
    body = json_object("elevenlabs", message)
    try:
        return _parse(body)
    except FIELD_ERRORS as exc:
        what = "a message with malformed fields"
        raise malformed("elevenlabs", what, message) from exc


def _parse(body: dict[str, Any]) -> TTSServerEvent:
    context_id = optional_text(body.get("contextId", body.get("context_id")))
    if body.get("error") is not None:
        code = body.get("code")
        status = int(code) if isinstance(code, int) and not isinstance(code, bool) else None
        error = body["error"]
        return TTSErrorReported(context_id, status, error if isinstance(error, str) else None, body)
    audio = optional_text(body.get("audio"))
    final = body.get("isFinal", body.get("is_final"))
    if final is not None and flag(final):
        if audio:
            raise ValueError("audio in a final message")
        return TTSContextDone(context_id)
    if audio is None:
        return TTSMessageIgnored(context_id, str(body.get("type", "unknown")))
    pcm = base64.b64decode(audio, validate=True)
    alignment = body.get("alignment") or body.get("normalizedAlignment")
    return TTSAudioReceived(context_id, pcm, _alignment(alignment))


def _alignment(alignment: object) -> tuple[CharTiming, ...]:
    if alignment is None:
        return ()
    if not isinstance(alignment, dict):
        raise TypeError("alignment")
    chars = alignment.get("chars") or []
    starts = alignment.get("charStartTimesMs", alignment.get("charsStartTimesMs")) or []
    durations = alignment.get("charDurationsMs", alignment.get("charsDurationsMs")) or []
    if not all(isinstance(x, list) for x in (chars, starts, durations)):
        raise TypeError("alignment lists")
    if not len(chars) == len(starts) == len(durations):
        raise ValueError("alignment lists of different lengths")
    timings = []
    for char, start, duration in zip(chars, starts, durations, strict=True):
        if not isinstance(char, str):
            raise TypeError("char")
        begin = number(start) / 1000
        timings.append(CharTiming(char, begin, begin + number(duration) / 1000))
    return tuple(timings)
