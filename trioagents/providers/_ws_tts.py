"""Streaming TTS over a websocket, input streaming: what ElevenLabs and Cartesia share.

A provider object (:class:`~trioagents.providers.ElevenLabsTTS`,
:class:`~trioagents.providers.CartesiaTTS`) is plain config: options, a
:class:`WebSocketTTSConnection`, a label; it starts nothing. It is a
:class:`~trioagents.core.StreamingTTS`:

* ``async with tts.stream() as s:`` opens a websocket for this one utterance
  (ElevenLabs ``stream-input``, a Cartesia socket with one context), runs its
  reader in the block and closes it on leaving;
* ``async with tts.connected() as shared:`` gives the same kind of provider whose
  streams reuse one websocket for the block (:mod:`._ws_tts_pool`): no TCP/TLS/
  upgrade per reply, a dead connection replaced before the next utterance;
* ``synthesize(text)`` is a stream fed the whole text (chunked use, probes).

Frames are mono s16 at ``options.sample_rate``, 20 ms (a chunk's last one
shorter), each with ``text_end`` from the provider's alignment
(:mod:`._ws_tts_stream`, :mod:`trioagents.protocol._tts_frames`).

Errors (all :class:`~trioagents.core.ProviderError`, raised by the iterator, or by
``stream()`` for the connect; ``push_text`` on a lost connection drops the text
and leaves the report to the iterator). Connecting fails as for every websocket
provider (:mod:`._ws_connect`): a refused upgrade is a status error (401/403/400
final, 408/429/5xx retryable with the server's ``Retry-After``), no connection or
no upgrade within ``connect_timeout`` a retryable connection/timeout error. Then:

=====================================  =============================================
what happened                          raised
=====================================  =============================================
closed mid-utterance, reset            :class:`ProviderConnectionError` (retryable);
                                       close code 1008 (policy: bad key, quota):
                                       ProviderError, not retryable
an error message                       :class:`ProviderStatusError` of the server's
                                       status (500 if none): 429/5xx retryable
the server ended the utterance early   :class:`ProviderConnectionError` (retryable)
no message for ``idle_timeout`` s      :class:`ProviderTimeoutError` (retryable); the
once the server owes an answer         socket is discarded
a malformed message                    ProviderError, not retryable (a fallback
                                       group still fails over)
=====================================  =============================================

The API key travels only in the provider's auth header. No retries inside: that is
:func:`~trioagents.providers.with_retry` (which replays the pushed text into a
new stream while no audio was delivered) and the fallback groups.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from ..core import collapse_single_error, short_id
from ._ws_tts_pool import ConnectedTTS, TTSFront, open_connected_tts
from ._ws_tts_socket import open_tts_socket
from ._ws_tts_stream import WebSocketTTSStream, open_utterance

__all__ = ["WebSocketTTS"]


class WebSocketTTS(TTSFront):
    """The shared half of the websocket TTS providers (see module docs)."""

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[WebSocketTTSStream]:
        """One utterance on its own websocket; raises ProviderError (module docs)."""
        dialect, connection, label = self._dialect, self._connection, self._label
        context = dialect.context(short_id("utt"), shared=False)
        with collapse_single_error():
            async with (
                open_tts_socket(dialect, connection, label, shared=False) as socket,
                open_utterance(socket, context, dialect, connection, label) as stream,
            ):
                yield stream

    def connected(self) -> AbstractAsyncContextManager[ConnectedTTS]:
        """``async with tts.connected() as tts:`` streams of the block share one
        websocket (:class:`ConnectedTTS`)."""
        return open_connected_tts(self._dialect, self._connection, self._label)
