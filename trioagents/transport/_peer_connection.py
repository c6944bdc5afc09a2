"""A peer connection whose lifetime is an ``async with`` block.

aiortc's receiver starts a non-daemon decoder thread that only stops when the
connection is closed; an unclosed connection also leaks UDP transports. So the
close is not optional: it runs in ``finally``, shielded and bounded, whether the
block ended normally, by error or by cancellation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from ._aiortc_bridge import AsyncioBridge

__all__ = ["IceServer", "open_peer_connection"]


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@asynccontextmanager
async def open_peer_connection(
    bridge: AsyncioBridge,
    *,
    ice_servers: Sequence[IceServer] = (),
    close_grace: float = 5.0,
) -> AsyncIterator[Any]:
    """Create an ``aiortc.RTCPeerConnection`` on the bridge loop; close it on exit.

    No STUN/TURN server is used unless given (aiortc would otherwise default to a
    public STUN server). Use the yielded object only inside ``bridge.run(...)``.
    """

    async def create() -> Any:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

        servers = [RTCIceServer(list(s.urls), s.username, s.credential) for s in ice_servers]
        return RTCPeerConnection(RTCConfiguration(iceServers=servers))

    pc = await bridge.run(create)
    try:
        yield pc
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(close_grace):
            await bridge.run(pc.close)
