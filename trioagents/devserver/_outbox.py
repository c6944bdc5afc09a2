"""Per-connection outbound queue: synchronous enqueue, one writer task.

State changes in the registry happen synchronously and may need to notify many
connections at once; they must neither block nor fail because one peer is slow. So
every connection owns a bounded memory channel: :meth:`Outbox.put` never blocks and
never raises; a peer that lets ``capacity`` messages pile up is disconnected (its
connection scope is cancelled) rather than buffered without bound.

The writer task (:meth:`Outbox.serve`) is the only sender on the websocket apart from
the reader's control frames, which go through the websocket's own send lock.

A participant that resumes gets a new websocket: the outbox outlives its sockets.
:meth:`rebind` points it at the new socket's scope; what was queued for the lost
socket is dropped with :meth:`discard_pending` (the resume sends the full state
again, and a stale message first would break the client's resume handshake).
"""

from __future__ import annotations

import trio
from google.protobuf.message import Message

from ..core import ConnectionClosedError
from ._http import ServerWebSocket

__all__ = ["Outbox"]

DEFAULT_CAPACITY = 512


class Outbox:
    """Queue protobuf messages for one websocket; ``scope`` is the connection's scope."""

    def __init__(self, scope: trio.CancelScope, capacity: int = DEFAULT_CAPACITY) -> None:
        self._scope = scope
        self._send, self._receive = trio.open_memory_channel[Message | None](capacity)
        self.overflowed = False
        self.close_requested = False
        self.closing = trio.Event()  # close_after_flush was called: no resume after this

    def rebind(self, scope: trio.CancelScope) -> None:
        """Serve a new socket whose connection scope is ``scope`` (a resume)."""
        self._scope = scope
        self.overflowed = False

    def discard_pending(self) -> int:
        """Drop every queued message (they were meant for a lost socket); return how many."""
        dropped = 0
        while True:
            try:
                message = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return dropped
            if message is None:  # a close request stays a close request
                self.close_after_flush()
                return dropped
            dropped += 1

    def put(self, message: Message) -> None:
        """Enqueue ``message``; on overflow disconnect the peer. Never raises."""
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            self.overflowed = True
            self._scope.cancel()
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    def close_after_flush(self) -> None:
        """Ask the writer to stop after the messages already queued. Never raises."""
        self.close_requested = True
        self.closing.set()
        try:
            self._send.send_nowait(None)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self._scope.cancel()

    async def serve(self, websocket: ServerWebSocket) -> None:
        """Write queued messages until the queue says stop or the socket closes.

        Returns when a close was requested (after flushing) or the peer is gone; then
        cancels the connection scope so the reader stops too.
        """
        try:
            async for message in self._receive:
                if message is None:
                    break
                await websocket.send(message.SerializeToString())
        except ConnectionClosedError:
            pass
        finally:
            self._scope.cancel()
