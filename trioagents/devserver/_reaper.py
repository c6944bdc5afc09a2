"""Closing rooms nobody uses, as livekit-server does.

A room that had participants is deleted ``departure_timeout`` seconds after the last
one left; a room created through the API that nobody joined is deleted after its
``empty_timeout`` (or ``default_empty_timeout``). Deleting a room terminates its
agent jobs (through the registry's RoomDeleted event).

As in livekit-server (``Room.CloseIfEmpty``), *dependent* participants -- agents,
egress, recorders -- do not keep a room alive and do not count as having joined it:
a room left with only its agent closes after the departure timeout, and a room only
an agent ever joined closes after its empty timeout.

Times are Trio's clock; the loop checks once per ``interval`` (a checkpoint each
time), so timeouts are honoured to within one interval.
"""

from __future__ import annotations

import trio

from ._registry import Registry

__all__ = ["reap_rooms", "serve_room_reaper"]


def reap_rooms(
    registry: Registry, now: float, *, departure_timeout: float, default_empty_timeout: float
) -> list[str]:
    """Delete the rooms whose grace has run out at ``now``; return their names."""
    expired: list[str] = []
    for name, room in list(registry.rooms.items()):
        if room.occupied:
            room.empty_since = None
            continue
        if room.empty_since is None:
            room.empty_since = now
        if room.ever_joined:
            limit = departure_timeout
        else:
            limit = float(room.info.empty_timeout) or default_empty_timeout
        if now - room.empty_since >= limit:
            registry.delete_room(name)
            expired.append(name)
    return expired


async def serve_room_reaper(
    registry: Registry,
    *,
    departure_timeout: float,
    default_empty_timeout: float,
    interval: float = 1.0,
) -> None:
    """Run :func:`reap_rooms` every ``interval`` seconds until cancelled."""
    while True:
        reap_rooms(
            registry,
            trio.current_time(),
            departure_timeout=departure_timeout,
            default_empty_timeout=default_empty_timeout,
        )
        await trio.sleep(interval)
