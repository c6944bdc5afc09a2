"""OpenAI Realtime server events, parsed sans-I/O.

:func:`parse_realtime_event` turns one text websocket message into one frozen
event (:mod:`._openai_realtime_events`), or raises
:class:`~trioagents.core.RemoteProtocolError` (a binary frame, text that is not a
JSON object, a message without a string ``type``, a known type whose fields have
the wrong type, audio that is not base64 of whole 16-bit samples). A type this
parser does not know is :class:`RealtimeEventIgnored`, so a server that grows new
events does not break old clients.

Names are the GA ones (``response.output_audio.delta``,
``response.output_audio_transcript.delta``, ``response.output_text.delta``,
``conversation.item.added``/``.done``); the beta names (``response.audio.delta``,
``response.audio_transcript.delta``, ``response.text.delta``,
``conversation.item.created``) parse to the same events, so one client speaks to
both servers.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from typing import Any

from ._json_messages import FIELD_ERRORS, json_object, malformed, optional_text, text
from ._openai_realtime_events import (
    RealtimeAudioDelta,
    RealtimeAudioDone,
    RealtimeErrorReported,
    RealtimeEvent,
    RealtimeEventIgnored,
    RealtimeFunctionArgumentsDelta,
    RealtimeFunctionCallDone,
    RealtimeInputCleared,
    RealtimeInputCommitted,
    RealtimeInputTranscribed,
    RealtimeInputTranscriptDelta,
    RealtimeInputTranscriptionFailed,
    RealtimeItemAdded,
    RealtimeItemDeleted,
    RealtimeItemTruncated,
    RealtimeOutputItemAdded,
    RealtimeOutputItemDone,
    RealtimeRateLimitsUpdated,
    RealtimeResponseCreated,
    RealtimeResponseDone,
    RealtimeSessionCreated,
    RealtimeSessionUpdated,
    RealtimeSpeechStarted,
    RealtimeSpeechStopped,
    RealtimeTextDelta,
    RealtimeTranscriptDelta,
    RealtimeTranscriptDone,
    RealtimeUsage,
)

__all__ = ["parse_realtime_event"]

_PREFIX = "openai realtime"
_FIELD_ERRORS = (*FIELD_ERRORS, binascii.Error)


def parse_realtime_event(message: str | bytes) -> RealtimeEvent:
    """One server message as an event; RemoteProtocolError if malformed."""
    body = json_object(_PREFIX, message)
    kind = body.get("type")
    if not isinstance(kind, str):
        raise malformed(_PREFIX, "an event without a string 'type'", message)
    parser = _PARSERS.get(kind)
    if parser is None:
        return RealtimeEventIgnored(kind)
    try:
        return parser(body)
    except _FIELD_ERRORS as exc:
        raise malformed(_PREFIX, f"a {kind} event with malformed fields", message) from exc


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("number")
    if not math.isfinite(value) or value < 0:
        raise ValueError("number out of range")
    return int(value)


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("object")
    return value


def _metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    mapping = _object(value)
    return {text(k): text(v) for k, v in mapping.items()}


def _pcm(value: object) -> bytes:
    pcm = base64.b64decode(text(value), validate=True)
    if len(pcm) % 2:
        raise ValueError("audio must hold whole 16-bit samples")
    return pcm


def _item(body: dict[str, Any]) -> dict[str, Any]:
    return _object(body["item"])


def _item_added(body: dict[str, Any]) -> RealtimeItemAdded:
    item = _item(body)
    return RealtimeItemAdded(
        text(item["id"]),
        text(item.get("type", "message")),
        optional_text(item.get("role")),
        optional_text(item.get("call_id")),
    )


def _output_item(
    body: dict[str, Any], done: bool
) -> RealtimeOutputItemAdded | RealtimeOutputItemDone:
    item = _item(body)
    common = (
        text(body.get("response_id", "")),
        text(item["id"]),
        text(item.get("type", "message")),
        optional_text(item.get("call_id")),
        optional_text(item.get("name")),
    )
    if not done:
        return RealtimeOutputItemAdded(*common)
    return RealtimeOutputItemDone(*common, optional_text(item.get("arguments")))


def _response(body: dict[str, Any]) -> dict[str, Any]:
    return _object(body["response"])


def _response_done(body: dict[str, Any]) -> RealtimeResponseDone:
    response = _response(body)
    usage = response.get("usage")
    parsed = None
    if usage is not None:
        usage = _object(usage)
        parsed = RealtimeUsage(
            _count(usage.get("input_tokens", 0)), _count(usage.get("output_tokens", 0))
        )
    details = response.get("status_details")
    return RealtimeResponseDone(
        text(response["id"]),
        text(response.get("status", "completed")),
        parsed,
        _metadata(response.get("metadata")),
        None if details is None else _object(details),
    )


def _error(body: dict[str, Any]) -> RealtimeErrorReported:
    error = _object(body["error"])
    return RealtimeErrorReported(
        text(error.get("type", "error")),
        optional_text(error.get("code")),
        optional_text(error.get("event_id")),
        body,
    )


def _rate_limits(body: dict[str, Any]) -> RealtimeRateLimitsUpdated:
    limits = body.get("rate_limits", [])
    if not isinstance(limits, list):
        raise TypeError("rate_limits")
    parsed = []
    for entry in limits:
        entry = _object(entry)
        remaining = float(_count(entry.get("remaining", 0)))
        reset = entry.get("reset_seconds", 0.0)
        if isinstance(reset, bool) or not isinstance(reset, int | float) or reset < 0:
            raise ValueError("reset_seconds")
        if not math.isfinite(reset):
            raise ValueError("reset_seconds")
        parsed.append((text(entry.get("name", "")), remaining, float(reset)))
    return RealtimeRateLimitsUpdated(tuple(parsed))


def _ids(body: dict[str, Any]) -> tuple[str, str]:
    return text(body.get("response_id", "")), text(body["item_id"])


_Parser = Callable[[dict[str, Any]], RealtimeEvent]


def _audio_delta(body: dict[str, Any]) -> RealtimeEvent:
    return RealtimeAudioDelta(*_ids(body), _pcm(body["delta"]))


def _audio_done(body: dict[str, Any]) -> RealtimeEvent:
    return RealtimeAudioDone(*_ids(body))


def _transcript_delta(body: dict[str, Any]) -> RealtimeEvent:
    return RealtimeTranscriptDelta(*_ids(body), text(body["delta"]))


def _transcript_done(body: dict[str, Any]) -> RealtimeEvent:
    return RealtimeTranscriptDone(*_ids(body), text(body.get("transcript", "")))


def _text_delta(body: dict[str, Any]) -> RealtimeEvent:
    return RealtimeTextDelta(*_ids(body), text(body["delta"]))


_PARSERS: dict[str, _Parser] = {
    "session.created": lambda b: RealtimeSessionCreated(_object(b["session"])),
    "session.updated": lambda b: RealtimeSessionUpdated(_object(b["session"])),
    "input_audio_buffer.speech_started": lambda b: RealtimeSpeechStarted(
        text(b.get("item_id", "")), _count(b.get("audio_start_ms", 0))
    ),
    "input_audio_buffer.speech_stopped": lambda b: RealtimeSpeechStopped(
        text(b.get("item_id", "")), _count(b.get("audio_end_ms", 0))
    ),
    "input_audio_buffer.committed": lambda b: RealtimeInputCommitted(
        text(b["item_id"]), optional_text(b.get("previous_item_id"))
    ),
    "input_audio_buffer.cleared": lambda b: RealtimeInputCleared(),
    "conversation.item.input_audio_transcription.delta": lambda b: RealtimeInputTranscriptDelta(
        text(b["item_id"]), text(b.get("delta", ""))
    ),
    "conversation.item.input_audio_transcription.completed": lambda b: RealtimeInputTranscribed(
        text(b["item_id"]), text(b.get("transcript", ""))
    ),
    "conversation.item.input_audio_transcription.failed": lambda b: (
        RealtimeInputTranscriptionFailed(text(b["item_id"]), b)
    ),
    "conversation.item.added": _item_added,
    "conversation.item.created": _item_added,  # beta
    "conversation.item.done": _item_added,
    "conversation.item.truncated": lambda b: RealtimeItemTruncated(
        text(b["item_id"]), _count(b.get("audio_end_ms", 0))
    ),
    "conversation.item.deleted": lambda b: RealtimeItemDeleted(text(b["item_id"])),
    "response.created": lambda b: RealtimeResponseCreated(
        text(_response(b)["id"]), _metadata(_response(b).get("metadata"))
    ),
    "response.output_item.added": lambda b: _output_item(b, done=False),
    "response.output_item.done": lambda b: _output_item(b, done=True),
    "response.output_audio.delta": _audio_delta,
    "response.audio.delta": _audio_delta,  # beta
    "response.output_audio.done": _audio_done,
    "response.audio.done": _audio_done,  # beta
    "response.output_audio_transcript.delta": _transcript_delta,
    "response.audio_transcript.delta": _transcript_delta,  # beta
    "response.output_audio_transcript.done": _transcript_done,
    "response.audio_transcript.done": _transcript_done,  # beta
    "response.output_text.delta": _text_delta,
    "response.text.delta": _text_delta,  # beta
    "response.function_call_arguments.delta": lambda b: RealtimeFunctionArgumentsDelta(
        *_ids(b), text(b.get("call_id", "")), text(b["delta"])
    ),
    "response.function_call_arguments.done": lambda b: RealtimeFunctionCallDone(
        *_ids(b), text(b["call_id"]), text(b["arguments"]), optional_text(b.get("name"))
    ),
    "response.done": _response_done,
    "error": _error,
    "rate_limits.updated": _rate_limits,
}
