"""OpenAIRealtimeSTT: streaming recognition over OpenAI's realtime transcription websocket.

``async with OpenAIRealtimeSTT(connection=OpenAIConnection(api_key=...)).stream() as s:``
opens one ``/v1/realtime?intent=transcription`` websocket for the block (the wire
format and the client's state are :mod:`trioagents.protocol._realtime_transcription`
and :mod:`~trioagents.protocol._realtime_transcription_client`) and sends the
``session.update`` before the block runs. ``push_frame`` converts each frame to
mono PCM16 at 24 kHz (:func:`~._websocket_stt.linear16`, exact for 24 kHz mono
frames) and sends it as one ``input_audio_buffer.append``; the iterator yields
:class:`~trioagents.core.SpeechEvent` (:mod:`._realtime_transcription_speech`):
``INTERIM_TRANSCRIPT`` as an item's deltas arrive, ``FINAL_TRANSCRIPT`` per item
in audio order even when completions arrive out of order (with ``audio_end``, so
a resumed stream replays only the audio after it), ``START_OF_SPEECH`` /
``END_OF_SPEECH`` from the server's VAD (or around each final without turn
detection).

``flush()`` commits the buffer (transcribe what was said so far: the way to get
finals without turn detection, e.g. with ``gpt-realtime-whisper``);
``end_input()`` sends the closing commit, a barrier answered after every append,
and the iterator ends once every committed item has its transcript. OpenAI sends
nothing for audio alone, so there is no keep-alive and no task: the iterator reads
in the consumer's task.

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
a bad key, refused in-band (error      ProviderStatusError 401, not retryable
``invalid_api_key``, close 3000)
closed mid-stream, TCP reset           :class:`ProviderConnectionError` (retryable)
an ``error`` event                     ProviderStatusError: 400 for
                                       ``invalid_request_error`` (not retryable),
                                       429 for rate limits, else 500 (retryable);
                                       ``input_audio_buffer_commit_empty`` answers a
                                       commit of nothing and is no error
an item's transcription ``failed``     the same statuses (its words would be lost:
                                       a recovering wrapper replays its audio)
no message for ``idle_timeout`` s      :class:`ProviderTimeoutError` (retryable)
while an answer is owed (a stall)
a malformed message                    ProviderError, not retryable
=====================================  =============================================

A stall is noticed only while an answer is owed (the ``session.updated``, a
commit's answer, a committed item's transcript): the server is silent while the
user is, so under server VAD a server that hangs mid-utterance is noticed at the
next commit (``flush()``, ``end_input()``), not before. ``idle_timeout`` and
``connect_timeout`` come from the :class:`~._http.OpenAIConnection`.

The API key travels only in the ``Authorization: Bearer`` header (or the
connection's ``api_key_header``): never in the URL, a message, a log record or an
error. Cancellation is never an error: leaving the block by cancellation drops the
socket; leaving it otherwise runs the close handshake, bounded by ``close_grace``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from ..core import (
    AudioFrame,
    ConfigurationError,
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
)
from ..protocol import (
    COMMIT_EMPTY,
    REALTIME_TRANSCRIPTION_SAMPLE_RATE,
    RealtimeTranscriptionOptions,
    RealtimeTranscriptionProtocol,
    TranscriptionErrorReported,
    TranscriptionFailed,
    TranscriptionSessionConfigured,
    TranscriptionState,
    realtime_transcription_url,
)
from ..transport import WebSocketClient
from ._http import OpenAIConnection, malformed_response
from ._realtime_transcription_errors import closed_error, failed_error, reported_error
from ._realtime_transcription_speech import TranscriptionSpeech
from ._websocket_stt import WebSocketSTTStream, linear16
from ._ws_connect import open_provider_websocket

__all__ = ["OpenAIRealtimeSTT", "OpenAIRealtimeSTTStream"]

_log = logging.getLogger("trioagents.providers.openai_realtime_stt")


class OpenAIRealtimeSTT:
    """A streaming :class:`~trioagents.core.STT` over OpenAI's realtime transcription.

    ``options``: the session (model, language, turn detection, GA or beta form);
    ``connection``: where and how (``base_url`` ``https://...`` becomes ``wss://...``,
    the key, ``query``, ``connect_timeout``, ``idle_timeout``); ``close_grace``
    bounds the close handshake. Raises ConfigurationError for a base URL that cannot
    be a websocket's.
    """

    def __init__(
        self,
        options: RealtimeTranscriptionOptions | None = None,
        *,
        connection: OpenAIConnection | None = None,
        label: str | None = None,
        close_grace: float = 2.0,
    ) -> None:
        if close_grace <= 0:
            raise ConfigurationError("OpenAIRealtimeSTT: close_grace must be positive")
        self.options = options or RealtimeTranscriptionOptions()
        self.connection = connection or OpenAIConnection()
        self.close_grace = close_grace
        self._url = realtime_transcription_url(self.connection.base_url, self.connection.query)
        self._label = label or f"openai-realtime/{self.options.model}"

    @property
    def label(self) -> str:
        return self._label

    def _headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in self.connection.request_headers().items()
        ]
        if self.options.api == "beta":
            headers.append((b"OpenAI-Beta", b"realtime=v1"))
        return headers

    @asynccontextmanager
    async def stream(
        self, *, language: str | None = None
    ) -> AsyncIterator[OpenAIRealtimeSTTStream]:
        """Open one session for the block; raises ProviderError (see module docs).
        Checkpoints: connect, upgrade, the ``session.update`` send."""
        async with open_provider_websocket(
            self._url,
            self._headers(),
            connect_timeout=self.connection.connect_timeout,
            close_grace=self.close_grace,
            label=self._label,
        ) as ws:
            stream = OpenAIRealtimeSTTStream(ws, self, language)
            await stream.configure()
            try:
                yield stream
            finally:
                stream.close_politely()


class OpenAIRealtimeSTTStream(WebSocketSTTStream):
    """One session (an :class:`~trioagents.core.STTStream`); see the module docs."""

    def __init__(self, ws: WebSocketClient, owner: OpenAIRealtimeSTT, language: str | None) -> None:
        super().__init__(ws, owner.label, owner.connection.idle_timeout)
        options = owner.options
        self._protocol = RealtimeTranscriptionProtocol(options)
        self._language = language
        self._speech = TranscriptionSpeech(
            language or options.language, server_segments=options.server_segments
        )
        self._ended_input = False
        self.session_id: str | None = None

    async def configure(self) -> None:
        """Send the ``session.update`` (owed ``session.updated``)."""
        await self._send(self._protocol.session_update(self._language), answered=True)

    # ------------------------------------------------------------ input
    def _streaming(self) -> bool:
        return self._protocol.state is TranscriptionState.STREAMING and not self._gone

    async def push_frame(self, frame: AudioFrame) -> None:
        """Send one frame (a checkpoint); LocalProtocolError after end_input.

        A frame pushed after the connection was lost is dropped: the iterator
        raises the error.
        """
        if self._ended_input:
            raise LocalProtocolError("push_frame after end_input")
        if not self._streaming():
            await trio.lowlevel.checkpoint()
            return
        pcm = linear16(frame, REALTIME_TRANSCRIPTION_SAMPLE_RATE)
        await self._send(self._protocol.append(pcm), answered=False)

    async def flush(self) -> None:
        """Commit the buffer: what was said since the last commit is transcribed now."""
        message = self._protocol.commit() if self._streaming() and not self._ended_input else None
        if message is None:
            await trio.lowlevel.checkpoint()
            return
        await self._send(message, answered=True)

    async def end_input(self) -> None:
        """Send the closing commit; the iterator ends after the last final. Idempotent."""
        if self._ended_input or not self._streaming():
            self._ended_input = True
            await trio.lowlevel.checkpoint()
            return
        self._ended_input = True
        await self._send(self._protocol.end_input(), answered=True)

    def close_politely(self) -> None:
        """On leaving the block: nothing comes out of the iterator any more. There is
        nothing to tell the server (a dropped session ends); never raises."""
        self._discard()

    # ------------------------------------------------------------ output
    def _received(self, message: str | bytes) -> None:
        try:
            outputs = self._protocol.receive(message)
        except RemoteProtocolError as exc:
            raise malformed_response(exc, self._label) from exc
        now = trio.current_time()
        for output in outputs:
            if isinstance(output, TranscriptionErrorReported) and output.code != COMMIT_EMPTY:
                raise reported_error(output, self._label)
            if isinstance(output, TranscriptionFailed):
                raise failed_error(output, self._label)
            if isinstance(output, TranscriptionSessionConfigured):
                session_id = output.session.get("id")
                self.session_id = session_id if isinstance(session_id, str) else None
            self._ready.extend(self._speech.handle(output, now))
        if self._protocol.owes_answer:
            self._expect_answer()  # the stall clock restarts at this message
        if self._protocol.finished:
            self._finish(now)

    def _finish(self, now: float) -> None:
        _log.debug("%s: session finished (%s)", self._label, self.session_id)
        self._finished = True
        self._ready.extend(self._speech.stream_ended(now))

    def _closed(self, exc: ConnectionClosedError) -> None:
        closed = self._protocol.connection_closed(exc.code, exc.reason)
        if not closed.expected:
            raise closed_error(closed, self._label) from exc
        self._finish(trio.current_time())
