"""The error tree shared by every layer.

One root, :class:`TrioAgentsError`, and a few families. Each layer translates the
errors of the library beneath it into one of these with ``raise ... from exc``.

Messages never hold user content or secrets: payloads (bodies, transcripts,
tool arguments) travel in attributes so that logging an error is always safe.

Cancellation is never an error here: ``trio.Cancelled`` is not wrapped, never
classified and never retried.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "ConnectError",
    "ConnectionClosedError",
    "ContentFilterError",
    "JobError",
    "LocalProtocolError",
    "ProtocolError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderStatusError",
    "ProviderTimeoutError",
    "RemoteProtocolError",
    "ToolError",
    "TransportError",
    "TrioAgentsError",
]


class TrioAgentsError(Exception):
    """Root of every error raised on purpose by trioagents."""


class ConfigurationError(TrioAgentsError, ValueError):
    """Bad options, raised at construction time; the message says how to fix it."""


class ProtocolError(TrioAgentsError):
    """A peer or the local side broke a wire protocol (h11-style split below)."""


class LocalProtocolError(ProtocolError):
    """We were asked to do something the protocol forbids in the current state."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something malformed or unexpected.

    ``payload`` holds the offending bytes (possibly truncated) for debugging; it is
    never part of the message.
    """

    def __init__(self, message: str, *, payload: bytes | None = None) -> None:
        super().__init__(message)
        self.payload = payload


class TransportError(TrioAgentsError):
    """A connection could not be made or was lost."""


class ConnectError(TransportError):
    """Connecting failed (refused, DNS, TLS, handshake rejected).

    ``status`` is the HTTP status of a rejected upgrade when there was one;
    ``headers`` (names lower-cased) and ``body`` are that response's, for callers
    that read ``Retry-After`` or an error document. Never part of the message.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.body = body


class ConnectionClosedError(TransportError):
    """An established connection was closed; ``code``/``reason`` as the peer sent them."""

    def __init__(self, message: str, *, code: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class ProviderError(TrioAgentsError):
    """A model provider (VAD/STT/LLM/TTS) failed.

    ``retryable`` says whether the same request may succeed if sent again. The retry
    policy reads only this bit; it never inspects messages.

    ``failed_over`` is set by a fallback group that re-raises a member's error after
    part of the output was delivered (a mid-stream failure): the label of the member
    the group switched to, which takes the next request. None otherwise. The voice
    pipeline continues the turn on that member and does not count the error as
    unrecoverable (the group survived it).
    """

    failed_over: str | None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retryable: bool,
        status: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.retryable = retryable
        self.status = status
        self.body = body
        self.failed_over = None


class ProviderConnectionError(ProviderError):
    """The provider could not be reached or the stream broke. Always retryable."""

    def __init__(self, message: str, *, provider: str, body: Any = None) -> None:
        super().__init__(message, provider=provider, retryable=True, body=body)


class ProviderTimeoutError(ProviderConnectionError):
    """The provider did not answer in time (connect, read or stall). Retryable."""


_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


class ProviderStatusError(ProviderError):
    """The provider answered with an error status.

    408, 409, 425, 429 and every 5xx are retryable; any other status is not.
    ``retry_after`` holds the server's ``Retry-After`` hint in seconds, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        retryable = status in _RETRYABLE_STATUS or status >= 500
        super().__init__(message, provider=provider, retryable=retryable, status=status, body=body)
        self.retry_after = retry_after


class ContentFilterError(ProviderStatusError):
    """The provider refused the content (moderation). Never retried, never failed over."""

    def __init__(self, message: str, *, provider: str, status: int = 400, body: Any = None) -> None:
        super().__init__(message, provider=provider, status=status, body=body)
        self.retryable = False


class JobError(TrioAgentsError):
    """A job failed; reported to the server as JS_FAILED with this message."""


class ToolError(TrioAgentsError):
    """Raised by a tool: the message is returned to the LLM as the call's error output."""
