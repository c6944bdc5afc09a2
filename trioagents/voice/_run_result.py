"""Text-mode runs and ordered-event assertions (in the spirit of LiveKit's ``RunResult``).

``session.run(user_input=...)`` records the user message, generates a reply and
returns a :class:`RunResult` holding the chat items the run added, in order::

    result = await session.run(user_input="What's the weather?")
    result.expect.next_event().is_function_call(name="get_weather")
    result.expect.next_event().is_function_call_output()
    result.expect.next_event().is_message(role="assistant", contains="sunny")
    result.expect.no_more_events()

Assertion failures raise ``AssertionError`` naming the event index and what was
found, so they read well in pytest output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ..core import (
    AgentHandoff,
    ChatItem,
    ChatMessage,
    ChatRole,
    EndSession,
    FunctionCall,
    FunctionCallOutput,
    SkipTurn,
)
from ._events import ConversationItemAdded, ErrorOccurred

if TYPE_CHECKING:
    from ._session import AgentSession
    from ._speech_handle import SpeechHandle

__all__ = ["EventAssert", "RunExpectations", "RunResult", "collect_run"]


class EventAssert:
    """Assertions about one chat item of a run; each returns the item on success."""

    def __init__(self, index: int, item: ChatItem) -> None:
        self.index = index
        self.item = item

    def _fail(self, expected: str) -> AssertionError:
        return AssertionError(f"event {self.index}: expected {expected}, got {self.item!r}")

    def is_message(
        self, *, role: ChatRole | None = None, contains: str | None = None
    ) -> ChatMessage:
        item = self.item
        if not isinstance(item, ChatMessage):
            raise self._fail("a message")
        if role is not None and item.role != role:
            raise self._fail(f"a {role} message")
        if contains is not None and contains.lower() not in item.content.lower():
            raise self._fail(f"a message containing {contains!r}")
        return item

    def is_function_call(self, *, name: str | None = None) -> FunctionCall:
        item = self.item
        if not isinstance(item, FunctionCall) or (name is not None and item.name != name):
            raise self._fail(f"a function call{f' to {name}' if name else ''}")
        return item

    def is_function_call_output(self, *, is_error: bool | None = None) -> FunctionCallOutput:
        item = self.item
        if not isinstance(item, FunctionCallOutput):
            raise self._fail("a function call output")
        if is_error is not None and item.is_error != is_error:
            raise self._fail(f"a function call output with is_error={is_error}")
        return item

    def is_agent_handoff(self, *, new_agent: str | None = None) -> AgentHandoff:
        item = self.item
        if not isinstance(item, AgentHandoff) or (
            new_agent is not None and item.new_agent != new_agent
        ):
            raise self._fail("an agent handoff")
        return item


class RunExpectations:
    """A cursor over the run's items."""

    def __init__(self, items: list[ChatItem]) -> None:
        self._items = items
        self._cursor = 0

    def next_event(self) -> EventAssert:
        if self._cursor >= len(self._items):
            raise AssertionError(f"expected an event at index {self._cursor}, the run has no more")
        event = EventAssert(self._cursor, self._items[self._cursor])
        self._cursor += 1
        return event

    def skip_next(self, count: int = 1) -> None:
        for _ in range(count):
            self.next_event()

    def no_more_events(self) -> None:
        if self._cursor < len(self._items):
            rest = self._items[self._cursor :]
            raise AssertionError(f"expected no more events, {len(rest)} left: {rest!r}")

    def contains_message(
        self, *, role: ChatRole | None = None, contains: str | None = None
    ) -> ChatMessage:
        for index, item in enumerate(self._items):
            try:
                return EventAssert(index, item).is_message(role=role, contains=contains)
            except AssertionError:
                continue
        raise AssertionError(f"no {role or ''} message containing {contains!r} in the run")


@dataclass(slots=True)
class RunResult:
    speech: SpeechHandle
    items: list[ChatItem] = field(default_factory=list)
    expect: RunExpectations = field(init=False)

    def __post_init__(self) -> None:
        self.expect = RunExpectations(self.items)


async def collect_run(session: AgentSession[Any], user_input: str) -> RunResult:
    # A turn-based exchange: the user speaks once the agent is done (an opening line
    # from on_enter included), so what the agent heard does not depend on scheduling.
    await session.wait_idle()
    events = session.subscribe()
    with events:
        speech = session.generate_reply(user_input=user_input)
        await session.wait_idle()
        items: list[ChatItem] = []
        errors: list[ErrorOccurred] = []
        while True:
            try:
                event = events.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if isinstance(event, ConversationItemAdded):
                items.append(event.item)
            elif isinstance(event, ErrorOccurred):
                errors.append(event)
    failed = [e for e in errors if isinstance(e.action, SkipTurn | EndSession)]
    if failed:
        raise failed[-1].error
    return RunResult(speech=speech, items=items)
