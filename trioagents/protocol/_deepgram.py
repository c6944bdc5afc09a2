"""Deepgram live transcription (``/v1/listen`` over a websocket), sans-I/O.

The wire protocol, as Deepgram documents it:

* the client opens ``wss://api.deepgram.com/v1/listen?<options>`` with
  ``Authorization: Token <key>``; a refused upgrade is an HTTP status (401 bad
  key, 403, 429 too many streams, 5xx);
* client -> server: *binary* frames of raw audio (``encoding=linear16``: signed
  16-bit little-endian, ``sample_rate``, ``channels`` interleaved) and *text*
  frames holding one JSON control message: ``{"type": "KeepAlive"}`` (keeps an
  idle stream open: the server closes one that heard nothing for 10 s with
  ``NET-0001``), ``{"type": "Finalize"}`` (flush: transcribe what is buffered now,
  answered by a final result with ``from_finalize``) and ``{"type": "CloseStream"}``
  (flush, send a summary ``Metadata``, close);
* server -> client: text JSON frames, ``type`` one of ``Results`` (a transcript
  of ``channel.alternatives[0]``, with ``is_final`` -- this span of audio will not
  be revised -- and ``speech_final`` -- endpointing saw the speaker stop --,
  covering ``start`` .. ``start + duration`` seconds of the stream's audio),
  ``SpeechStarted`` (``vad_events``), ``UtteranceEnd`` (``utterance_end_ms``),
  ``Metadata`` and ``Error``;
* errors after the upgrade close the socket with a code and a reason such as
  ``DATA-0000`` (the bytes are not audio of the declared encoding) or
  ``NET-0000`` / ``NET-0001`` (a timeout on either side).

:class:`DeepgramProtocol` is the client's state machine; its transitions are the
table :data:`DEEPGRAM_TRANSITIONS`:

===========  ==============================  ===================  ====================
state        audio / KeepAlive / Finalize    CloseStream          socket closed
===========  ==============================  ===================  ====================
STREAMING    allowed                         -> CLOSING           -> CLOSED (early)
CLOSING      LocalProtocolError              LocalProtocolError   -> CLOSED (expected
                                                                  after a 1000 close
                                                                  or the Metadata)
CLOSED       LocalProtocolError              LocalProtocolError   stays CLOSED
===========  ==============================  ===================  ====================

:meth:`DeepgramProtocol.receive` turns one server message into one event and
raises :class:`~trioagents.core.RemoteProtocolError` for anything malformed (a
binary frame, bad JSON, a known type with fields of the wrong type); an unknown
``type`` is returned as :class:`DeepgramMessageIgnored`, so a server that grows a
new message type does not break old clients. Rejected alternative: Deepgram's own
SDK types (a dependency for ~100 lines of parsing, and their error paths are not
ours to fuzz).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlencode, urlsplit

from ..core import ConfigurationError, LocalProtocolError
from ._json_messages import FIELD_ERRORS, flag, json_object, malformed, number, text

__all__ = [
    "DEEPGRAM_LISTEN_URL",
    "DEEPGRAM_TRANSITIONS",
    "DeepgramClosed",
    "DeepgramErrorReported",
    "DeepgramEvent",
    "DeepgramMessageIgnored",
    "DeepgramMetadataReceived",
    "DeepgramOptions",
    "DeepgramProtocol",
    "DeepgramSpeechStarted",
    "DeepgramState",
    "DeepgramTranscribed",
    "DeepgramUtteranceEnded",
    "listen_url",
]

DEEPGRAM_LISTEN_URL = "wss://api.deepgram.com/v1/listen"
_NAMED_PARAMETERS = frozenset(
    {
        "model",
        "language",
        "encoding",
        "sample_rate",
        "channels",
        "interim_results",
        "endpointing",
        "vad_events",
        "smart_format",
        "punctuate",
        "filler_words",
        "no_delay",
        "profanity_filter",
        "utterance_end_ms",
        "keyterm",
    }
)


@dataclass(frozen=True, slots=True)
class DeepgramOptions:
    """The query parameters of one ``/v1/listen`` stream (Deepgram's names).

    ``endpointing_ms``: silence that ends an utterance (``speech_final``); None
    sends ``endpointing=false``. ``utterance_end_ms`` (None: off) needs
    ``interim_results``. ``keyterms`` are Nova-3 key terms (one ``keyterm`` each);
    ``extra`` adds any other documented parameter verbatim.
    """

    model: str = "nova-3"
    language: str = "en-US"
    sample_rate: int = 16000
    channels: int = 1
    interim_results: bool = True
    endpointing_ms: int | None = 25
    utterance_end_ms: int | None = None
    vad_events: bool = True
    smart_format: bool = False
    punctuate: bool = True
    filler_words: bool = False
    no_delay: bool = True
    profanity_filter: bool = False
    keyterms: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 8000 <= self.sample_rate <= 96000 or not 1 <= self.channels <= 8:
            raise ConfigurationError(
                "DeepgramOptions: sample_rate must be 8000..96000 and channels 1..8"
            )
        for name, value in (
            ("endpointing_ms", self.endpointing_ms),
            ("utterance_end_ms", self.utterance_end_ms),
        ):
            if value is not None and value <= 0:
                raise ConfigurationError(f"DeepgramOptions.{name} must be positive or None")
        if self.utterance_end_ms is not None and not self.interim_results:
            raise ConfigurationError(
                "DeepgramOptions: utterance_end_ms needs interim_results=True (Deepgram "
                "detects the gap from interim results)"
            )
        if isinstance(self.keyterms, str):
            raise ConfigurationError("DeepgramOptions.keyterms is a tuple of strings, not a str")
        clash = sorted(_NAMED_PARAMETERS & set(self.extra))
        if clash:
            raise ConfigurationError(
                f"DeepgramOptions.extra repeats {clash}: set them as DeepgramOptions fields"
            )

    def query(self, language: str | None = None) -> list[tuple[str, str]]:
        """The query pairs, in a stable order (``language`` overrides the option)."""
        flag = {True: "true", False: "false"}
        pairs = [
            ("model", self.model),
            ("language", language or self.language),
            ("encoding", "linear16"),
            ("sample_rate", str(self.sample_rate)),
            ("channels", str(self.channels)),
            ("interim_results", flag[self.interim_results]),
            ("endpointing", "false" if self.endpointing_ms is None else str(self.endpointing_ms)),
            ("vad_events", flag[self.vad_events]),
            ("smart_format", flag[self.smart_format]),
            ("punctuate", flag[self.punctuate]),
            ("filler_words", flag[self.filler_words]),
            ("no_delay", flag[self.no_delay]),
            ("profanity_filter", flag[self.profanity_filter]),
        ]
        if self.utterance_end_ms is not None:
            pairs.append(("utterance_end_ms", str(self.utterance_end_ms)))
        pairs.extend(("keyterm", term) for term in self.keyterms)
        pairs.extend((str(name), str(value)) for name, value in self.extra.items())
        return pairs


def listen_url(
    options: DeepgramOptions,
    *,
    base_url: str = DEEPGRAM_LISTEN_URL,
    language: str | None = None,
) -> str:
    """``base_url`` with the stream's query string (the API key never goes here)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigurationError("the Deepgram listen URL must be ws:// or wss:// with a host")
    if parts.query:
        raise ConfigurationError(
            "the Deepgram listen URL must not carry a query; use DeepgramOptions.extra"
        )
    return f"{base_url}?{urlencode(options.query(language))}"


# --------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class DeepgramTranscribed:
    """A ``Results`` message: the transcript of ``start`` .. ``start + duration``."""

    transcript: str
    is_final: bool
    speech_final: bool
    from_finalize: bool
    start: float
    duration: float
    confidence: float
    language: str | None = None

    @property
    def end(self) -> float:
        """Seconds of the stream's audio this result accounts for."""
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class DeepgramSpeechStarted:
    timestamp: float


@dataclass(frozen=True, slots=True)
class DeepgramUtteranceEnded:
    last_word_end: float


@dataclass(frozen=True, slots=True)
class DeepgramMetadataReceived:
    request_id: str


@dataclass(frozen=True, slots=True)
class DeepgramErrorReported:
    """An ``Error`` message. ``code`` is the first of ``err_code``/``variant`` that is
    set (e.g. ``"DATA-0000"``); ``body`` is the whole message, kept out of any text."""

    code: str | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeepgramMessageIgnored:
    """A message of a type this client does not know (``type`` as sent)."""

    type: str


@dataclass(frozen=True, slots=True)
class DeepgramClosed:
    """The socket closed. ``expected``: after CloseStream, by a 1000 close or after
    the summary Metadata. ``code``/``reason`` as the server sent them."""

    expected: bool
    code: int | None
    reason: str | None

    @property
    def bad_audio(self) -> bool:
        """The server refused the audio itself (``DATA-`` reasons): resending it fails too."""
        return (self.reason or "").startswith("DATA-")


DeepgramEvent: TypeAlias = (
    DeepgramTranscribed
    | DeepgramSpeechStarted
    | DeepgramUtteranceEnded
    | DeepgramMetadataReceived
    | DeepgramErrorReported
    | DeepgramMessageIgnored
)


# --------------------------------------------------------------------- state machine


class DeepgramState(enum.Enum):
    STREAMING = "streaming"
    CLOSING = "closing"  # CloseStream sent: the server flushes, sends Metadata, closes
    CLOSED = "closed"


# (state, input) -> next state; inputs missing from the table are LocalProtocolErrors
DEEPGRAM_TRANSITIONS: dict[tuple[DeepgramState, str], DeepgramState] = {
    (DeepgramState.STREAMING, "audio"): DeepgramState.STREAMING,
    (DeepgramState.STREAMING, "KeepAlive"): DeepgramState.STREAMING,
    (DeepgramState.STREAMING, "Finalize"): DeepgramState.STREAMING,
    (DeepgramState.STREAMING, "CloseStream"): DeepgramState.CLOSING,
    (DeepgramState.STREAMING, "closed"): DeepgramState.CLOSED,
    (DeepgramState.CLOSING, "closed"): DeepgramState.CLOSED,
    (DeepgramState.CLOSED, "closed"): DeepgramState.CLOSED,
}


class DeepgramProtocol:
    """The client side of one stream: builds what to send, parses what arrives."""

    __slots__ = ("_closing_metadata", "_frame_bytes", "state")

    def __init__(self, *, channels: int = 1) -> None:
        self.state = DeepgramState.STREAMING
        self._frame_bytes = 2 * channels
        self._closing_metadata = False

    def _step(self, action: str) -> None:
        target = DEEPGRAM_TRANSITIONS.get((self.state, action))
        if target is None:
            raise LocalProtocolError(f"deepgram: cannot send {action} in state {self.state.value}")
        self.state = target

    def send_audio(self, pcm: bytes) -> bytes:
        """Check one binary frame of linear16 audio (whole samples of every channel)."""
        if len(pcm) % self._frame_bytes:
            raise LocalProtocolError("deepgram: audio must hold whole 16-bit samples per channel")
        self._step("audio")
        return pcm

    def keep_alive(self) -> str:
        self._step("KeepAlive")
        return '{"type": "KeepAlive"}'

    def finalize(self) -> str:
        self._step("Finalize")
        return '{"type": "Finalize"}'

    def close_stream(self) -> str:
        self._step("CloseStream")
        return '{"type": "CloseStream"}'

    def connection_closed(self, code: int | None, reason: str | None) -> DeepgramClosed:
        """The socket is gone; say whether that was the end we asked for."""
        expected = self.state is DeepgramState.CLOSING and (code == 1000 or self._closing_metadata)
        self._step("closed")
        return DeepgramClosed(expected, code, reason)

    def receive(self, message: str | bytes) -> DeepgramEvent:
        """Parse one server message; RemoteProtocolError if malformed."""
        body = json_object("deepgram", message)
        kind = body.get("type")
        if not isinstance(kind, str):
            raise malformed("deepgram", "a message without a string 'type'", message)
        try:
            event = _parse(kind, body)
        except FIELD_ERRORS as exc:
            what = "a known message type with malformed fields"
            raise malformed("deepgram", what, message) from exc
        if isinstance(event, DeepgramMetadataReceived) and self.state is DeepgramState.CLOSING:
            self._closing_metadata = True
        return event


def _parse(kind: str, body: dict[str, Any]) -> DeepgramEvent:
    if kind == "Results":
        return _results(body)
    if kind == "SpeechStarted":
        return DeepgramSpeechStarted(number(body.get("timestamp", 0.0)))
    if kind == "UtteranceEnd":
        return DeepgramUtteranceEnded(number(body.get("last_word_end", 0.0)))
    if kind == "Metadata":
        return DeepgramMetadataReceived(text(body.get("request_id", "")))
    if kind == "Error":
        code = next(
            (body[k] for k in ("err_code", "variant") if isinstance(body.get(k), str)), None
        )
        return DeepgramErrorReported(code, body)
    return DeepgramMessageIgnored(kind)


def _results(body: dict[str, Any]) -> DeepgramTranscribed:
    channel = body["channel"]
    if not isinstance(channel, dict):
        raise TypeError("channel")
    alternatives = channel.get("alternatives", [])
    if not isinstance(alternatives, list):
        raise TypeError("alternatives")
    best = alternatives[0] if alternatives else {"transcript": ""}
    if not isinstance(best, dict):
        raise TypeError("alternative")
    languages = best.get("languages", [])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise TypeError("languages")
    return DeepgramTranscribed(
        transcript=text(best.get("transcript", "")),
        is_final=flag(body.get("is_final", False)),
        speech_final=flag(body.get("speech_final", False)),
        from_finalize=flag(body.get("from_finalize", False)),
        start=number(body.get("start", 0.0)),
        duration=number(body.get("duration", 0.0)),
        confidence=number(best.get("confidence", 1.0)),
        language=languages[0] if languages else None,
    )
