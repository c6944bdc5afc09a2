"""Streaming TTS failures as provider errors (the table in :mod:`._ws_tts`).

The HTTP family's policy: a refused upgrade is a status error
(:func:`._ws_connect.connect_error`); a socket lost mid-utterance is a retryable
:class:`ProviderConnectionError`, except a close with 1008 (*policy violation*:
ElevenLabs' answer to a bad key or an exhausted quota), which sending again
would only repeat; an error message is a :class:`ProviderStatusError` of the
status the server gave (Cartesia's ``status_code``), 500 when it gave none, so
429/5xx are retried and other 4xx are not; a stall is a retryable
:class:`ProviderTimeoutError`. Messages name the provider and a code; close
reasons and error bodies go in ``body``.
"""

from __future__ import annotations

from ..core import (
    ConnectionClosedError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from ..protocol import TTSErrorReported

__all__ = ["closed_error", "ended_early", "reported_error", "stalled"]

_POLICY_VIOLATION = 1008


def closed_error(exc: ConnectionClosedError, provider: str) -> ProviderError:
    """The socket closed while an utterance was still expecting audio."""
    body = {"code": exc.code, "reason": exc.reason}
    if exc.code == _POLICY_VIOLATION:
        return ProviderError(
            f"{provider}: the server refused the request (close code {exc.code})",
            provider=provider,
            retryable=False,
            body=body,
        )
    return ProviderConnectionError(
        f"{provider}: websocket closed mid-utterance (close code {exc.code})",
        provider=provider,
        body=body,
    )


def reported_error(event: TTSErrorReported, provider: str) -> ProviderError:
    status = event.status if event.status is not None and 400 <= event.status < 600 else 500
    return ProviderStatusError(
        f"{provider}: error in stream (status {status})",
        provider=provider,
        status=status,
        body=event.body,
    )


def ended_early(provider: str) -> ProviderError:
    return ProviderConnectionError(
        f"{provider}: the server ended the utterance before its input ended", provider=provider
    )


def stalled(provider: str, idle_timeout: float | None) -> ProviderTimeoutError:
    return ProviderTimeoutError(
        f"{provider}: no message for {idle_timeout}s (stalled)", provider=provider
    )
