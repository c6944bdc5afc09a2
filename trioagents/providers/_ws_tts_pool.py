"""Connection reuse: utterances of one block sharing one websocket.

``async with tts.connected() as tts:`` gives a :class:`ConnectedTTS`, the same
kind of provider, whose streams reuse one websocket (ElevenLabs
``multi-stream-input``, a Cartesia socket) with a fresh ``context_id`` each. The
connection needs an owner for its reader task between utterances, and we never
start tasks in constructors; so the block owns it: a holder task in the block's
nursery opens the socket (on the first utterance, not before), runs its reader,
and ends when the socket dies. The next utterance finds it dead and opens a new
one, transparently -- a connection the server closed while idle, or one that failed
mid-reply, costs the next reply one connect, never an error. An utterance that
is *running* when its socket fails gets the error (retryable): a retry wrapper
opens the next stream, on a new socket.

Leaving the block sends the provider's goodbye (ElevenLabs ``close_socket``),
shielded and bounded by ``close_grace``, and closes the socket. Rejected
alternative: a pool that connects eagerly in the background (LiveKit's
``prewarm``): a task nobody awaits, and a connection the server may close as idle
before the first reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import trio

from ..core import AudioFrame, collapse_single_error, short_id
from ._ws_tts_config import TTSDialect, WebSocketTTSConnection
from ._ws_tts_socket import TTSSocket, open_tts_socket
from ._ws_tts_stream import WebSocketTTSStream, open_utterance

__all__ = [
    "ConnectedTTS",
    "ConnectedTTSStatistics",
    "TTSFront",
    "open_connected_tts",
    "open_synthesis",
]


@dataclass(frozen=True, slots=True)
class ConnectedTTSStatistics:
    """``connections``: websockets opened so far; ``utterances``: streams opened."""

    connections: int
    utterances: int


class TTSFront:
    """What a websocket TTS shows the world: label, format, and streams."""

    input_streaming = True
    """Text is synthesized as it is pushed: worth feeding words, not sentences."""

    def __init__(self, dialect: TTSDialect, connection: WebSocketTTSConnection, label: str) -> None:
        self._dialect = dialect
        self._connection = connection
        self._label = label

    @property
    def label(self) -> str:
        return self._label

    @property
    def sample_rate(self) -> int:
        return self._dialect.sample_rate

    @property
    def num_channels(self) -> int:
        return 1

    def stream(self) -> AbstractAsyncContextManager[WebSocketTTSStream]:
        raise NotImplementedError

    def synthesize(self, text: str) -> AbstractAsyncContextManager[AsyncIterator[AudioFrame]]:
        """The whole ``text`` as one utterance."""
        return open_synthesis(self.stream(), text)


class ConnectedTTS(TTSFront):
    """A streaming TTS whose streams share one websocket; from ``tts.connected()``."""

    def __init__(
        self,
        dialect: TTSDialect,
        connection: WebSocketTTSConnection,
        label: str,
        nursery: trio.Nursery,
    ) -> None:
        super().__init__(dialect, connection, label)
        self._nursery = nursery
        self._socket: TTSSocket | None = None
        self._lock = trio.Lock()
        self._connections = 0
        self._utterances = 0

    def statistics(self) -> ConnectedTTSStatistics:
        return ConnectedTTSStatistics(self._connections, self._utterances)

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[WebSocketTTSStream]:
        """One utterance on the shared socket (connecting first if it is dead)."""
        socket = await self._acquire()
        self._utterances += 1
        context = self._dialect.context(short_id("utt"), shared=True)
        async with open_utterance(
            socket, context, self._dialect, self._connection, self._label
        ) as stream:
            yield stream

    async def _acquire(self) -> TTSSocket:
        async with self._lock:
            if self._socket is None or not self._socket.alive:
                self._socket = await self._nursery.start(self._hold)
                self._connections += 1
            return self._socket

    async def _hold(self, *, task_status: trio.TaskStatus[TTSSocket]) -> None:
        """The socket's lifetime: open, report it, wait until it is gone."""
        async with open_tts_socket(
            self._dialect, self._connection, self._label, shared=True
        ) as socket:
            task_status.started(socket)
            await socket.gone.wait()

    async def say_goodbye(self) -> None:
        """The provider's goodbye on a live socket (shielded, bounded)."""
        socket = self._socket
        if socket is None or not socket.alive:
            return
        with trio.CancelScope(shield=True), trio.move_on_after(self._connection.close_grace):
            await socket.send(self._dialect.goodbye())


@asynccontextmanager
async def open_connected_tts(
    dialect: TTSDialect, connection: WebSocketTTSConnection, label: str
) -> AsyncIterator[ConnectedTTS]:
    """A :class:`ConnectedTTS` whose socket lives in this block (module docs)."""
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            tts = ConnectedTTS(dialect, connection, label, nursery)
            try:
                yield tts
            finally:
                await tts.say_goodbye()
                nursery.cancel_scope.cancel()


@asynccontextmanager
async def open_synthesis(
    opening: AbstractAsyncContextManager[WebSocketTTSStream], text: str
) -> AsyncIterator[AsyncIterator[AudioFrame]]:
    """Chunked synthesis over a stream: the whole text, then the end of input."""
    async with opening as stream:
        await stream.push_text(text)
        await stream.end_input()
        yield stream
