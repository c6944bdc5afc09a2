"""A websocket client for protocol messages, with errors mapped to ours.

trio-websocket already owns one reader task per connection and a bounded message
queue; this wrapper adds what the signal and worker clients need on top: binary
frames (:meth:`WebSocketClient.send` / :meth:`~WebSocketClient.receive`; JSON
protocols such as Deepgram's also use :meth:`~WebSocketClient.send_text` and
:meth:`~WebSocketClient.receive_message`), a send lock (so two tasks never
interleave partial sends), and translation of every failure into
:class:`ConnectError` (could not open; a rejected upgrade carries the status, the
response headers and body) or :class:`ConnectionClosedError` (lost or closed, with
code and reason).

The connection's lifetime is the ``async with`` block of
:func:`open_websocket_client`; leaving it closes the socket (trio-websocket's
close handshake, bounded by ``disconnect_timeout``).
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import trio
import trio_websocket

from ..core import ConfigurationError, ConnectError, ConnectionClosedError, RemoteProtocolError

__all__ = ["WebSocketClient", "open_websocket_client"]

_Wire = trio.SocketStream | trio.SSLStream[trio.SocketStream]


class WebSocketClient:
    """Binary message channel over one websocket; obtain it from :func:`open_websocket_client`."""

    def __init__(self, connection: trio_websocket.WebSocketConnection) -> None:
        self._connection = connection
        self._send_lock = trio.Lock()

    async def send(self, data: bytes) -> None:
        """Send one binary message; raises ConnectionClosedError once the socket is gone."""
        async with self._send_lock:
            try:
                await self._connection.send_message(data)
            except trio_websocket.ConnectionClosed as exc:
                raise _closed(exc) from exc

    async def send_text(self, text: str) -> None:
        """Send one text message; raises ConnectionClosedError once the socket is gone."""
        async with self._send_lock:
            try:
                await self._connection.send_message(text)
            except trio_websocket.ConnectionClosed as exc:
                raise _closed(exc) from exc

    async def receive_message(self) -> str | bytes:
        """Wait for the next message of either kind (a checkpoint).

        Raises ConnectionClosedError when the peer closed or the connection broke.
        """
        try:
            return await self._connection.get_message()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def receive(self) -> bytes:
        """Wait for the next message (a checkpoint).

        Raises ConnectionClosedError when the peer closed or the connection broke,
        RemoteProtocolError for a text frame.
        """
        try:
            message = await self._connection.get_message()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from exc
        if isinstance(message, str):
            raise RemoteProtocolError("expected a binary websocket message, got text")
        return message

    async def aclose(self, reason: str | None = None) -> None:
        """Close handshake; idempotent."""
        await self._connection.aclose(code=1000, reason=reason)


def _closed(exc: trio_websocket.ConnectionClosed) -> ConnectionClosedError:
    reason = exc.reason
    code = getattr(reason, "code", None)
    text = getattr(reason, "reason", None)
    return ConnectionClosedError("websocket connection closed", code=code, reason=text)


@asynccontextmanager
async def open_websocket_client(
    url: str,
    *,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
    max_message_size: int = 1 << 20,
    message_queue_size: int = 16,
    close_grace: float = 2.0,
) -> AsyncIterator[WebSocketClient]:
    """Connect to ``url``; the socket lives for the ``async with`` block.

    Raises :class:`ConnectError` (with ``status`` for a rejected upgrade) if the
    connection cannot be opened; cancel the caller to bound the connect time.
    On exit the close handshake runs shielded, bounded by ``close_grace`` (skipped
    when the block was cancelled: nothing could answer it), and the TCP stream is
    then closed by us (trio-websocket leaves a client stream open
    when the server initiates the close, hence owning the stream here).
    """
    target = _parse(url)
    try:
        stream = await trio.open_tcp_stream(target.host, target.port)
    except OSError as exc:
        raise ConnectError(f"could not connect: {type(exc).__name__}") from exc
    wire = _wrap_tls(stream, target)
    try:
        async with trio.open_nursery() as nursery:
            connection = await _handshake(
                nursery, wire, target, extra_headers, (max_message_size, message_queue_size)
            )
            try:
                yield WebSocketClient(connection)
            finally:
                # Cancelled: trio-websocket's reader (in this nursery) is being
                # cancelled too and could never complete a close handshake, so
                # the TCP stream is just closed below. Otherwise: a bounded handshake.
                if trio.current_effective_deadline() != -math.inf:
                    with trio.CancelScope(shield=True), trio.move_on_after(close_grace):
                        await connection.aclose()
    except BaseExceptionGroup as group:
        # the nursery only holds trio-websocket's reader task: surface one error
        sole = _sole_exception(group)
        if sole is None:
            raise
        raise sole from sole.__cause__
    finally:
        await trio.aclose_forcefully(wire)


def _sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        else:
            leaves.append(item)
    # trio-websocket's reader task re-raises the rejection we already translated
    ours = [leaf for leaf in leaves if not isinstance(leaf, trio_websocket.HandshakeError)]
    if len(ours) == 1:
        return ours[0]
    if not ours and isinstance(leaves[0], trio_websocket.ConnectionRejected):
        error = _rejected(leaves[0])
        error.__cause__ = leaves[0]
        return error
    return None


def _rejected(exc: trio_websocket.ConnectionRejected) -> ConnectError:
    headers = tuple(
        (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
        for name, value in exc.headers or ()
    )
    return ConnectError(
        "websocket upgrade rejected", status=exc.status_code, headers=headers, body=exc.body
    )


def _wrap_tls(stream: trio.SocketStream, target: _Target) -> _Wire:
    if not target.secure:
        return stream
    return trio.SSLStream(stream, ssl.create_default_context(), server_hostname=target.host)


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    resource: str
    secure: bool


def _parse(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigurationError(
            f"websocket URL must be ws:// or wss:// with a host, got {parts.scheme!r}"
        )
    secure = parts.scheme == "wss"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(parts.hostname, parts.port or (443 if secure else 80), resource, secure)


async def _handshake(
    nursery: trio.Nursery,
    stream: _Wire,
    target: _Target,
    extra_headers: Sequence[tuple[bytes, bytes]],
    options: tuple[int, int],
) -> trio_websocket.WebSocketConnection:
    max_message_size, message_queue_size = options
    try:
        return await trio_websocket.wrap_client_stream(
            nursery,
            stream,
            target.host,
            target.resource,
            extra_headers=list(extra_headers),
            max_message_size=max_message_size,
            message_queue_size=message_queue_size,
        )
    except trio_websocket.ConnectionRejected as exc:
        raise _rejected(exc) from exc
    except (OSError, trio.BrokenResourceError, trio_websocket.HandshakeError) as exc:
        raise ConnectError(f"websocket handshake failed: {type(exc).__name__}") from exc
