"""One ``/agent`` websocket connection: sends under a lock, errors mapped.

trio-websocket already runs one reader task per connection and queues received
messages on a bounded channel (``message_queue_size``); this module adds the send
lock (a message is *built and sent* under it, so two tasks can never reorder a
job's status updates) and translates trio-websocket's exceptions into ours:
handshake failures and refused connections become
:class:`~trioagents.core.ConnectError`, a closed connection
:class:`~trioagents.core.ConnectionClosedError`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import urlsplit

import trio
import trio_websocket

from ..core import ConnectError, ConnectionClosedError, exception_leaves
from ..protocol import MAX_MESSAGE_SIZE

__all__ = ["AgentConnection", "AgentConnector", "open_agent_connection"]


AgentConnector = Callable[[str, str], AbstractAsyncContextManager["AgentConnection"]]


class AgentConnection:
    def __init__(self, websocket: trio_websocket.WebSocketConnection) -> None:
        self._websocket = websocket
        self._send_lock = trio.Lock()

    async def send(self, build: Callable[[], bytes | None]) -> None:
        """Build a message and send it, both under the send lock.

        ``build`` may return ``None`` (nothing to send). Raises
        :class:`ConnectionClosedError`; checkpoints.
        """
        async with self._send_lock:
            data = build()
            if data is None:
                return
            try:
                await self._websocket.send_message(data)
            except trio_websocket.ConnectionClosed as exc:
                raise _closed(exc) from exc

    async def receive(self) -> bytes:
        """The next binary message. Raises :class:`ConnectionClosedError`."""
        try:
            message = await self._websocket.get_message()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from exc
        return message if isinstance(message, bytes) else message.encode()

    async def ping(self) -> None:
        """Send a websocket ping and wait for its pong (the caller bounds the wait)."""
        try:
            await self._websocket.ping()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed(exc) from exc


def _closed(exc: trio_websocket.ConnectionClosed) -> ConnectionClosedError:
    reason = exc.reason
    code = reason.code if reason is not None else None
    text = reason.reason if reason is not None else None
    return ConnectionClosedError("/agent connection closed", code=code, reason=text)


@asynccontextmanager
async def open_agent_connection(
    url: str, token: str, *, stream: trio.abc.Stream | None = None
) -> AsyncIterator[AgentConnection]:
    """Connect to ``url`` (already ending in ``/agent``) with a bearer token.

    ``stream`` replaces the TCP connection (tests pass one end of an in-memory
    stream pair). Raises :class:`ConnectError` if the connection or the upgrade
    fails; errors of the body propagate as themselves. The stream is ours and
    always closed (trio-websocket's ``open_websocket_url`` leaks it when the
    upgrade is rejected). Unbounded: the caller puts a deadline on connecting.
    """
    host, port, resource, secure = _split(url)
    headers = [(b"authorization", f"Bearer {token}".encode())]
    try:
        async with trio.open_nursery() as nursery:
            if stream is None:
                stream = await _open_stream(host, port, secure)
            async with stream:
                websocket = await trio_websocket.wrap_client_stream(
                    nursery, stream, host, resource, extra_headers=headers,  # type: ignore[arg-type]
                    message_queue_size=32, max_message_size=MAX_MESSAGE_SIZE,
                )  # fmt: skip
                try:
                    yield AgentConnection(websocket)
                finally:
                    # The close handshake needs trio-websocket's reader task; when we
                    # are being cancelled it is cancelled too, so close the socket only.
                    if trio.current_effective_deadline() != -math.inf:
                        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
                            await websocket.aclose()
                    nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise _translate(group) from None


_CLOSE_GRACE = 2.0


def _split(url: str) -> tuple[str, int, str, bool]:
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConnectError("the /agent URL must be ws:// or wss:// with a host")
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or (443 if secure else 80), resource, secure


async def _open_stream(
    host: str, port: int, secure: bool
) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
    try:
        if secure:
            return await trio.open_ssl_over_tcp_stream(host, port, https_compatible=True)
        return await trio.open_tcp_stream(host, port)
    except OSError as exc:
        raise ConnectError("could not connect to /agent") from exc


def _translate(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """One clear error out of the connection nursery's group."""
    found = exception_leaves(group)
    real = [exc for exc in found if not isinstance(exc, trio.Cancelled)] or found
    first = real[0]
    if isinstance(first, trio_websocket.ConnectionRejected):
        error = ConnectError("/agent upgrade rejected", status=first.status_code)
    elif isinstance(first, trio_websocket.HandshakeError | trio_websocket.ConnectionClosed):
        error = ConnectError("/agent handshake failed")
    elif isinstance(first, trio.BrokenResourceError | OSError):
        error = ConnectError("/agent connection broke")
    else:
        return first
    error.__cause__ = first
    return error
