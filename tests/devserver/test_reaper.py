"""Rooms close after their empty/departure timeouts; jobs learn through RoomDeleted."""

from __future__ import annotations

from typing import Any

import trio
from livekit.protocol import models

from trioagents.devserver._reaper import reap_rooms, serve_room_reaper
from trioagents.devserver._registry import Registry, RoomDeleted
from trioagents.protocol import TokenClaims, VideoGrants


def make_registry() -> tuple[Registry, list[Any]]:
    events: list[Any] = []
    return Registry(on_event=events.append, wall_clock=lambda: 0.0), events


def join(registry: Registry, identity: str, room: str, *, agent: bool = False) -> Any:
    grants = VideoGrants(room_join=True, room=room, agent=agent or None)
    claims = TokenClaims(api_key="k", identity=identity, video=grants)
    return registry.join(claims, models.ClientInfo(), lambda m: None, lambda r: None)


def test_rooms_expire_after_their_own_timeouts() -> None:
    registry, events = make_registry()
    registry.create_room("api", empty_timeout=30)
    registry.create_room("default")
    someone = join(registry, "a", "used")
    kwargs = {"departure_timeout": 20.0, "default_empty_timeout": 300.0}
    assert reap_rooms(registry, 0.0, **kwargs) == []
    registry.leave(someone, models.DisconnectReason.CLIENT_INITIATED)
    assert reap_rooms(registry, 10.0, **kwargs) == []  # "used" emptied at 10
    assert reap_rooms(registry, 29.0, **kwargs) == []
    assert reap_rooms(registry, 30.0, **kwargs) == ["api", "used"]
    assert reap_rooms(registry, 299.0, **kwargs) == []
    assert reap_rooms(registry, 300.0, **kwargs) == ["default"]
    assert [e.room.name for e in events if isinstance(e, RoomDeleted)] == ["api", "used", "default"]


def test_a_rejoin_resets_the_departure_clock() -> None:
    registry, _ = make_registry()
    kwargs = {"departure_timeout": 20.0, "default_empty_timeout": 300.0}
    first = join(registry, "a", "r")
    registry.leave(first, models.DisconnectReason.CLIENT_INITIATED)
    reap_rooms(registry, 0.0, **kwargs)
    second = join(registry, "b", "r")
    reap_rooms(registry, 15.0, **kwargs)
    registry.leave(second, models.DisconnectReason.CLIENT_INITIATED)
    assert reap_rooms(registry, 25.0, **kwargs) == []
    assert reap_rooms(registry, 45.0, **kwargs) == ["r"]


async def test_the_reaper_loop_runs_on_trio_time(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = make_registry()
    registry.create_room("idle", empty_timeout=5)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: serve_room_reaper(registry, departure_timeout=20, default_empty_timeout=300)
        )
        await trio.sleep(4.5)
        assert "idle" in registry.rooms
        await trio.sleep(1.0)
        assert "idle" not in registry.rooms
        nursery.cancel_scope.cancel()


async def test_a_room_left_with_only_its_agent_closes_after_the_departure_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """livekit-server's rule: agents do not keep a room alive (nor count as joining)."""
    registry, events = make_registry()
    user = join(registry, "user", "call")
    agent = join(registry, "agent", "call", agent=True)
    join(registry, "bot", "agents-only", agent=True)
    closed: list[int] = []
    agent.close = closed.append
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: serve_room_reaper(registry, departure_timeout=20, default_empty_timeout=300)
        )
        await trio.sleep(100)
        assert "call" in registry.rooms  # the user keeps it open
        registry.leave(user, models.DisconnectReason.CLIENT_INITIATED)
        await trio.sleep(19)
        assert "call" in registry.rooms
        await trio.sleep(2.5)  # the reaper looks once a second: within one interval
        assert "call" not in registry.rooms
        assert closed == [models.DisconnectReason.ROOM_DELETED]  # the agent is told
        assert "agents-only" in registry.rooms  # nobody joined it: the empty timeout
        await trio.sleep(200)
        assert "agents-only" not in registry.rooms
        nursery.cancel_scope.cancel()
    assert [e.room.name for e in events if isinstance(e, RoomDeleted)] == ["call", "agents-only"]
