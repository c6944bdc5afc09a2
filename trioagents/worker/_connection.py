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

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio
import trio_websocket

from ..core import ConnectError, ConnectionClosedError
from ..protocol import MAX_MESSAGE_SIZE

__all__ = ["AgentConnection", "open_agent_connection"]


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
async def open_agent_connection(url: str, token: str) -> AsyncIterator[AgentConnection]:
    """Connect to ``url`` (already ending in ``/agent``) with a bearer token.

    Raises :class:`ConnectError` if the connection or the upgrade fails. Closing is
    trio-websocket's, bounded by its ``disconnect_timeout``.
    """
    headers = [(b"authorization", f"Bearer {token}".encode())]
    try:
        connection = trio_websocket.open_websocket_url(
            url,
            extra_headers=headers,
            message_queue_size=32,
            max_message_size=MAX_MESSAGE_SIZE,
            disconnect_timeout=2,
        )
        websocket = await connection.__aenter__()
    except trio_websocket.ConnectionRejected as exc:
        raise ConnectError("/agent upgrade rejected", status=exc.status_code) from exc
    except (trio_websocket.HandshakeError, OSError) as exc:
        raise ConnectError("could not connect to /agent") from exc
    try:
        yield AgentConnection(websocket)
    except BaseException as exc:
        if not await connection.__aexit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        await connection.__aexit__(None, None, None)
