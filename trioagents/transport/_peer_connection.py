"""A peer connection whose lifetime is an ``async with`` block.

aiortc's receiver starts a non-daemon decoder thread that only stops when the
connection is closed; an unclosed connection also leaks UDP transports. So the
close is not optional: it runs in ``finally``, shielded and bounded, whether the
block ended normally, by error or by cancellation; a few loop iterations after it
let aiortc's just-cancelled tasks complete.
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
            await bridge.run(_close_and_settle, pc)


async def _close_and_settle(pc: Any) -> None:
    """Close, then let the loop run a few iterations.

    aiortc's stop paths cancel their tasks and wait for an "exited" event set in
    the task's ``finally``; the task object itself completes one iteration later.
    A close racing aiortc's own connect task can also miss a receiver started
    meanwhile (its RTCP task would run on for a second or more), and that connect
    task (fire-and-forget in aiortc) may still be failing against the closed
    transports. Stopping every part again, cancelling and collecting the connect
    task and settling means no task of this connection is still pending when the
    ``async with`` block has ended.
    """
    import asyncio
    import contextlib

    await pc.close()
    # A receiver or sender started by aiortc's connect task while close() ran is
    # missed by close(): stop them again (best effort; stop() is a no-op otherwise).
    for transceiver in pc.getTransceivers():
        for part in (transceiver.receiver, transceiver.sender):
            with contextlib.suppress(Exception):
                await part.stop()
    # aiortc's own connect task (``ensure_future``, never awaited) may still be
    # running against closed transports: cancel it and collect its outcome.
    leftovers = [task for task in asyncio.all_tasks() if _runs_method_of(task, pc)]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)


def _runs_method_of(task: Any, owner: object) -> bool:
    frame = getattr(task.get_coro(), "cr_frame", None)
    return frame is not None and frame.f_locals.get("self") is owner
