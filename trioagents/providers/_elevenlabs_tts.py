"""ElevenLabsTTS: streaming synthesis over ElevenLabs' websocket input streaming.

``ElevenLabsTTS(ElevenLabsOptions(voice_id=...), connection=WebSocketTTSConnection(
api_key=...))`` is a :class:`~trioagents.core.StreamingTTS` (the shared client and
its error table: :mod:`._ws_tts`; the wire format: :mod:`trioagents.protocol.
_elevenlabs`). One stream on its own connection speaks ``stream-input``: its
cancel is closing the socket. Streams of a ``connected()`` block share one
``multi-stream-input`` socket, one ``context_id`` per utterance: an utterance ends
with a flush and ``close_context``, a cancel is ``close_context`` alone, the
block's end sends ``close_socket``.

``text_end`` comes from ``alignment`` (the characters ElevenLabs received, which
are ours plus its leading space), requested with every chunk
(``sync_alignment=true``). With ``flush_sentences`` (the default) each sentence
end is flushed, so the first audio does not wait for the chunk schedule's first
120 characters. The key goes in the ``xi-api-key`` header only.
"""

from __future__ import annotations

from ..protocol import (
    ELEVENLABS_API_URL,
    ElevenLabsContext,
    ElevenLabsOptions,
    TTSServerEvent,
    elevenlabs_close_socket,
    elevenlabs_url,
    parse_elevenlabs_message,
)
from ._ws_connect import header_pairs
from ._ws_tts import WebSocketTTS
from ._ws_tts_config import WebSocketTTSConnection, WireContext

__all__ = ["ElevenLabsTTS"]


class _ElevenLabsDialect:
    def __init__(self, options: ElevenLabsOptions, connection: WebSocketTTSConnection) -> None:
        self._options = options
        self._connection = connection
        self._base_url = connection.base_url or ELEVENLABS_API_URL
        elevenlabs_url(options, base_url=self._base_url)  # validate now

    @property
    def sample_rate(self) -> int:
        return self._options.sample_rate

    @property
    def flush_sentences(self) -> bool:
        return self._options.flush_sentences

    def url(self, *, shared: bool) -> str:
        return elevenlabs_url(self._options, base_url=self._base_url, multi=shared)

    def headers(self) -> list[tuple[bytes, bytes]]:
        key = self._connection.api_key
        return header_pairs(self._connection.headers, *([("xi-api-key", key)] if key else []))

    def parse(self, message: str | bytes) -> TTSServerEvent:
        return parse_elevenlabs_message(message)

    def context(self, context_id: str, *, shared: bool) -> WireContext:
        return ElevenLabsContext(self._options, context_id if shared else None)

    def goodbye(self) -> list[str]:
        return [elevenlabs_close_socket()]


class ElevenLabsTTS(WebSocketTTS):
    """A :class:`~trioagents.core.StreamingTTS` over ElevenLabs (see module docs)."""

    def __init__(
        self,
        options: ElevenLabsOptions | None = None,
        *,
        connection: WebSocketTTSConnection | None = None,
        label: str | None = None,
    ) -> None:
        self.options = options or ElevenLabsOptions()
        self.connection = connection or WebSocketTTSConnection()
        dialect = _ElevenLabsDialect(self.options, self.connection)
        super().__init__(dialect, self.connection, label or f"elevenlabs/{self.options.model_id}")
