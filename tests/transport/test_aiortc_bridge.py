"""The asyncio bridge: results, errors, cancellation, shutdown, ICE restriction.

These tests use real threads, so they run on the real clock (autojump would see
Trio idle while the loop thread works and jump time).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

from trioagents.transport import open_asyncio_bridge, open_peer_connection


def _bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "trioagents-asyncio-bridge"]


async def test_run_returns_results_and_raises_errors() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    async def boom() -> None:
        raise ValueError("bad")

    async with open_asyncio_bridge() as bridge:
        assert await bridge.run(add, 2, 3) == 5
        with pytest.raises(ValueError, match="bad"):
            await bridge.run(boom)
    assert bridge.statistics().joined
    assert _bridge_threads() == []


async def test_cancel_waits_until_the_asyncio_task_has_unwound() -> None:
    events: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # cleanup that takes a moment
            events.append("unwound")
            raise

    async with open_asyncio_bridge() as bridge:
        with trio.move_on_after(0.05) as scope:
            await bridge.run(slow)
        assert scope.cancelled_caught
        assert events == ["unwound"]  # already unwound when run() gave control back
        assert bridge.statistics().runs_cancelled == 1


async def test_leftover_tasks_are_cancelled_at_close() -> None:
    cancelled = threading.Event()

    async def spawn_orphan() -> None:
        async def orphan() -> None:
            try:
                await asyncio.sleep(100)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        asyncio.get_running_loop().create_task(orphan())
        await asyncio.sleep(0)

    async with open_asyncio_bridge() as bridge:
        await bridge.run(spawn_orphan)
    stats = bridge.statistics()
    assert stats.leftover_tasks == 1
    assert cancelled.is_set()
    assert stats.joined


async def test_post_delivers_into_trio_and_never_raises() -> None:
    got: list[int] = []
    async with open_asyncio_bridge() as bridge:

        async def producer() -> None:
            for i in range(3):
                bridge.post(got.append, i)

        await bridge.run(producer)
        await trio.sleep(0.01)
    assert got == [0, 1, 2]


async def test_closed_bridge_refuses_work() -> None:
    async with open_asyncio_bridge() as bridge:
        pass

    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError, match="closed"):
        await bridge.run(nothing)


async def test_peer_connections_use_only_the_configured_hosts_and_close() -> None:
    async with open_asyncio_bridge() as bridge:
        async with open_peer_connection(bridge) as pc1, open_peer_connection(bridge) as pc2:

            async def negotiate() -> tuple[str, str]:
                channel = pc1.createDataChannel("probe")
                opened = asyncio.get_running_loop().create_future()
                channel.on("open", lambda: opened.done() or opened.set_result(True))
                await pc1.setLocalDescription(await pc1.createOffer())
                await pc2.setRemoteDescription(pc1.localDescription)
                await pc2.setLocalDescription(await pc2.createAnswer())
                await pc1.setRemoteDescription(pc2.localDescription)
                await asyncio.wait_for(opened, 10)
                return pc1.localDescription.sdp, pc2.localDescription.sdp

            offer, answer = await bridge.run(negotiate)
        states = await bridge.run(_states, pc1, pc2)
    for sdp in (offer, answer):
        candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
        assert candidates
        assert all(" 127.0.0.1 " in line for line in candidates), candidates
    assert states == ["closed", "closed"]
    stats = bridge.statistics()
    assert stats.leftover_tasks == 0
    assert stats.joined


async def _states(*pcs: object) -> list[str]:
    return [pc.connectionState for pc in pcs]  # type: ignore[attr-defined]
