"""``result.expect``: a cursor over a run's events, random access and searches.

:class:`RunExpectations` walks the events in order (``next_event``, ``skip_next``,
``skip_next_event_if``, ``no_more_events``); ``expect[i]`` and ``expect[a:b]`` read
without moving the cursor; ``contains_*`` search all events (or a slice's, on an
:class:`EventRangeAssert`). The checks themselves are :class:`EventAssert`'s
(:mod:`._run_assert`). A search returns the first matching event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar, overload

from ..core import ChatRole
from ._run_assert import (
    AgentHandoffAssert,
    ChatMessageAssert,
    EventAssert,
    EventListing,
    FunctionCallAssert,
    FunctionCallOutputAssert,
    ItemAssert,
    RunEvent,
    RunEventType,
)

__all__ = ["EventRangeAssert", "RunExpectations"]

_A = TypeVar("_A", bound=ItemAssert)


class EventRangeAssert:
    """Searches within a slice of the run's events (``result.expect[a:b]``)."""

    __slots__ = ("_context", "_range")

    def __init__(self, context: EventListing, key: slice) -> None:
        self._context = context
        self._range = range(*key.indices(len(context.events)))

    def _find(self, check: Callable[[EventAssert], _A], what: str) -> _A:
        for index in self._range:
            try:
                return check(EventAssert(self._context.events[index], index, self._context))
            except AssertionError:
                continue
        span = f"events {self._range[0]}..{self._range[-1]}" if self._range else "no events"
        raise self._context.fail(f"no {what} among the run's {span}", None)

    def contains_message(
        self, *, role: ChatRole | None = None, contains: str | None = None
    ) -> ChatMessageAssert:
        what = f"{role + ' ' if role else ''}message"
        if contains is not None:
            what += f" containing {contains!r}"
        return self._find(lambda e: e.is_message(role=role, contains=contains), what)

    def contains_function_call(
        self, *, name: str | None = None, arguments: Mapping[str, Any] | None = None
    ) -> FunctionCallAssert:
        what = f"function call{f' to {name}' if name else ''}"
        if arguments is not None:
            what += f" with arguments {dict(arguments)!r}"
        return self._find(lambda e: e.is_function_call(name=name, arguments=arguments), what)

    def contains_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> FunctionCallOutputAssert:
        what = "function call output"
        if output is not None:
            what += f" equal to {output!r}"
        if is_error is not None:
            what += f" with is_error={is_error}"
        return self._find(
            lambda e: e.is_function_call_output(output=output, is_error=is_error), what
        )

    def contains_agent_handoff(
        self, *, new_agent_type: type[Any] | None = None, new_agent: str | None = None
    ) -> AgentHandoffAssert:
        target = new_agent_type.__name__ if new_agent_type is not None else new_agent
        what = f"agent handoff{f' to {target}' if target else ''}"
        return self._find(
            lambda e: e.is_agent_handoff(new_agent_type=new_agent_type, new_agent=new_agent),
            what,
        )


