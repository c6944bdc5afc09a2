"""``open_room``: the room's lifetime as an ``async with`` block.

Owns the asyncio bridge (unless one is passed in, e.g. the worker's shared one)
and a nursery holding the room supervisor plus short-lived tasks (RPC handlers,
text-stream handlers). On exit: a leave is sent (shielded, 1 s), the nursery is
cancelled, every peer connection is closed (shielded, bounded) and, if the bridge
is ours, its loop thread is drained and joined. A failure of the first join is
raised as the single error it is (ConnectError, JoinRefusedError,
RemoteProtocolError), not as an exception group.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import trio

from ..core import async_with_only, collapse_single_error
from ..transport import AsyncioBridge, open_asyncio_bridge
from ._room import Room, RoomOptions

__all__ = ["open_room"]


@async_with_only("async with open_room(url, token) as room:")
@asynccontextmanager
async def open_room(
    url: str,
    token: str,
    options: RoomOptions | None = None,
    *,
    bridge: AsyncioBridge | None = None,
) -> AsyncIterator[Room]:
    """Join the room at ``url`` with ``token``; see the module docstring."""
    options = options or RoomOptions()
    async with AsyncExitStack() as stack:
        if bridge is None:
            bridge = await stack.enter_async_context(
                open_asyncio_bridge(ice_host_addresses=options.ice_host_addresses)
            )
        with collapse_single_error():
            async with trio.open_nursery() as nursery:
                room = Room(bridge, url, token, options, nursery)
                await nursery.start(room.serve)
                try:
                    yield room
                finally:
                    # when cancelled, the socket's reader is going away with us:
                    # send the leave, but do not wait for a close handshake
                    graceful = trio.current_effective_deadline() != -math.inf
                    with trio.CancelScope(shield=True), trio.move_on_after(1):
                        await room.disconnect(close_socket=graceful)
                    nursery.cancel_scope.cancel()
