"""``session.on(name, callback)``: LiveKit-style event listeners over the event bus.

Listeners are a convenience on top of :meth:`AgentSession.subscribe`, not a second
event path: one dispatcher task reads a bus subscription and calls the listeners of
each event, in registration order, events in the order published. So:

* a listener never runs inside a turn, the interruption path or any other scope of
  the pipeline -- ``publish()`` stays synchronous and never waits on user code; a
  listener runs a moment *after* the event (it may see a newer ``session.agent_state``
  than the event's);
* a sync listener is called in the dispatcher task; an async listener is awaited
  there, so it delays the listeners after it (never the pipeline): long work belongs
  in a nursery of your own;
* speech a listener creates (``session.say``) is queued: the dispatcher belongs to
  no turn;
* a listener's exception is not swallowed: it ends the session (``SessionClosed``
  reason ``"listener_error"``) and leaves ``async with session.start(...)`` as
  itself, like an error of ``on_enter``. A listener that must not end the call
  catches its own errors. (LiveKit Agents logs and carries on; this is the house
  rule that errors of user code we call propagate.)

The dispatcher is started by ``session.start()`` (or by the first ``on()`` inside
the block), in a nursery that encloses the session's own, so it outlives the
session's tasks: the events of the close -- ``SessionClosed`` last -- are still
delivered, within ``close_grace``. A listener registered while the session runs
receives the events published from then on.

Rejected alternative: calling listeners inside ``EventBus.publish`` (LiveKit's
``EventEmitter.emit``). Publish points sit in synchronous critical sections (the
end-of-turn decision, barge-in, a handoff's swap); a listener that calls back into
the session there (``interrupt()``, ``say()``) would run in the middle of a state
change.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

import trio

from ..core import ConfigurationError
from ._event_bus import EventBus
from ._events import (
    AgentHandedOff,
    AgentStateChanged,
    ConversationItemAdded,
    ErrorOccurred,
    FalseInterruptionDetected,
    FunctionToolsExecuted,
    SessionClosed,
    SessionEvent,
    SessionUsageUpdated,
    SpeechCreated,
    TurnMetricsCollected,
    UserInputTranscribed,
    UserStateChanged,
)

__all__ = ["EVENT_NAMES", "EventListeners", "EventName", "Listener"]

EventName: TypeAlias = Literal[
    "agent_state_changed",
    "user_state_changed",
    "user_input_transcribed",
    "conversation_item_added",
    "speech_created",
    "agent_false_interruption",
    "function_tools_executed",
    "metrics_collected",
    "session_usage_updated",
    "agent_handed_off",
    "error",
    "close",
]

EVENT_NAMES: Mapping[str, type] = {
    "agent_state_changed": AgentStateChanged,
    "user_state_changed": UserStateChanged,
    "user_input_transcribed": UserInputTranscribed,
    "conversation_item_added": ConversationItemAdded,
    "speech_created": SpeechCreated,
    "agent_false_interruption": FalseInterruptionDetected,
    "function_tools_executed": FunctionToolsExecuted,
    "metrics_collected": TurnMetricsCollected,
    "session_usage_updated": SessionUsageUpdated,
    "agent_handed_off": AgentHandedOff,
    "error": ErrorOccurred,
    "close": SessionClosed,
}
"""LiveKit Agents' event names (plus ``agent_handed_off``) and the events they carry."""

Listener: TypeAlias = Callable[[Any], object]


def event_type(event: str | type) -> type:
    """The event class for a LiveKit name or a class; raises ConfigurationError."""
    if isinstance(event, str):
        found = EVENT_NAMES.get(event)
        if found is None:
            known = ", ".join(sorted(EVENT_NAMES))
            raise ConfigurationError(f"unknown session event {event!r}; known names: {known}")
        return found
    if isinstance(event, type) and event in EVENT_NAMES.values():
        return event
    raise ConfigurationError(
        "session.on() takes an event name (e.g. 'user_input_transcribed') or an event "
        "class (e.g. UserInputTranscribed)"
    )


class _Entry:
    __slots__ = ("active", "callback", "kind", "once", "since")

    def __init__(self, kind: type, callback: Listener, once: bool, since: int) -> None:
        self.kind = kind
        self.callback = callback
        self.once = once
        self.since = since  # index of the first bus event it receives
        self.active = True


class EventListeners:
    """The listeners of one session and their dispatcher (see the module docstring)."""

    def __init__(self, bus: EventBus, on_failure: Callable[[], None]) -> None:
        self._bus = bus
        self._on_failure = on_failure
        self._entries: list[_Entry] = []
        self._nursery: trio.Nursery | None = None
        self._dispatching = False
        self._scope = trio.CancelScope()

    def add(self, event: str | type, callback: Listener, *, once: bool = False) -> None:
        """Register ``callback`` for ``event`` (synchronous; see ``AgentSession.on``)."""
        kind = event_type(event)
        if not callable(callback):
            raise ConfigurationError("a session event listener must be callable")
        self._entries.append(_Entry(kind, callback, once, self._bus.published))
        self._start_dispatching()

    def remove(self, event: str | type, callback: Listener) -> None:
        """Unregister ``callback`` for ``event`` (every registration of it); no-op if absent."""
        kind = event_type(event)
        for entry in self._entries:
            if entry.kind is kind and entry.callback == callback:
                entry.active = False
        self._entries = [entry for entry in self._entries if entry.active]

    def open(self, nursery: trio.Nursery) -> None:
        """The session started: dispatch in ``nursery`` (which encloses the session's)."""
        self._nursery = nursery
        self._start_dispatching()

    def close(self, grace: float) -> None:
        """The session closed (its last event is published): finish within ``grace``."""
        self._nursery = None
        self._scope.deadline = min(self._scope.deadline, trio.current_time() + grace)

    def _start_dispatching(self) -> None:
        if self._dispatching or self._nursery is None or not self._entries:
            return
        self._dispatching = True
        channel = self._bus.subscribe()  # now: no event between this and the task is lost
        self._nursery.start_soon(self._serve, channel, self._bus.published)

    async def _serve(self, channel: trio.MemoryReceiveChannel[SessionEvent], index: int) -> None:
        with self._scope, channel:
            async for event in channel:
                try:
                    await self._dispatch(event, index)
                except Exception:
                    self._on_failure()
                    raise
                index += 1

    async def _dispatch(self, event: SessionEvent, index: int) -> None:
        for entry in list(self._entries):
            if not entry.active or index < entry.since or not isinstance(event, entry.kind):
                continue
            if entry.once:
                entry.active = False
                self._entries.remove(entry)
            result = entry.callback(event)
            if inspect.isawaitable(result):
                await result
