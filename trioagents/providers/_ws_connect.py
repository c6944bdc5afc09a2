"""Opening a provider's websocket, with its failures mapped (the websocket STTs and
TTSs: Deepgram, OpenAI realtime transcription, ElevenLabs, Cartesia).

:func:`open_provider_websocket` bounds TCP connect plus upgrade by
``connect_timeout`` (a :class:`~trioagents.core.ProviderTimeoutError` when it runs
out) and maps a failed connect with :func:`connect_error`: a refused upgrade is a
:class:`~trioagents.core.ProviderStatusError` of its status (401/403 never
retried, 429/5xx retried, with the server's ``Retry-After``), no connection at all
a retryable :class:`~trioagents.core.ProviderConnectionError`. Errors raised by
the block itself pass through untouched: each provider maps its own stream's
failures. Messages name the provider and a status, never the URL's query, a
header or the key; the response body goes in ``body``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import trio

from ..core import (
    ConfigurationError,
    ConnectError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from ..protocol import parse_error_body, retry_after_seconds
from ..transport import WebSocketClient, open_websocket_client

__all__ = ["check_bounds", "connect_error", "header_pairs", "open_provider_websocket"]

_log = logging.getLogger("trioagents.providers.websocket")


def connect_error(exc: ConnectError, provider: str) -> ProviderError:
    """A connect or upgrade failure; the caller raises it ``from exc``.

    The HTTP family's policy: a refused upgrade is a :class:`ProviderStatusError` of
    its status (401/403/400 final, 408/429/5xx retryable with ``Retry-After``); no
    connection at all is a retryable :class:`ProviderConnectionError`.
    """
    if exc.status is None:
        return ProviderConnectionError(f"{provider}: could not connect", provider=provider)
    return ProviderStatusError(
        f"{provider}: websocket upgrade refused (HTTP {exc.status})",
        provider=provider,
        status=exc.status,
        body=parse_error_body(exc.body or b""),
        retry_after=retry_after_seconds(dict(exc.headers)),
    )


def header_pairs(headers: Mapping[str, str], *extra: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    """``headers`` then ``extra`` (auth, version) as the transport wants them."""
    pairs = [*headers.items(), *extra]
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]


def check_bounds(
    owner: str, *, timeouts: Sequence[float | None] = (), positive: Sequence[float] = ()
) -> None:
    """ConfigurationError unless each of ``timeouts`` is positive or None and each of
    ``positive`` is positive."""
    if any(bound is not None and bound <= 0 for bound in timeouts):
        raise ConfigurationError(f"{owner}: timeouts must be positive or None")
    if any(value <= 0 for value in positive):
        raise ConfigurationError(f"{owner}: intervals and graces must be positive")


@asynccontextmanager
async def open_provider_websocket(
    url: str,
    headers: Sequence[tuple[bytes, bytes]],
    *,
    connect_timeout: float | None,
    close_grace: float,
    label: str,
) -> AsyncIterator[WebSocketClient]:
    """The websocket for the block, connect failures mapped (see module docs).

    Leaving the block runs the close handshake (shielded, bounded by
    ``close_grace``), or just drops the socket when the block was cancelled.
    """
    connected = False
    deadline = math.inf if connect_timeout is None else trio.current_time() + connect_timeout
    with trio.CancelScope(deadline=deadline) as connecting:
        try:
            async with open_websocket_client(
                url, extra_headers=headers, close_grace=close_grace
            ) as ws:
                connected = True
                connecting.deadline = math.inf
                _log.debug("%s: websocket open", label)
                yield ws
        except ConnectError as exc:
            if connected:
                raise
            raise connect_error(exc, label) from exc
    if connecting.cancelled_caught:
        raise ProviderTimeoutError(f"{label}: connect timed out", provider=label)
