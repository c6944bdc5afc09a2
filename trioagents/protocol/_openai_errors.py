"""Reading OpenAI-compatible error responses, sans-I/O.

Two questions every provider asks of a failed response, answered here once:

* :func:`is_content_filter` -- was this a moderation refusal? Azure OpenAI
  answers 400 with ``error.code == "content_filter"`` (and an ``innererror``
  ``ResponsibleAIPolicyViolation``); OpenAI's moderation-style refusals use
  ``content_policy_violation`` / ``moderation_blocked``; a 200 stream can also end
  with ``finish_reason == "content_filter"``. Only codes are read, never message
  text: wording changes, codes are the contract.
* :func:`retry_after_seconds` -- how long did the server ask us to wait? Reads
  ``retry-after-ms`` (OpenAI), then ``Retry-After`` as delta-seconds or as an
  HTTP-date. A date is measured against the response's own ``Date`` header, so no
  wall clock is needed (library code reads only Trio's clock); a date without a
  ``Date`` header is ignored rather than guessed.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["is_content_filter", "parse_error_body", "retry_after_seconds"]

_FILTER_CODES = frozenset(
    {
        "content_filter",
        "content_policy_violation",
        "moderation_blocked",
        "responsibleaipolicyviolation",
    }
)


def parse_error_body(raw: bytes) -> Any:
    """The JSON value of an error body, or the text itself when it is not JSON."""
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def is_content_filter(body: object) -> bool:
    """True when ``body`` (a parsed error response or in-stream error) is a moderation refusal."""
    if not isinstance(body, dict):
        return False
    error = body.get("error", body)
    if not isinstance(error, dict):
        return False
    codes = [error.get("code"), error.get("type")]
    inner = error.get("innererror")
    if isinstance(inner, dict):
        codes.append(inner.get("code"))
        if isinstance(inner.get("content_filter_result"), dict):
            codes.append("content_filter")
    return any(isinstance(code, str) and code.lower() in _FILTER_CODES for code in codes)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The server's requested delay in seconds (never negative), or None if absent/garbled.

    ``headers`` must be case-insensitive (httpx and h11 headers are) or lower-cased.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        return float(int(raw))
    return _date_delta(raw, headers.get("date"))


def _date_delta(target: str, reference: str | None) -> float | None:
    if reference is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(target)
        now = email.utils.parsedate_to_datetime(reference)
        return max(0.0, (when - now).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None
