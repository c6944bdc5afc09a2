"""Fan-out of session events to subscribers over memory channels.

``publish`` never blocks and never checkpoints: it runs inside turn scopes and the
interruption path, which must not wait on a slow listener. Each subscriber has an
unbounded buffer (a listener that never reads grows it; close your receiver to
unsubscribe). A closed receiver is dropped at the next publish. ``close()`` ends
every subscription (the receivers see end-of-channel).

The bus keeps no log of its own: a session of a long call would hold every event
it ever published (10 k per session were kept before, for no reader). A reader
subscribes (``session.subscribe()``, ``session.on``, ``session.run()``).
"""

from __future__ import annotations

import math

import trio

from ._events import (
    AgentState,
    AgentStateChanged,
    SessionEvent,
    UserState,
    UserStateChanged,
)

__all__ = ["EventBus", "StateTracker"]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[trio.MemorySendChannel[SessionEvent]] = []
        self.published = 0  # events published so far (the index of the next one)
        self._closed = False

    def subscribe(self) -> trio.MemoryReceiveChannel[SessionEvent]:
        send, recv = trio.open_memory_channel[SessionEvent](math.inf)
        if self._closed:
            send.close()
        else:
            self._subscribers.append(send)
        return recv

    def publish(self, event: SessionEvent) -> None:
        self.published += 1
        alive = []
        for send in self._subscribers:
            try:
                send.send_nowait(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                continue
            alive.append(send)
        self._subscribers = alive

    def close(self) -> None:
        self._closed = True
        for send in self._subscribers:
            send.close()
        self._subscribers = []


class StateTracker:
    """Agent and user state; each change is published once (no event for a no-op)."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.agent: AgentState = "initializing"
        self.user: UserState = "listening"
        self.agent_spoke_at: float | None = None  # when the agent last began speaking
        self.agent_changed = trio.Event()
        self.user_changed = trio.Event()
        # either changed: one event to wait on (waiting for the first of two events
        # needs a nursery and two tasks per change, the replay hot spot)
        self._changed = trio.Event()

    def _mark_changed(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def set_agent(self, state: AgentState) -> None:
        if state == self.agent:
            return
        event = AgentStateChanged(self.agent, state, trio.current_time())
        self.agent = state
        if state == "speaking":
            self.agent_spoke_at = event.created_at
        self.agent_changed.set()
        self.agent_changed = trio.Event()
        self._mark_changed()
        self._bus.publish(event)

    def set_user(self, state: UserState) -> None:
        if state == self.user:
            return
        event = UserStateChanged(self.user, state, trio.current_time())
        self.user = state
        self.user_changed.set()
        self.user_changed = trio.Event()
        self._mark_changed()
        self._bus.publish(event)

    async def serve_away_detection(self, away_after: float) -> None:
        """Set the user ``away`` after ``away_after`` s of mutual silence; until cancelled."""
        while True:
            changed = self._changed
            if self.agent == "listening" and self.user == "listening":
                with trio.move_on_after(away_after) as scope:
                    await changed.wait()
                if scope.cancelled_caught:
                    self.set_user("away")
                continue
            await changed.wait()

    async def wait_user_not_speaking(self) -> None:
        """Return once the user is not speaking (checkpoints even if already so)."""
        await trio.lowlevel.checkpoint()
        while self.user == "speaking":
            await self.user_changed.wait()
