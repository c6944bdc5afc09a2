"""What a user error handler receives and may answer.

The voice session calls an async hook ``handler(ErrorContext) -> ErrorAction | None``
when a provider fails in a way the provider's own retry policy and fallbacks did
not absorb. The returned action says what the session does next; ``None`` means
"apply the default" (a content-filter rejection: say the configured apology and
continue; anything else: skip the turn, counting towards the close threshold).

These are plain data types so that providers (which sit above voice) and the
session agree on them without importing each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from ._chat import ChatContext
from ._errors import ProviderError

__all__ = [
    "EndSession",
    "ErrorAction",
    "ErrorContext",
    "ErrorHandler",
    "ErrorSource",
    "FallBack",
    "RetryRequest",
    "SayMessage",
    "SkipTurn",
    "SupportsFailover",
]

ErrorSource: TypeAlias = Literal["vad", "stt", "llm", "tts"]


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """``consecutive``: unrecoverable errors of this ``source`` in a row, this one included."""

    error: ProviderError
    source: ErrorSource
    agent: str | None
    consecutive: int
    chat_ctx: ChatContext


@dataclass(frozen=True, slots=True)
class RetryRequest:
    """Run the failed step again (once per answer; the handler is asked again on failure)."""


@dataclass(frozen=True, slots=True)
class FallBack:
    """Switch the failed provider to its next fallback, then retry the step."""


@dataclass(frozen=True, slots=True)
class SayMessage:
    """Speak ``text`` (TTS permitting, else publish it as text) and continue listening."""

    text: str


@dataclass(frozen=True, slots=True)
class SkipTurn:
    """Drop this reply and keep listening."""


@dataclass(frozen=True, slots=True)
class EndSession:
    reason: str = "error"


ErrorAction: TypeAlias = RetryRequest | FallBack | SayMessage | SkipTurn | EndSession
ErrorHandler: TypeAlias = Callable[[ErrorContext], Awaitable[ErrorAction | None]]


@runtime_checkable
class SupportsFailover(Protocol):
    """A provider wrapper (e.g. a fallback adapter) that can switch to its next member."""

    def fail_over(self) -> bool:
        """Make the next member current; False when there is no other member left."""
        ...
