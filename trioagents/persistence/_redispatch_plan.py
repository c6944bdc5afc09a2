"""The re-dispatch decision, as a clock-free state machine (no I/O, no trio).

Per room it tracks whether our agent is absent, since when, and whether this
*vanish* has already been answered. The supervisor loop feeds it observations and
outcomes; it answers "dispatch now?". Keeping the rules here lets tests drive them
with plain numbers and lets docs draw them:

    present ──agent gone, humans stay──▶ absent(since t)
    absent ──t + grace, not before next_attempt──▶ dispatching
    dispatching ──ok──▶ answered      (never again for this vanish)
    dispatching ──failed──▶ absent, next_attempt = now + backoff (doubling, capped)
    any ──agent seen──▶ present       (a later vanish is a new vanish)

"Humans gone" pauses the absence clock (there is nobody to serve) but does not reset
``answered``: a dispatch already made for this vanish stays the only one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RedispatchPlanner"]


@dataclass(slots=True)
class _RoomState:
    absent_since: float | None = None
    answered: bool = False
    in_flight: bool = False
    failures: int = 0
    next_attempt: float = float("-inf")
    baseline: frozenset[str] | None = None


class RedispatchPlanner:
    """Decides when a watched room needs a new dispatch; one decision per vanish."""

    def __init__(self, *, grace_period: float, retry_initial: float, retry_max: float) -> None:
        self.grace_period = grace_period
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._rooms: dict[str, _RoomState] = {}

    def observe(
        self, room: str, now: float, *, watched: bool, agent_present: bool, humans_present: bool
    ) -> bool:
        """Record one poll of ``room``; True means "create a dispatch now".

        A True answer marks the attempt in flight: report it with
        :meth:`dispatch_succeeded` or :meth:`dispatch_failed`.
        """
        state = self._rooms.setdefault(room, _RoomState())
        if agent_present:
            self._rooms[room] = _RoomState()
            return False
        if not watched or not humans_present:
            state.absent_since = None
            return False
        if state.absent_since is None:
            state.absent_since = now
        if state.answered or state.in_flight:
            return False
        if now - state.absent_since < self.grace_period or now < state.next_attempt:
            return False
        state.in_flight = True
        return True

    def absent_for(self, room: str, now: float) -> float:
        state = self._rooms.get(room)
        if state is None or state.absent_since is None:
            return 0.0
        return now - state.absent_since

    def baseline(self, room: str) -> frozenset[str] | None:
        """Dispatch ids that existed before this vanish's first attempt (None: not taken)."""
        state = self._rooms.get(room)
        return None if state is None else state.baseline

    def set_baseline(self, room: str, dispatch_ids: Iterable[str]) -> None:
        self._rooms.setdefault(room, _RoomState()).baseline = frozenset(dispatch_ids)

    def dispatch_succeeded(self, room: str) -> None:
        state = self._rooms.setdefault(room, _RoomState())
        state.in_flight = False
        state.answered = True
        state.failures = 0

    def dispatch_failed(self, room: str, now: float) -> float:
        """Record a failed attempt; returns the delay before the next one."""
        state = self._rooms.setdefault(room, _RoomState())
        state.in_flight = False
        state.failures += 1
        delay = min(self.retry_max, self.retry_initial * 2.0 ** (state.failures - 1))
        state.next_attempt = now + delay
        return delay

    def forget_except(self, rooms: Iterable[str]) -> None:
        """Drop the state of rooms that no longer exist."""
        keep = set(rooms)
        for room in list(self._rooms):
            if room not in keep:
                del self._rooms[room]
