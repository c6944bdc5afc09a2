"""Deepgram failures as provider errors (the table in :mod:`._deepgram_stt`).

The same policy as the HTTP providers (:mod:`._http`); a refused upgrade is mapped
by :func:`~._ws_connect.connect_error` (401/403 never retried, 429/5xx retried,
honouring ``Retry-After``). A connection lost is a retryable
:class:`ProviderConnectionError`; an in-stream ``Error`` is a status-500 error
like an OpenAI in-stream error. Deepgram's ``DATA-`` reasons say the audio itself
was refused: sending it again fails again, so those are not retryable (a fallback
group still fails over). Messages name the provider and a code, never the key or
the server's text; close reasons and error bodies go in ``body``.
"""

from __future__ import annotations

from ..core import ProviderConnectionError, ProviderError, ProviderStatusError
from ..protocol import DeepgramClosed, DeepgramErrorReported

__all__ = ["closed_error", "reported_error"]


def closed_error(closed: DeepgramClosed, provider: str) -> ProviderError:
    """The socket closed before the end we asked for."""
    body = {"code": closed.code, "reason": closed.reason}
    if closed.bad_audio:
        return ProviderError(
            f"{provider}: the server refused the audio (close code {closed.code})",
            provider=provider,
            retryable=False,
            body=body,
        )
    return ProviderConnectionError(
        f"{provider}: websocket closed mid-stream (close code {closed.code})",
        provider=provider,
        body=body,
    )


def reported_error(event: DeepgramErrorReported, provider: str) -> ProviderError:
    """An ``Error`` message from the server."""
    if (event.code or "").startswith("DATA-"):
        return ProviderError(
            f"{provider}: the server refused the audio (error message)",
            provider=provider,
            retryable=False,
            body=event.body,
        )
    return ProviderStatusError(
        f"{provider}: error in stream", provider=provider, status=500, body=event.body
    )