class RunExpectations(EventRangeAssert):
    """A cursor over the run's events, plus searches over all of them."""

    __slots__ = ("_cursor",)

    def __init__(self, events: Sequence[RunEvent]) -> None:
        super().__init__(EventListing(events), slice(None))
        self._cursor = 0

    @overload
    def __getitem__(self, key: int) -> EventAssert: ...
    @overload
    def __getitem__(self, key: slice) -> EventRangeAssert: ...

    def __getitem__(self, key: int | slice) -> EventAssert | EventRangeAssert:
        """``expect[i]`` (negative from the end) or ``expect[a:b]``; the cursor stays."""
        events = self._context.events
        if isinstance(key, slice):
            return EventRangeAssert(self._context, key)
        if not isinstance(key, int):
            raise TypeError(f"event indices are int or slice, not {type(key).__name__}")
        index = key + len(events) if key < 0 else key
        if not 0 <= index < len(events):
            raise self._context.fail(f"no event {key}: the run has {len(events)}", None)
        return EventAssert(events[index], index, self._context)

    @overload
    def next_event(self, *, type: None = None) -> EventAssert: ...
    @overload
    def next_event(self, *, type: Literal["message"]) -> ChatMessageAssert: ...
    @overload
    def next_event(self, *, type: Literal["function_call"]) -> FunctionCallAssert: ...
    @overload
    def next_event(self, *, type: Literal["function_call_output"]) -> FunctionCallOutputAssert: ...
    @overload
    def next_event(self, *, type: Literal["agent_handoff"]) -> AgentHandoffAssert: ...

    def next_event(self, *, type: RunEventType | None = None) -> ItemAssert:
        """The next event (with ``type``: the next one of that kind, skipping others)."""
        if type is not None:
            _check_type(type)
        while True:
            event = self._current()
            self._cursor += 1
            if type is None:
                return event
            if event.event().type == type:
                return _typed(event)

    def skip_next(self, count: int = 1) -> RunExpectations:
        """Move past ``count`` events without checking them; returns ``self``."""
        for _ in range(count):
            self._current()
            self._cursor += 1
        return self

    @overload
    def skip_next_event_if(
        self, *, type: Literal["message"], role: ChatRole | None = None
    ) -> ChatMessageAssert | None: ...
    @overload
    def skip_next_event_if(
        self,
        *,
        type: Literal["function_call"],
        name: str | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> FunctionCallAssert | None: ...
    @overload
    def skip_next_event_if(
        self,
        *,
        type: Literal["function_call_output"],
        output: str | None = None,
        is_error: bool | None = None,
    ) -> FunctionCallOutputAssert | None: ...
    @overload
    def skip_next_event_if(
        self, *, type: Literal["agent_handoff"], new_agent_type: type[Any] | None = None
    ) -> AgentHandoffAssert | None: ...

    def skip_next_event_if(
        self,
        *,
        type: RunEventType,
        role: ChatRole | None = None,
        name: str | None = None,
        arguments: Mapping[str, Any] | None = None,
        output: str | None = None,
        is_error: bool | None = None,
        new_agent_type: type[Any] | None = None,
    ) -> ItemAssert | None:
        """Skip the next event if it matches; return its typed assert, else None.

        The criteria are those of the ``is_*`` check of ``type`` (``role`` for a
        message, ``name``/``arguments`` for a call, ``output``/``is_error`` for an
        output, ``new_agent_type`` for a handoff). No next event: None.
        """
        _check_type(type)
        if self._cursor >= len(self._context.events):
            return None
        event = EventAssert(self._context.events[self._cursor], self._cursor, self._context)
        checks: dict[str, Callable[[], ItemAssert]] = {
            "message": lambda: event.is_message(role=role),
            "function_call": lambda: event.is_function_call(name=name, arguments=arguments),
            "function_call_output": lambda: event.is_function_call_output(
                output=output, is_error=is_error
            ),
            "agent_handoff": lambda: event.is_agent_handoff(new_agent_type=new_agent_type),
        }
        try:
            matched = checks[type]()
        except AssertionError:
            return None
        self._cursor += 1
        return matched

    def no_more_events(self) -> None:
        events = self._context.events
        if self._cursor < len(events):
            left = len(events) - self._cursor
            raise self._context.fail(f"expected no more events, {left} left", self._cursor)

    def _current(self) -> EventAssert:
        events = self._context.events
        if self._cursor >= len(events):
            raise self._context.fail(
                f"expected an event at index {self._cursor}, the run has no more", None
            )
        return EventAssert(events[self._cursor], self._cursor, self._context)


_TYPES = ("message", "function_call", "function_call_output", "agent_handoff")


def _check_type(kind: str) -> None:
    if kind not in _TYPES:
        raise ValueError(f"unknown event type {kind!r}; use one of {', '.join(_TYPES)}")


def _typed(event: EventAssert) -> ItemAssert:
    kind = event.event().type
    if kind == "message":
        return event.is_message()
    if kind == "function_call":
        return event.is_function_call()
    if kind == "function_call_output":
        return event.is_function_call_output()
    return event.is_agent_handoff()
