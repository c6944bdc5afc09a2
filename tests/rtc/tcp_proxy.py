"""A loopback TCP forwarder whose connections a test can sever (a dropped network)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import trio


class TcpProxy:
    def __init__(self, nursery: trio.Nursery, target_port: int, target_host: str) -> None:
        self._nursery = nursery
        self._target_port = target_port
        self._target_host = target_host
        self._scopes: set[trio.CancelScope] = set()
        self.port = 0
        self.connections = 0

    def sever(self) -> None:
        """Abort every open connection (both directions, no close handshake)."""
        for scope in list(self._scopes):
            scope.cancel()

    async def handle(self, client: trio.SocketStream) -> None:
        self.connections += 1
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                server = await trio.open_tcp_stream(self._target_host, self._target_port)
                async with client, server, trio.open_nursery() as nursery:
                    nursery.start_soon(_pipe, client, server, nursery.cancel_scope)
                    nursery.start_soon(_pipe, server, client, nursery.cancel_scope)
            finally:
                self._scopes.discard(scope)
        await trio.aclose_forcefully(client)


async def _pipe(
    source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope
) -> None:
    try:
        async for chunk in source:
            await sink.send_all(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    scope.cancel()


@asynccontextmanager
async def open_tcp_proxy(
    target_port: int, target_host: str = "127.0.0.1"
) -> AsyncIterator[TcpProxy]:
    """Listens on 127.0.0.1 (an ephemeral port), forwards to the target."""
    async with trio.open_nursery() as nursery:
        proxy = TcpProxy(nursery, target_port, target_host)
        listeners = await nursery.start(partial(trio.serve_tcp, proxy.handle, 0, host="127.0.0.1"))
        proxy.port = listeners[0].socket.getsockname()[1]
        try:
            yield proxy
        finally:
            nursery.cancel_scope.cancel()
