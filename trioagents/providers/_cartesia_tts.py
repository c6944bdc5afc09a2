"""CartesiaTTS: streaming synthesis over Cartesia's ``/tts/websocket``.

``CartesiaTTS(CartesiaOptions(voice_id=...), connection=WebSocketTTSConnection(
api_key=...))`` is a :class:`~trioagents.core.StreamingTTS` (the shared client and
its error table: :mod:`._ws_tts`; the wire format: :mod:`trioagents.protocol.
_cartesia`). Each utterance is a context: its pieces go out as generation requests
with ``"continue": true``, its end as one with ``"continue": false``, its cancel
as ``{"cancel": true}``. Streams of a ``connected()`` block share one socket, one
``context_id`` each; a stream on its own connection sends its cancel, then closes.

``text_end`` comes from the word timestamps (``add_timestamps`` is always on),
which may arrive after the audio they describe: frames wait for them, at most
``alignment_wait`` (:class:`~trioagents.protocol.AlignedFramer`). The key goes in
the ``X-API-Key`` header and the version in ``Cartesia-Version``, never in the URL.
"""

from __future__ import annotations

from ..protocol import (
    CARTESIA_API_URL,
    CartesiaContext,
    CartesiaOptions,
    TTSServerEvent,
    cartesia_url,
    parse_cartesia_message,
)
from ._ws_connect import header_pairs
from ._ws_tts import WebSocketTTS
from ._ws_tts_config import WebSocketTTSConnection, WireContext

__all__ = ["CartesiaTTS"]


class _CartesiaDialect:
    flush_sentences = False  # Cartesia buffers by max_buffer_delay_ms, not by flushes

    def __init__(self, options: CartesiaOptions, connection: WebSocketTTSConnection) -> None:
        self._options = options
        self._connection = connection
        self._url = cartesia_url(connection.base_url or CARTESIA_API_URL)

    @property
    def sample_rate(self) -> int:
        return self._options.sample_rate

    def url(self, *, shared: bool) -> str:
        return self._url

    def headers(self) -> list[tuple[bytes, bytes]]:
        key = self._connection.api_key
        auth = [("X-API-Key", key)] if key else []
        return header_pairs(
            self._connection.headers, *auth, ("Cartesia-Version", self._options.api_version)
        )

    def parse(self, message: str | bytes) -> TTSServerEvent:
        return parse_cartesia_message(message)

    def context(self, context_id: str, *, shared: bool) -> WireContext:
        return CartesiaContext(self._options, context_id)

    def goodbye(self) -> list[str]:
        return []


class CartesiaTTS(WebSocketTTS):
    """A :class:`~trioagents.core.StreamingTTS` over Cartesia (see module docs)."""

    def __init__(
        self,
        options: CartesiaOptions | None = None,
        *,
        connection: WebSocketTTSConnection | None = None,
        label: str | None = None,
    ) -> None:
        self.options = options or CartesiaOptions()
        self.connection = connection or WebSocketTTSConnection()
        dialect = _CartesiaDialect(self.options, self.connection)
        super().__init__(dialect, self.connection, label or f"cartesia/{self.options.model_id}")
