"""OpenAI realtime transcription failures as provider errors (the table in
:mod:`._realtime_transcription_stt`).

The HTTP family's policy (:mod:`._http`), read from what the realtime server says
instead of a status: a refused upgrade is mapped by
:func:`~._ws_connect.connect_error`; in-band, an ``error`` event or a failed
item is a :class:`ProviderStatusError` whose status is chosen from ``error.type``
and ``error.code`` -- ``invalid_api_key`` is 401 and ``invalid_request_error`` 400
(the same request fails again: not retried; a fallback group still fails over),
``rate_limit_exceeded`` 429, anything else (``server_error``) 500 (retried). OpenAI
refuses a bad key *after* the upgrade (the error event, then close code 3000 with
reason ``invalid_request_error.invalid_api_key``), so a close reason is read the
same way; any other close before the end is a retryable
:class:`ProviderConnectionError`. Messages name the provider and the status, never
the key or the server's text (which goes in ``body``).
"""

from __future__ import annotations

from typing import Any

from ..core import ProviderConnectionError, ProviderError, ProviderStatusError
from ..protocol import TranscriptionClosed, TranscriptionErrorReported, TranscriptionFailed

__all__ = ["closed_error", "failed_error", "reported_error"]


def _status(kind: str | None, code: str | None) -> int:
    if code == "invalid_api_key":
        return 401
    if code == "rate_limit_exceeded" or kind in ("rate_limit_error", "rate_limit_exceeded"):
        return 429
    if kind == "invalid_request_error":
        return 400
    return 500


def _error(what: str, status: int, provider: str, body: Any) -> ProviderStatusError:
    return ProviderStatusError(
        f"{provider}: {what} (as HTTP {status})", provider=provider, status=status, body=body
    )


def reported_error(event: TranscriptionErrorReported, provider: str) -> ProviderError:
    """An ``error`` event (other than the commit-empty answer, which is no error)."""
    return _error("error event", _status(event.kind, event.code), provider, event.body)


def failed_error(event: TranscriptionFailed, provider: str) -> ProviderError:
    """An item whose transcription failed: its words would be lost, so the stream
    fails and a recovering wrapper replays the audio since the last final."""
    return _error("transcription failed", _status(event.kind, event.code), provider, event.body)


def closed_error(closed: TranscriptionClosed, provider: str) -> ProviderError:
    """The socket closed before the session was finished."""
    body = {"code": closed.code, "reason": closed.reason}
    kind, _, code = (closed.reason or "").partition(".")
    if kind == "invalid_request_error":
        return _error(f"closed (close code {closed.code})", _status(kind, code), provider, body)
    return ProviderConnectionError(
        f"{provider}: websocket closed mid-stream (close code {closed.code})",
        provider=provider,
        body=body,
    )
