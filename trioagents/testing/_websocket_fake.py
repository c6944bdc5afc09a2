"""What the kit's fake websocket providers share: listening, the fault queue, records.

A fake provider server (the fake Deepgram, the fake OpenAI realtime
transcription) is a :class:`FakeWebSocketServer`: it listens on ``127.0.0.1`` (a
free port), takes the next queued fault for each connection, records every
connection as a :class:`WebSocketSession` and wakes :meth:`~FakeWebSocketServer.wait_for`
on every change. A subclass says what one accepted connection does
(:meth:`~FakeWebSocketServer._answer`). :class:`StreamFault` fires a connection's
mid-stream fault at its ``after`` seconds of received audio and applies the ones
all fakes share (:mod:`._websocket_faults`); a TCP reset leaves the handler as
:class:`ResetConnection` and is carried out here, once the websocket's own task is
gone.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket

from ..core import ConfigurationError, collapse_single_error
from ._websocket_faults import (
    CloseAfter,
    MalformedAfter,
    RefuseUpgrade,
    ResetStreamAfter,
    StallStreamAfter,
)

__all__ = [
    "GONE",
    "FakeWebSocketServer",
    "ResetConnection",
    "StreamFault",
    "WebSocketSession",
    "open_fake_server",
]

F = TypeVar("F")
_EPS = 1e-9

GONE = (
    trio_websocket.ConnectionClosed,
    trio_websocket.HandshakeError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


@dataclass(slots=True)
class WebSocketSession(Generic[F]):
    """One connection as the server saw it.

    ``ended_by`` is ``"client"``, ``"server"`` (a normal close or a refusal) or
    ``"fault"``; ``controls`` the client's control messages in order.
    """

    index: int
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    opened_at: float
    fault: F | None
    refused: int | None = None  # the status of a refused upgrade
    audio_bytes: int = 0
    controls: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    ended_at: float | None = None
    ended_by: str | None = None

    def end(self, by: str) -> None:
        self.ended_at, self.ended_by = trio.current_time(), by


S = TypeVar("S", bound=WebSocketSession[Any])


class ResetConnection(Exception):
    """Raised by a handler: drop the TCP connection (RST) once the websocket is gone."""


class StreamFault:
    """A connection's mid-stream fault: fired once, at its ``after`` seconds of audio."""

    def __init__(self, fault: object) -> None:
        self._pending = fault if hasattr(fault, "after") else None
        self.stalled = False

    def due(self, audio_seconds: float) -> object | None:
        """The fault, once, when ``audio_seconds`` of audio reached its ``after``."""
        fault = self._pending
        after = getattr(fault, "after", None)
        if after is None or audio_seconds < after - _EPS:
            return None
        self._pending = None
        return fault

    async def apply(
        self, fault: object, ws: trio_websocket.WebSocketConnection, session: WebSocketSession[Any]
    ) -> bool | None:
        """Apply one of the shared faults; True: the connection is over, False: carry
        on, None: not a shared fault (the server applies its own)."""
        if isinstance(fault, StallStreamAfter):
            self.stalled = True
            return False
        if isinstance(fault, MalformedAfter):
            await ws.send_message(fault.payload)
            return False
        if isinstance(fault, ResetStreamAfter):
            session.end("fault")
            raise ResetConnection
        if isinstance(fault, CloseAfter):
            session.end("fault")
            await ws.aclose(fault.code, fault.reason)
            return True
        return None


class FakeWebSocketServer(Generic[S, F]):
    """State of one fake server: its fault queue and what it saw (see module docs)."""

    _url_path = "/"

    def __init__(self) -> None:
        self.sessions: list[S] = []
        self._faults: deque[F] = deque()
        self._changed = trio.Event()
        self._port: int | None = None

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port><path>``."""
        if self._port is None:
            raise ConfigurationError("the server is not serving yet; open it first")
        return f"ws://127.0.0.1:{self._port}{self._url_path}"

    def script(self, *faults: F) -> None:
        """Queue faults for the next connections, one each."""
        self._faults.extend(faults)

    async def wait_for(self, condition: Callable[[Self], bool]) -> None:
        """Block until ``condition(self)`` holds (re-checked on every change)."""
        while not condition(self):
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def serve(self, *, task_status: trio.TaskStatus[Self] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on a free loopback port until cancelled; reports ``self`` when ready."""
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self._port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._handle, listeners)
            task_status.started(self)

    async def _handle(self, stream: trio.SocketStream) -> None:
        fault = self._faults.popleft() if self._faults else None
        reset = False
        try:
            async with trio.open_nursery() as nursery:
                request = await trio_websocket.wrap_server_stream(
                    nursery, stream, message_queue_size=16
                )
                await self._serve(request, fault)
                nursery.cancel_scope.cancel()
        except* ResetConnection:
            reset = True
        except* GONE:
            pass  # the client went away mid-handshake or mid-answer
        if reset:
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            stream.socket.close()
            return
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            await stream.aclose()

    async def _serve(self, request: trio_websocket.WebSocketRequest, fault: F | None) -> None:
        session = self._record(request, fault)
        self.sessions.append(session)
        self._notify()
        try:
            await self._answer(request, session)
        finally:
            if session.ended_at is None:
                session.end(session.ended_by or "client")
            self._notify()

    async def _refuse(
        self, request: trio_websocket.WebSocketRequest, session: S, refusal: RefuseUpgrade
    ) -> None:
        session.refused = refusal.status
        headers = [(k.encode(), v.encode()) for k, v in refusal.headers]
        await request.reject(refusal.status, extra_headers=headers, body=refusal.body)
        session.ended_by = "server"

    def _new_session(
        self,
        kind: type[S],
        request: trio_websocket.WebSocketRequest,
        fault: F | None,
        **extra: Any,
    ) -> S:
        """A ``kind`` record of ``request``: the next index, path, query, headers
        (names lower-cased), opened now, its fault, and ``extra`` fields."""
        target = urlsplit(request.path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        return kind(
            len(self.sessions),
            target.path,
            parse_qs(target.query),
            headers,
            trio.current_time(),
            fault,
            **extra,
        )

    def _record(self, request: trio_websocket.WebSocketRequest, fault: F | None) -> S:
        """A new session record for ``request`` (its index is ``len(self.sessions)``)."""
        raise NotImplementedError

    async def _answer(self, request: trio_websocket.WebSocketRequest, session: S) -> None:
        """Refuse or accept ``request`` and run the connection until it ends."""
        raise NotImplementedError


ServerT = TypeVar("ServerT", bound=FakeWebSocketServer[Any, Any])


@asynccontextmanager
async def open_fake_server(server: ServerT) -> AsyncIterator[ServerT]:
    """Serve ``server`` for the duration of the block."""
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            try:
                yield server
            finally:
                nursery.cancel_scope.cancel()
