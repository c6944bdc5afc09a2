"""One utterance of a websocket TTS: text in as it is generated, aligned frames out.

:class:`WebSocketTTSStream` is the :class:`~trioagents.core.TTSStream` both
providers return. ``push_text`` keeps the text (for alignment) and sends it in
whole-word pieces (:class:`~trioagents.protocol.WordChunker`, a checkpoint each);
``end_input`` sends the held-back rest and the provider's end of input. The
iterator turns the utterance's events into frames with
:class:`~trioagents.protocol.AlignedFramer`: ElevenLabs' per-chunk character
alignment and Cartesia's word timestamps become marks through
:class:`~trioagents.protocol.TextAligner`, so every frame's ``text_end`` counts
characters of the text pushed to *this* stream.

Stalls: once the server owes an answer (a flushed piece or the end of input), it
must send something for this utterance within ``idle_timeout`` (counted from the
send, then from each message); otherwise :class:`ProviderTimeoutError` and the
socket is discarded. While text merely streams in, the server may legitimately
buffer it, so only the caller's deadline applies.

Leaving the block before the server said ``done`` -- cancellation (barge-in), an
error, a consumer that stops reading -- cancels the utterance on the wire
(Cartesia ``cancel``, ElevenLabs ``close_context``; on a single-utterance
ElevenLabs connection, closing the socket is the cancel), shielded and bounded by
``close_grace``, and drops whatever was not taken: no frame comes out after the
block. Cancellation itself is never turned into an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from ..core import AudioFrame, LocalProtocolError
from ..protocol import (
    AlignedFramer,
    TextAligner,
    TTSAudioReceived,
    TTSContextDone,
    TTSContextState,
    TTSErrorReported,
    TTSServerEvent,
    TTSWordsTimed,
    WordChunker,
)
from ._buffered_stream import BufferedStream
from ._ws_tts_config import TTSDialect, WebSocketTTSConnection, WireContext
from ._ws_tts_errors import ended_early, reported_error, stalled
from ._ws_tts_socket import ContextInbox, TTSSocket

__all__ = ["WebSocketTTSStream", "open_utterance"]


class WebSocketTTSStream(BufferedStream[AudioFrame]):
    """One utterance; obtain it from a provider's ``stream()`` (see module docs)."""

    def __init__(
        self,
        socket: TTSSocket,
        context: WireContext,
        inbox: ContextInbox,
        dialect: TTSDialect,
        connection: WebSocketTTSConnection,
        label: str,
    ) -> None:
        super().__init__(connection.idle_timeout)
        self._socket = socket
        self._context = context
        self._inbox = inbox
        self._connection = connection
        self._label = label
        self._aligner = TextAligner()
        self._chunker = WordChunker(flush_sentences=dialect.flush_sentences)
        self._framer = AlignedFramer(
            dialect.sample_rate, self._aligner, wait=connection.alignment_wait
        )
        self._ended_input = False
        self.cancelled = False

    @property
    def context_id(self) -> str | None:
        return self._context.context_id

    # ------------------------------------------------------------ input
    async def push_text(self, text: str) -> None:
        """Add text (a checkpoint); LocalProtocolError after end_input. Text pushed
        after the utterance failed is dropped: the iterator raises the error."""
        if self._ended_input:
            raise LocalProtocolError("push_text after end_input")
        self._aligner.extend(text)
        piece = self._chunker.push(text)
        if piece is None or not self._open:
            await trio.lowlevel.checkpoint()
            return
        await self._send(self._context.text(piece), owed=piece.flush)

    async def end_input(self) -> None:
        """Send the rest and the end of input; the iterator ends after the last
        frame. Idempotent."""
        if self._ended_input or not self._open:
            self._ended_input = True
            await trio.lowlevel.checkpoint()
            return
        self._ended_input = True
        self._framer.end_of_input()
        await self._send(self._context.end(self._chunker.finish()), owed=True)

    @property
    def _open(self) -> bool:
        return self._error is None and self._context.machine.state is TTSContextState.OPEN

    async def _send(self, messages: list[str], *, owed: bool) -> None:
        if owed and self._awaiting_since is None:
            self._awaiting_since = trio.current_time()
        await self._socket.send(messages)

    async def open(self) -> None:
        await self._socket.send(self._context.open())

    async def close(self) -> None:
        """On leaving the block: drop what was not taken; cancel the utterance on the
        wire unless it ended (shielded, bounded by ``close_grace``); never raises."""
        self._finished = True
        self._ready.clear()
        if not (self._context.machine.active or self._context.machine.state is TTSContextState.NEW):
            return
        self.cancelled = True
        messages = self._context.cancel()
        with trio.CancelScope(shield=True), trio.move_on_after(self._connection.close_grace):
            await self._socket.send(messages)

    # ------------------------------------------------------------ output
    async def _read_one(self) -> None:
        stall = self._stall_deadline()
        event = await self._inbox.next(min(stall, self._framer.deadline()))
        now = trio.current_time()
        if event is not None:
            self._handle(event, now)
        elif now >= stall:
            self._socket.discard(lambda: stalled(self._label, self._connection.idle_timeout))
            raise stalled(self._label, self._connection.idle_timeout)
        self._ready.extend(self._framer.release(now))
        self._finished = self._framer.finished

    def _handle(self, event: TTSServerEvent, now: float) -> None:
        if self._awaiting_since is not None:
            self._awaiting_since = now
        framer, aligner = self._framer, self._aligner
        if isinstance(event, TTSAudioReceived):
            start = framer.audio(event.pcm, now)
            if event.alignment is not None:  # the chunk carries its own alignment
                for timing in event.alignment:
                    framer.mark(start + timing.end, aligner.char(timing.char))
                framer.known_until(framer.audio_seconds)
        elif isinstance(event, TTSWordsTimed):
            for word in event.words:
                framer.mark(word.end, aligner.word(word.word))
                framer.known_until(word.end)
        elif isinstance(event, TTSContextDone):
            if not self._context.done():
                raise ended_early(self._label)
            self._awaiting_since = None
            framer.finish()
        elif isinstance(event, TTSErrorReported):
            raise reported_error(event, self._label)


@asynccontextmanager
async def open_utterance(
    socket: TTSSocket,
    context: WireContext,
    dialect: TTSDialect,
    connection: WebSocketTTSConnection,
    label: str,
) -> AsyncIterator[WebSocketTTSStream]:
    """One utterance on ``socket`` for the block; cancelled on the wire if the
    block is left before the server finished it."""
    inbox = socket.open_context(context.context_id)
    stream = WebSocketTTSStream(socket, context, inbox, dialect, connection, label)
    try:
        await stream.open()
        yield stream
    finally:
        try:
            await stream.close()
        finally:
            socket.close_context(context.context_id)
