"""Strict readers for the JSON text messages of provider websockets, sans-I/O.

Shared by the Deepgram and OpenAI realtime transcription cores: a message is one
JSON object (NaN and Infinity refused, deep nesting refused), and a field of a
known message is read with a checked type, so that a server's mistake is a
:class:`~trioagents.core.RemoteProtocolError` (with at most
:data:`MAX_PAYLOAD_KEPT` characters of the message in ``payload``, never in the
text) and never a ``KeyError`` leaking out of a parser.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..core import RemoteProtocolError

__all__ = [
    "FIELD_ERRORS",
    "MAX_PAYLOAD_KEPT",
    "flag",
    "json_object",
    "malformed",
    "number",
    "optional_text",
    "text",
]

MAX_PAYLOAD_KEPT = 4096
FIELD_ERRORS = (TypeError, ValueError, KeyError, IndexError, OverflowError)
"""What a field reader raises; a core turns them into :func:`malformed`."""


def malformed(prefix: str, what: str, message: str | bytes) -> RemoteProtocolError:
    """``prefix: what``, with the start of the message as the payload."""
    if isinstance(message, str):
        message = message[:MAX_PAYLOAD_KEPT].encode("utf-8", "replace")
    return RemoteProtocolError(f"{prefix}: {what}", payload=message[:MAX_PAYLOAD_KEPT])


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def json_object(prefix: str, message: str | bytes) -> dict[str, Any]:
    """One text message as a JSON object; RemoteProtocolError otherwise."""
    if not isinstance(message, str):
        raise malformed(prefix, "expected a text message, got binary", message)
    try:
        value = json.loads(message, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise malformed(prefix, "a message that is not JSON", message) from exc
    if not isinstance(value, dict):
        raise malformed(prefix, "a message that is not a JSON object", message)
    return value


def number(value: object) -> float:
    """A finite, non-negative JSON number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("number")
    result = float(value)
    if not math.isfinite(result) or result < 0:
        raise ValueError("number out of range")
    return result


def flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("flag")
    return value


def text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("text")
    return value


def optional_text(value: object) -> str | None:
    """A string or null (a missing field reads as null)."""
    return None if value is None else text(value)
