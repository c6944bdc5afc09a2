"""DeepgramSTT: streaming recognition over Deepgram's live transcription websocket.

``async with DeepgramSTT(connection=DeepgramConnection(api_key=...)).stream() as s:``
opens one ``/v1/listen`` websocket for the block (the wire format is
:mod:`trioagents.protocol._deepgram`). ``push_frame`` converts each frame to
mono linear16 at ``options.sample_rate`` (:func:`~._optional.mono_at`, exact for
frames already at that rate) and sends it as one binary message; the iterator
yields :class:`~trioagents.core.SpeechEvent`:

* ``INTERIM_TRANSCRIPT`` for a non-final ``Results`` with words,
  ``FINAL_TRANSCRIPT`` for a final one (``is_final``; several may make one
  utterance); empty results yield nothing;
* ``START_OF_SPEECH`` on ``SpeechStarted`` (``vad_events``) or before the first
  transcript of an utterance, ``END_OF_SPEECH`` on ``speech_final``, on
  ``UtteranceEnd`` and when the stream ends while speaking; each once per utterance.

``flush()`` sends ``Finalize`` (transcribe what is buffered now); ``end_input()``
sends ``Finalize`` then ``CloseStream``: the server flushes, sends its summary and
closes, and the iterator ends. ``KeepAlive`` goes out whenever no audio was sent
for ``keepalive_interval`` seconds (Trio's clock), from the stream's one task.

Errors (all :class:`~trioagents.core.ProviderError`, raised by the iterator;
``push_frame`` on a lost connection drops the frame and leaves the report to the
iterator, so a feeder task and a reader never raise the same loss twice):

=====================================  =============================================
what happened                          raised
=====================================  =============================================
upgrade refused with a status          :class:`ProviderStatusError` (401/403/400 not
                                       retryable; 408/429/5xx retryable, with the
                                       server's ``Retry-After``)
no connection, or no upgrade within    :class:`ProviderConnectionError` /
``connect_timeout``                    :class:`ProviderTimeoutError` (retryable)
closed mid-stream (any code, before    :class:`ProviderConnectionError` (retryable);
our ``CloseStream``)                   a ``DATA-`` reason (the audio itself was
                                       refused): ProviderError, not retryable
no message for ``idle_timeout`` s      :class:`ProviderTimeoutError` (retryable)
after audio was sent (a stall)
an ``Error`` message                   ProviderStatusError 500 (retryable), or not
                                       retryable for a ``DATA-`` code
a malformed message                    ProviderError, not retryable (as a malformed
                                       HTTP body; a fallback group still fails over)
=====================================  =============================================

The API key travels only in the ``Authorization: Token`` header: never in the
URL, a message, a log record or an error. Cancellation is never an error: leaving
the block by cancellation sends ``CloseStream`` (shielded, bounded by
``close_grace``) and drops the socket; leaving it otherwise also runs the close
handshake, bounded the same way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import trio

from ..core import (
    AudioFrame,
    ConfigurationError,
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
    collapse_single_error,
)
from ..protocol import (
    DEEPGRAM_LISTEN_URL,
    DeepgramErrorReported,
    DeepgramMetadataReceived,
    DeepgramOptions,
    DeepgramProtocol,
    DeepgramState,
    listen_url,
)
from ..transport import WebSocketClient
from ._deepgram_errors import closed_error, reported_error
from ._deepgram_speech import SpeechTracker
from ._http import malformed_response
from ._websocket_stt import WebSocketSTTStream, linear16
from ._ws_connect import open_provider_websocket

__all__ = ["DeepgramConnection", "DeepgramSTT", "DeepgramSTTStream"]

_log = logging.getLogger("trioagents.providers.deepgram")


@dataclass(frozen=True, slots=True)
class DeepgramConnection:
    """Where and how to reach Deepgram (or a compatible server).

    ``connect_timeout`` bounds TCP connect plus upgrade; ``idle_timeout`` is the
    longest wait for a server message once audio was sent (None: no stall
    detection, only the caller's deadline); ``keepalive_interval`` is the silence
    after which a ``KeepAlive`` goes out (Deepgram closes a stream that heard
    nothing for 10 s); ``close_grace`` bounds the closing messages and handshake.
    """

    base_url: str = DEEPGRAM_LISTEN_URL
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float | None = 10.0
    idle_timeout: float | None = 10.0
    keepalive_interval: float = 5.0
    close_grace: float = 2.0

    def __post_init__(self) -> None:
        for bound in (self.connect_timeout, self.idle_timeout):
            if bound is not None and bound <= 0:
                raise ConfigurationError("connect_timeout/idle_timeout must be positive or None")
        if self.keepalive_interval <= 0 or self.close_grace <= 0:
            raise ConfigurationError("keepalive_interval and close_grace must be positive")

    def request_headers(self) -> list[tuple[bytes, bytes]]:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        if self.api_key:
            headers.append((b"Authorization", f"Token {self.api_key}".encode("latin-1")))
        return headers


class DeepgramSTT:
    """A streaming :class:`~trioagents.core.STT` over Deepgram's ``/v1/listen``."""

    def __init__(
        self,
        options: DeepgramOptions | None = None,
        *,
        connection: DeepgramConnection | None = None,
        label: str | None = None,
    ) -> None:
        self.options = options or DeepgramOptions()
        self.connection = connection or DeepgramConnection()
        if self.options.channels != 1:
            raise ConfigurationError(
                "DeepgramSTT sends mono audio: use DeepgramOptions(channels=1) "
                "(multichannel results are not supported)"
            )
        listen_url(self.options, base_url=self.connection.base_url)  # validate now
        self._label = label or f"deepgram/{self.options.model}"

    @property
    def label(self) -> str:
        return self._label

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[DeepgramSTTStream]:
        """Open one live stream for the block; raises ProviderError (see module docs)."""
        url = listen_url(self.options, base_url=self.connection.base_url, language=language)
        with collapse_single_error():
            async with self._connect(url) as ws, trio.open_nursery() as nursery:
                stream = DeepgramSTTStream(ws, self, language or self.options.language)
                nursery.start_soon(stream.serve_keepalive)
                try:
                    yield stream
                finally:
                    await stream.close_politely()
                    nursery.cancel_scope.cancel()

    def _connect(self, url: str) -> AbstractAsyncContextManager[WebSocketClient]:
        connection = self.connection
        return open_provider_websocket(
            url,
            connection.request_headers(),
            connect_timeout=connection.connect_timeout,
            close_grace=connection.close_grace,
            label=self._label,
        )


class DeepgramSTTStream(WebSocketSTTStream):
    """One live stream (an :class:`~trioagents.core.STTStream`); see the module docs."""

    def __init__(self, ws: WebSocketClient, owner: DeepgramSTT, language: str) -> None:
        super().__init__(ws, owner.label, owner.connection.idle_timeout)
        self._rate = owner.options.sample_rate
        self._connection = owner.connection
        self._protocol = DeepgramProtocol()
        self._speech = SpeechTracker(language)
        self._ended_input = False
        self.request_id: str | None = None

    # ------------------------------------------------------------ input
    async def push_frame(self, frame: AudioFrame) -> None:
        """Send one frame (a checkpoint); LocalProtocolError after end_input.

        A frame pushed after the connection was lost is dropped: the iterator
        raises the error.
        """
        if self._ended_input:
            raise LocalProtocolError("push_frame after end_input")
        if self._protocol.state is not DeepgramState.STREAMING or self._gone:
            await trio.lowlevel.checkpoint()
            return
        await self._send(self._protocol.send_audio(linear16(frame, self._rate)), answered=True)

    async def flush(self) -> None:
        """Send ``Finalize``: the server transcribes what it buffered as final now."""
        if self._ended_input or self._protocol.state is not DeepgramState.STREAMING:
            await trio.lowlevel.checkpoint()
            return
        await self._send(self._protocol.finalize(), answered=False)

    async def end_input(self) -> None:
        """Send ``Finalize`` and ``CloseStream``; the iterator ends after the last
        results. Idempotent."""
        if self._ended_input or self._protocol.state is not DeepgramState.STREAMING:
            self._ended_input = True
            await trio.lowlevel.checkpoint()
            return
        self._ended_input = True
        await self._send(self._protocol.finalize(), answered=False)
        await self._send(self._protocol.close_stream(), answered=True)

    async def serve_keepalive(self) -> None:
        """Send ``KeepAlive`` after ``keepalive_interval`` without sending; runs until
        the stream closes (the stream's one task)."""
        interval = self._connection.keepalive_interval
        while self._protocol.state is DeepgramState.STREAMING and not self._gone:
            due = self._last_sent_at + interval
            if trio.current_time() >= due:
                await self._send(self._protocol.keep_alive(), answered=False)
            else:
                await trio.sleep_until(due)

    async def close_politely(self) -> None:
        """On leaving the block: drop what was not taken (nothing comes out after a
        close), then ``CloseStream`` if still streaming (shielded, bounded); never raises."""
        self._discard()
        if self._protocol.state is not DeepgramState.STREAMING or self._gone:
            return
        message = self._protocol.close_stream()
        with trio.CancelScope(shield=True), trio.move_on_after(self._connection.close_grace):
            await self._send(message, answered=False)

    # ------------------------------------------------------------ output
    def _received(self, message: str | bytes) -> None:
        try:
            event = self._protocol.receive(message)
        except RemoteProtocolError as exc:
            raise malformed_response(exc, self._label) from exc
        if isinstance(event, DeepgramErrorReported):
            raise reported_error(event, self._label)
        if isinstance(event, DeepgramMetadataReceived):
            self.request_id = event.request_id
        self._ready.extend(self._speech.handle(event, trio.current_time()))

    def _closed(self, exc: ConnectionClosedError) -> None:
        closed = self._protocol.connection_closed(exc.code, exc.reason)
        if not closed.expected:
            raise closed_error(closed, self._label) from exc
        _log.debug("%s: stream closed (request %s)", self._label, self.request_id)
        self._finished = True
        self._ready.extend(self._speech.stream_ended(trio.current_time()))
