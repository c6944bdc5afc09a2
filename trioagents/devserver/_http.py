"""One port, two protocols: h11 for plain HTTP, wsproto for websocket upgrades.

Each TCP connection carries exactly one request. The request head (and body, for a
POST) is parsed with h11 while every byte read is kept; if the request asks for a
websocket upgrade, those same bytes are replayed into a wsproto server connection,
which then owns the socket. Anything else gets one h11 response and
``Connection: close``.

Rejected alternatives: trio-websocket's server (it cannot answer a plain HTTP request,
and LiveKit clients need 404 on ``/rtc/v1`` and Twirp on the same port) and HTTP
keep-alive (clients reconnect cheaply; one request per connection keeps the state
machine trivial).

``ServerWebSocket`` follows trio-websocket's shape: one reader (the connection's
handler task calls :meth:`ServerWebSocket.receive`), a lock around sends so any task
may send, websocket pings answered inline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import h11
import trio
import wsproto
import wsproto.events as ws_events

from ..core import ConnectionClosedError, RemoteProtocolError

__all__ = ["HandshakeRefused", "HttpRequest", "ServerWebSocket", "read_request", "send_response"]

MAX_HEAD = 64 * 1024
MAX_BODY = 1 << 20
MAX_WS_MESSAGE = 1 << 20
_READ = 65536
CORS_HEADERS: tuple[tuple[str, str], ...] = (
    ("access-control-allow-origin", "*"),
    ("access-control-allow-headers", "*"),
    ("access-control-allow-methods", "GET, POST, OPTIONS"),
)


class HandshakeRefused(RemoteProtocolError):
    """wsproto refused a websocket upgrade (no ``Sec-WebSocket-Key``, a version other
    than 13, ...); the HTTP refusal (``status``) has already been sent."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class HttpRequest:
    """A parsed request; ``raw`` holds every byte read so far (for the ws replay)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    raw: bytes
    query: dict[str, list[str]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def is_websocket(self) -> bool:
        return "websocket" in self.headers.get("upgrade", "").lower()

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def bearer_token(self) -> str | None:
        """The token from ``Authorization: Bearer`` or else the ``access_token`` query."""
        auth = self.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return self.param("access_token")


async def read_request(stream: trio.abc.Stream) -> HttpRequest:
    """Read one request head (and its body unless it is an upgrade).

    Checkpoints on every read. Raises :class:`RemoteProtocolError` on malformed HTTP,
    oversized heads/bodies or EOF before the request is complete.
    """
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    raw = bytearray()
    head: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise RemoteProtocolError("malformed HTTP request") from exc
        if event is h11.NEED_DATA:
            data = await stream.receive_some(_READ)
            if not data:
                raise RemoteProtocolError("connection closed before the request was complete")
            raw += data
            conn.receive_data(bytes(data))
        elif isinstance(event, h11.Request):
            head = event
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
            if "websocket" in headers.get("upgrade", "").lower():
                break
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise RemoteProtocolError("request body too large")
        elif isinstance(event, h11.EndOfMessage):
            break
        else:  # ConnectionClosed and friends
            raise RemoteProtocolError("connection closed before the request was complete")
    assert head is not None
    target = head.target.decode("latin-1")
    return HttpRequest(
        method=head.method.decode("latin-1"),
        target=target,
        headers=headers,
        body=bytes(body),
        raw=bytes(raw),
        query=parse_qs(urlsplit(target).query, keep_blank_values=True),
    )


async def send_response(
    stream: trio.abc.Stream,
    status: int,
    body: bytes = b"",
    *,
    content_type: str = "text/plain; charset=utf-8",
    extra_headers: Sequence[tuple[str, str]] = (),
) -> None:
    """Write a complete response with ``Connection: close`` (CORS headers included)."""
    conn = h11.Connection(h11.SERVER)
    # h11 needs to have seen a request before it will write a response.
    conn.receive_data(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    conn.next_event()
    headers = [
        ("content-type", content_type),
        ("content-length", str(len(body))),
        ("connection", "close"),
        *CORS_HEADERS,
        *extra_headers,
    ]
    out = conn.send(h11.Response(status_code=status, headers=headers))
    out += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
    await stream.send_all(out)


async def _refuse_handshake(
    stream: trio.abc.Stream, error: wsproto.utilities.RemoteProtocolError
) -> int:
    """Answer the HTTP refusal wsproto suggests (its messages name only headers)."""
    hint = error.event_hint
    status, headers = 400, []
    if isinstance(hint, ws_events.RejectConnection):
        status = hint.status_code
        headers = [
            (bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in hint.headers
        ]
    await send_response(
        stream, status, f"bad websocket handshake: {error}".encode(), extra_headers=headers
    )
    return status


class ServerWebSocket:
    """The server side of one websocket; obtain it from :meth:`accept`."""

    def __init__(self, stream: trio.abc.Stream, ws: wsproto.WSConnection) -> None:
        self._stream = stream
        self._ws = ws
        self._send_lock = trio.Lock()
        self._closed = False
        self._parts: list[bytes | str] = []
        self._size = 0
        self._events: list[ws_events.Event] = []

    @classmethod
    async def accept(cls, stream: trio.abc.Stream, request: HttpRequest) -> ServerWebSocket:
        """Complete the upgrade for ``request`` (whose bytes are replayed into wsproto).

        Raises :class:`HandshakeRefused` after answering 400 (or 426 with
        ``Sec-WebSocket-Version: 13`` for another version) if the handshake is invalid.
        """
        ws = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
        try:
            ws.receive_data(request.raw)
        except wsproto.utilities.RemoteProtocolError as exc:
            status = await _refuse_handshake(stream, exc)
            raise HandshakeRefused(f"websocket handshake refused: {exc}", status=status) from exc
        socket = cls(stream, ws)
        for event in ws.events():
            if isinstance(event, ws_events.Request):
                await stream.send_all(ws.send(ws_events.AcceptConnection()))
            else:
                socket._events.append(event)
        return socket

    @staticmethod
    async def reject(stream: trio.abc.Stream, request: HttpRequest, status: int, text: str) -> None:
        """Refuse the upgrade with an HTTP ``status`` and a plain-text reason."""
        del request  # the refusal is a plain HTTP response
        await send_response(stream, status, text.encode("utf-8"))

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, message: bytes | str) -> None:
        """Send one message. Raises :class:`ConnectionClosedError` once closed."""
        event: ws_events.Event
        if isinstance(message, str):
            event = ws_events.TextMessage(data=message)
        else:
            event = ws_events.BytesMessage(data=message)
        await self._send_event(event)

    async def _send_event(self, event: ws_events.Event) -> None:
        async with self._send_lock:
            if self._closed:
                raise ConnectionClosedError("websocket is closed")
            try:
                await self._stream.send_all(self._ws.send(event))
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._closed = True
                raise ConnectionClosedError("websocket peer went away") from exc

    async def receive(self) -> bytes | str:
        """Return the next complete message.

        Checkpoints on every read; answers pings. Raises :class:`ConnectionClosedError`
        when the peer closes or the stream breaks, :class:`RemoteProtocolError` on a
        protocol violation or a message above 1 MiB.
        """
        while True:
            while self._events:
                message = await self._handle(self._events.pop(0))
                if message is not None:
                    return message
            if self._closed:
                raise ConnectionClosedError("websocket is closed")
            try:
                data = await self._stream.receive_some(_READ)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._closed = True
                raise ConnectionClosedError("websocket peer went away") from exc
            if not data:
                self._closed = True
                raise ConnectionClosedError("websocket peer closed the TCP connection")
            self._ws.receive_data(bytes(data))
            try:
                self._events.extend(self._ws.events())
            except wsproto.utilities.RemoteProtocolError as exc:
                self._closed = True
                raise RemoteProtocolError("websocket protocol violation") from exc

    async def _handle(self, event: ws_events.Event) -> bytes | str | None:
        if isinstance(event, ws_events.Message):
            self._parts.append(event.data)
            self._size += len(event.data)
            if self._size > MAX_WS_MESSAGE:
                raise RemoteProtocolError("websocket message too large")
            if not event.message_finished:
                return None
            parts, self._parts, self._size = self._parts, [], 0
            if isinstance(event, ws_events.TextMessage):
                return "".join(p for p in parts if isinstance(p, str))
            return b"".join(p for p in parts if isinstance(p, bytes))
        if isinstance(event, ws_events.Ping):
            await self._send_event(event.response())
        elif isinstance(event, ws_events.CloseConnection):
            if self._ws.state == wsproto.connection.ConnectionState.REMOTE_CLOSING:
                await self._send_event(event.response())
            self._closed = True
            raise ConnectionClosedError(
                "websocket closed by peer", code=event.code, reason=event.reason
            )
        return None

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (best effort) and close the stream; shielded, bounded."""
        with trio.CancelScope(shield=True), trio.move_on_after(2):
            initiated = False
            async with self._send_lock:
                if not self._closed and self._ws.state == wsproto.connection.ConnectionState.OPEN:
                    try:
                        out = self._ws.send(ws_events.CloseConnection(code=code, reason=reason))
                        await self._stream.send_all(out)
                        initiated = True
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass
                self._closed = True
            if initiated:
                with trio.move_on_after(1):
                    await self._await_close_reply()
            await self._stream.aclose()

    async def _await_close_reply(self) -> None:
        """After our close frame, read until the peer's close frame or EOF (RFC 6455 §7)."""
        while True:
            try:
                data = await self._stream.receive_some(_READ)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            self._ws.receive_data(bytes(data))
            try:
                if any(isinstance(e, ws_events.CloseConnection) for e in self._ws.events()):
                    return
            except wsproto.utilities.RemoteProtocolError:
                return
