"""OpenAI Realtime server events: what the client acts on, as frozen dataclasses.

Parsed from the wire by :func:`~._openai_realtime_parse.parse_realtime_event`.
Only the fields the client acts on are kept; an error's or a session's whole body
stays in ``body`` (never in a message: it may quote user content). Audio is
decoded: ``pcm`` is signed 16-bit little-endian mono.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = [
    "RealtimeAudioDelta",
    "RealtimeAudioDone",
    "RealtimeErrorReported",
    "RealtimeEvent",
    "RealtimeEventIgnored",
    "RealtimeFunctionArgumentsDelta",
    "RealtimeFunctionCallDone",
    "RealtimeInputCleared",
    "RealtimeInputCommitted",
    "RealtimeInputTranscribed",
    "RealtimeInputTranscriptDelta",
    "RealtimeInputTranscriptionFailed",
    "RealtimeItemAdded",
    "RealtimeItemDeleted",
    "RealtimeItemTruncated",
    "RealtimeOutputItemAdded",
    "RealtimeOutputItemDone",
    "RealtimeRateLimitsUpdated",
    "RealtimeResponseCreated",
    "RealtimeResponseDone",
    "RealtimeSessionCreated",
    "RealtimeSessionUpdated",
    "RealtimeSpeechStarted",
    "RealtimeSpeechStopped",
    "RealtimeTextDelta",
    "RealtimeTranscriptDelta",
    "RealtimeTranscriptDone",
    "RealtimeUsage",
]


# --------------------------------------------------------------------- session, input


@dataclass(frozen=True, slots=True)
class RealtimeSessionCreated:
    body: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RealtimeSessionUpdated:
    body: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RealtimeSpeechStarted:
    """``input_audio_buffer.speech_started``: ms into the audio sent on this connection."""

    item_id: str
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class RealtimeSpeechStopped:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class RealtimeInputCommitted:
    """The buffer became user item ``item_id`` (after ``previous_item_id``)."""

    item_id: str
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class RealtimeInputCleared:
    pass


@dataclass(frozen=True, slots=True)
class RealtimeInputTranscriptDelta:
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class RealtimeInputTranscribed:
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class RealtimeInputTranscriptionFailed:
    item_id: str
    body: dict[str, Any] = field(compare=False, repr=False)


# --------------------------------------------------------------------- conversation


@dataclass(frozen=True, slots=True)
class RealtimeItemAdded:
    """An item is in the conversation (``kind``: message, function_call, ...).

    ``call_id`` for function calls and outputs; ``role`` for messages.
    """

    item_id: str
    kind: str
    role: str | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class RealtimeItemTruncated:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class RealtimeItemDeleted:
    item_id: str


# --------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True)
class RealtimeUsage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class RealtimeResponseCreated:
    response_id: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RealtimeOutputItemAdded:
    response_id: str
    item_id: str
    kind: str
    call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RealtimeOutputItemDone:
    response_id: str
    item_id: str
    kind: str
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None


@dataclass(frozen=True, slots=True)
class RealtimeAudioDelta:
    """Decoded audio: signed 16-bit little-endian mono PCM (``pcm``)."""

    response_id: str
    item_id: str
    pcm: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class RealtimeAudioDone:
    response_id: str
    item_id: str


@dataclass(frozen=True, slots=True)
class RealtimeTranscriptDelta:
    """What the audio says, as it is generated (``output_audio_transcript``)."""

    response_id: str
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class RealtimeTranscriptDone:
    response_id: str
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class RealtimeTextDelta:
    """Text output (a text-only response, ``output_modalities: ["text"]``)."""

    response_id: str
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class RealtimeFunctionArgumentsDelta:
    response_id: str
    item_id: str
    call_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class RealtimeFunctionCallDone:
    """The call's complete ``arguments`` (JSON text, validated by the tool layer)."""

    response_id: str
    item_id: str
    call_id: str
    arguments: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RealtimeResponseDone:
    """``status``: completed, cancelled, failed or incomplete."""

    response_id: str
    status: str
    usage: RealtimeUsage | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    status_details: dict[str, Any] | None = field(default=None, compare=False, repr=False)


# --------------------------------------------------------------------- other


@dataclass(frozen=True, slots=True)
class RealtimeErrorReported:
    """An ``error`` event. ``event_id``: the client event that caused it, if any.

    ``type`` is e.g. ``invalid_request_error`` or ``server_error``; the server's
    message stays in ``body``.
    """

    type: str
    code: str | None
    event_id: str | None
    body: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RealtimeRateLimitsUpdated:
    """``(name, remaining, reset_seconds)`` per limit."""

    limits: tuple[tuple[str, float, float], ...]


@dataclass(frozen=True, slots=True)
class RealtimeEventIgnored:
    """A server event of a type this client does not know (``type`` as sent)."""

    type: str


RealtimeEvent: TypeAlias = (
    RealtimeSessionCreated
    | RealtimeSessionUpdated
    | RealtimeSpeechStarted
    | RealtimeSpeechStopped
    | RealtimeInputCommitted
    | RealtimeInputCleared
    | RealtimeInputTranscriptDelta
    | RealtimeInputTranscribed
    | RealtimeInputTranscriptionFailed
    | RealtimeItemAdded
    | RealtimeItemTruncated
    | RealtimeItemDeleted
    | RealtimeResponseCreated
    | RealtimeOutputItemAdded
    | RealtimeOutputItemDone
    | RealtimeAudioDelta
    | RealtimeAudioDone
    | RealtimeTranscriptDelta
    | RealtimeTranscriptDone
    | RealtimeTextDelta
    | RealtimeFunctionArgumentsDelta
    | RealtimeFunctionCallDone
    | RealtimeResponseDone
    | RealtimeErrorReported
    | RealtimeRateLimitsUpdated
    | RealtimeEventIgnored
)
