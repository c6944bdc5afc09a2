"""How a websocket TTS is reached, and what differs between providers.

:class:`WebSocketTTSConnection` is the connection half of a provider's config
(the other half is its options: voice, model, rate). :class:`TTSDialect` is what
the shared client (:mod:`._ws_tts_socket`, :mod:`._ws_tts_stream`,
:mod:`._ws_tts_pool`) asks a provider for: URLs, headers, the parser, one
utterance's message builder, the goodbye on a shared connection. Each provider
module implements it over its sans-I/O core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..protocol import TextPiece, TTSContextMachine, TTSServerEvent
from ._ws_connect import check_bounds

__all__ = ["TTSDialect", "WebSocketTTSConnection", "WireContext"]


@dataclass(frozen=True, slots=True)
class WebSocketTTSConnection:
    """Where and how to reach a streaming TTS (ElevenLabs, Cartesia or compatible).

    ``base_url`` None: the provider's public API. ``api_key`` travels only in the
    provider's auth header (never in a URL, a message, a log record or an error).
    ``connect_timeout`` bounds TCP connect plus upgrade; ``idle_timeout`` is the
    longest wait for the server once it owes an answer (after a flush or the end of
    input; None: only the caller's deadline bounds a stall); ``close_grace`` bounds
    the closing messages (a cancel, a goodbye) and the close handshake;
    ``alignment_wait`` is the longest a frame waits for its alignment before it is
    released with what is known (None: as long as it takes).
    """

    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float | None = 10.0
    idle_timeout: float | None = 10.0
    close_grace: float = 2.0
    alignment_wait: float | None = 0.3

    def __post_init__(self) -> None:
        check_bounds(
            "WebSocketTTSConnection",
            timeouts=(self.connect_timeout, self.idle_timeout, self.alignment_wait),
            positive=(self.close_grace,),
        )


class WireContext(Protocol):
    """One utterance's messages (:class:`~trioagents.protocol.ElevenLabsContext`,
    :class:`~trioagents.protocol.CartesiaContext`)."""

    @property
    def context_id(self) -> str | None: ...

    @property
    def machine(self) -> TTSContextMachine: ...

    def open(self) -> list[str]: ...

    def text(self, piece: TextPiece) -> list[str]: ...

    def end(self, rest: str) -> list[str]: ...

    def cancel(self) -> list[str]: ...

    def done(self) -> bool: ...


class TTSDialect(Protocol):
    """A provider, as the shared websocket TTS client sees it."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def flush_sentences(self) -> bool: ...

    def url(self, *, shared: bool) -> str:
        """The URL of a connection for one utterance, or one shared by several."""
        ...

    def headers(self) -> list[tuple[bytes, bytes]]: ...

    def parse(self, message: str | bytes) -> TTSServerEvent: ...

    def context(self, context_id: str, *, shared: bool) -> WireContext: ...

    def goodbye(self) -> list[str]:
        """What to send before closing a shared connection."""
        ...
