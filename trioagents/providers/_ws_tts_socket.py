"""One TTS websocket and its reader task: server messages routed to utterances.

A :class:`TTSSocket` carries one utterance (a connection per stream) or several,
one after another or at once (a shared connection, :mod:`._ws_tts_pool`). Its one
reader task (:meth:`TTSSocket.serve`) parses every message with the provider's
sans-I/O core and puts the event into the :class:`ContextInbox` of the utterance
it names (``context_id``; a message without one belongs to the only utterance). A
message for an utterance that is gone -- the tail of a cancelled one -- is dropped:
nothing of a cancelled reply ever reaches the next one. Sends go through the
transport's send lock, so utterances sharing a socket never interleave a message.

When the socket fails (closed, reset, a malformed message), every open inbox gets
the error *after* the events already delivered: an utterance whose ``isFinal``
arrived just before the close still ends normally. The socket is then not
:attr:`~TTSSocket.alive` and a shared connection is replaced before the next
utterance. :meth:`TTSSocket.discard` retires a socket deliberately (a stall: it
cannot be trusted with the next reply).

Inboxes are unbounded deques: the reader must never wait for one slow utterance
while another shares the socket, and one utterance's audio is bounded by its text.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import trio

from ..core import ConnectionClosedError, ProviderError, RemoteProtocolError
from ..protocol import TTSServerEvent
from ..transport import WebSocketClient
from ._http import malformed_response
from ._ws_connect import open_provider_websocket
from ._ws_tts_config import TTSDialect, WebSocketTTSConnection
from ._ws_tts_errors import closed_error

__all__ = ["ContextInbox", "TTSSocket", "open_tts_socket"]

_log = logging.getLogger("trioagents.providers.tts_websocket")

ErrorFactory = Callable[[], ProviderError]
E = TypeVar("E", bound=Exception)


class ContextInbox:
    """What the reader delivered for one utterance: events in order, then an error."""

    __slots__ = ("_changed", "_error", "_events")

    def __init__(self) -> None:
        self._events: deque[TTSServerEvent] = deque()
        self._error: ErrorFactory | None = None
        self._changed = trio.Event()

    def put(self, event: TTSServerEvent) -> None:
        self._events.append(event)
        self._wake()

    def fail(self, error: ErrorFactory) -> None:
        if self._error is None:
            self._error = error
            self._wake()

    async def next(self, deadline: float) -> TTSServerEvent | None:
        """The next event (a checkpoint); None once ``deadline`` passed first; raises
        the socket's error when no event is left."""
        while not self._events:
            if self._error is not None:
                await trio.lowlevel.checkpoint()
                raise self._error()
            with trio.move_on_at(deadline):
                await self._changed.wait()
                continue
            return None
        await trio.lowlevel.checkpoint()
        return self._events.popleft()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


class TTSSocket:
    """A websocket shared by the utterances opened on it; see the module docs."""

    def __init__(self, ws: WebSocketClient, dialect: TTSDialect, label: str) -> None:
        self._ws = ws
        self._parse = dialect.parse
        self._label = label
        self._inboxes: dict[str | None, ContextInbox] = {}
        self._loss: ErrorFactory | None = None
        self._scope: trio.CancelScope | None = None
        self.alive = True
        self.utterances = 0
        self.gone = trio.Event()  # set when the reader has stopped

    def open_context(self, context_id: str | None) -> ContextInbox:
        inbox = ContextInbox()
        self._inboxes[context_id] = inbox
        self.utterances += 1
        if self._loss is not None:
            inbox.fail(self._loss)
        return inbox

    def close_context(self, context_id: str | None) -> None:
        self._inboxes.pop(context_id, None)

    async def send(self, messages: list[str]) -> None:
        """Send each message; a lost socket drops them (its inboxes get the error)."""
        for message in messages:
            if not self.alive:
                break
            try:
                await self._ws.send_text(message)
            except ConnectionClosedError:
                self.alive = False  # the reader reports why
        await trio.lowlevel.checkpoint()

    def discard(self, error: ErrorFactory) -> None:
        """Retire the socket: its utterances fail with ``error``, its reader stops."""
        self._lost(error)
        if self._scope is not None:
            self._scope.cancel()

    async def serve(self) -> None:
        """Read and route until the socket fails or is discarded; never raises."""
        try:
            with trio.CancelScope() as self._scope:
                while True:
                    try:
                        message = await self._ws.receive_message()
                    except ConnectionClosedError as exc:
                        self._lost(_chained(closed_error, exc, self._label))
                        return
                    try:
                        event = self._parse(message)
                    except RemoteProtocolError as exc:
                        self._lost(_chained(malformed_response, exc, self._label))
                        return
                    self._route(event)
        finally:
            # not alive = False here: a reader cancelled with the turn leaves a
            # socket that can still carry the utterance's cancel message
            self.gone.set()

    def _route(self, event: TTSServerEvent) -> None:
        inbox = self._inboxes.get(event.context_id)
        if inbox is None and event.context_id is None and len(self._inboxes) == 1:
            inbox = next(iter(self._inboxes.values()))
        if inbox is None:
            _log.debug("%s: dropped a %s for no open utterance", self._label, type(event).__name__)
            return
        inbox.put(event)

    def _lost(self, error: ErrorFactory) -> None:
        self.alive = False
        if self._loss is None:
            self._loss = error
        for inbox in self._inboxes.values():
            inbox.fail(error)


def _chained(make: Callable[[E, str], ProviderError], cause: E, label: str) -> ErrorFactory:
    """A fresh error per utterance (one exception object is raised in one task only).

    ``cause`` is kept without its own traceback: that traceback holds the reader's
    frame, the frame holds the socket and the socket this factory -- a reference
    cycle per connection (the websocket, its buffers and h11/wsproto state) that
    only the cyclic collector could free. The cause's ``__cause__`` (the
    transport's exception, with its traceback) says where it failed."""
    cause = cause.with_traceback(None)

    def error() -> ProviderError:
        exc = make(cause, label)
        exc.__cause__ = cause
        return exc

    return error


@asynccontextmanager
async def open_tts_socket(
    dialect: TTSDialect, connection: WebSocketTTSConnection, label: str, *, shared: bool
) -> AsyncIterator[TTSSocket]:
    """Connect (errors mapped, :mod:`._ws_connect`) and run the reader for the block."""
    async with (
        open_provider_websocket(
            dialect.url(shared=shared),
            dialect.headers(),
            connect_timeout=connection.connect_timeout,
            close_grace=connection.close_grace,
            label=label,
        ) as ws,
        trio.open_nursery() as nursery,
    ):
        socket = TTSSocket(ws, dialect, label)
        nursery.start_soon(socket.serve)
        try:
            yield socket
        finally:
            socket.alive = False
            nursery.cancel_scope.cancel()
