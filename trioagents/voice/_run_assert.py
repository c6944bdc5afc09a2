"""Checks of one event of a run (LiveKit's ``EventAssert`` API shape).

``result.expect`` (:mod:`._run_expect`) hands out an :class:`EventAssert` per
event. Each ``is_*`` check returns a typed assert for the matched event, which
gives the chat item (``.item``, plus its main fields as properties) and, for a
message, :meth:`ChatMessageAssert.judge` (an LLM decides whether it fulfils an
intent).

Every failure is an ``AssertionError`` whose first line names the event index and
what was expected, followed by a listing of the run's events with the failing one
marked ``>>>``. Nothing here awaits except :meth:`ChatMessageAssert.judge`.

Argument matching follows LiveKit: ``arguments={...}`` checks that each given key
is present in the call's parsed JSON arguments with an equal value; keys not given
are not checked. A handoff's ``new_agent_type`` matches with ``isinstance`` against
the agent object the session switched to (by class name when the run does not know
the object, e.g. for items built by hand).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ..core import (
    LLM,
    AgentHandoff,
    ChatItem,
    ChatMessage,
    ChatRole,
    FunctionCall,
    FunctionCallOutput,
)
from ._judge import judge_message

__all__ = [
    "AgentHandoffAssert",
    "ChatMessageAssert",
    "EventAssert",
    "EventListing",
    "FunctionCallAssert",
    "FunctionCallOutputAssert",
    "ItemAssert",
    "RunEvent",
    "RunEventType",
]

RunEventType: TypeAlias = Literal[
    "message", "function_call", "function_call_output", "agent_handoff"
]
_TYPE_OF: dict[type[Any], RunEventType] = {
    ChatMessage: "message",
    FunctionCall: "function_call",
    FunctionCallOutput: "function_call_output",
    AgentHandoff: "agent_handoff",
}
_MAX_SHOWN = 120


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One event of a run: a chat item and its kind.

    ``new_agent`` is the agent object a handoff switched to (None for other kinds,
    and for a handoff whose object the run does not know).
    """

    type: RunEventType
    item: ChatItem
    new_agent: Any = None

    @classmethod
    def of(cls, item: ChatItem, new_agent: Any = None) -> RunEvent:
        return cls(_TYPE_OF[type(item)], item, new_agent)


class EventListing:
    """The run's events, for failure messages that show where the run stood."""

    __slots__ = ("events",)

    def __init__(self, events: Sequence[RunEvent]) -> None:
        self.events = events

    def fail(self, message: str, index: int | None) -> AssertionError:
        lines = [message, "run events:"]
        for position, event in enumerate(self.events):
            marker = ">>>" if position == index else "   "
            lines.append(f"{marker} [{position}] {_describe(event.item)}")
        if not self.events:
            lines.append("    (none)")
        return AssertionError("\n".join(lines))


def _describe(item: ChatItem) -> str:
    if isinstance(item, ChatMessage):
        text = f"message {item.role}: {_short(item.content)}"
    elif isinstance(item, FunctionCall):
        text = f"function_call {item.name}({_short(item.arguments)})"
    elif isinstance(item, FunctionCallOutput):
        flag = " (error)" if item.is_error else ""
        text = f"function_call_output {item.name}{flag}: {_short(item.output)}"
    else:
        text = f"agent_handoff {item.old_agent} -> {item.new_agent}"
    return text


def _short(text: str) -> str:
    return repr(text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "...")


class ItemAssert:
    """What every typed assert has: the event, its index, and the run for messages."""

    __slots__ = ("_context", "_event", "index")

    def __init__(self, event: RunEvent, index: int, context: EventListing) -> None:
        self._event = event
        self._context = context
        self.index = index

    def event(self) -> RunEvent:
        """The matched event (``.item`` is the chat item, ``.type`` its kind)."""
        return self._event

    def _fail(self, message: str) -> AssertionError:
        return self._context.fail(f"event {self.index}: {message}", self.index)


class ChatMessageAssert(ItemAssert):
    """A matched message: ``item`` is the :class:`~trioagents.core.ChatMessage`."""

    __slots__ = ()

    @property
    def item(self) -> ChatMessage:
        item = self._event.item
        assert isinstance(item, ChatMessage)
        return item

    @property
    def role(self) -> ChatRole:
        return self.item.role

    @property
    def content(self) -> str:
        return self.item.content

    async def judge(self, llm: LLM, *, intent: str) -> ChatMessageAssert:
        """Ask ``llm`` whether this message fulfils ``intent``; returns ``self``.

        The LLM is asked to call a ``check_intent(success, reason)`` tool (see
        :mod:`._judge`). Raises ``AssertionError`` carrying the judge's reason when
        it says no, or when its answer cannot be read; ``ProviderError`` from the
        LLM propagates. Cancellable while the completion streams.
        """
        if not intent.strip():
            raise self._fail("judge() needs a non-empty intent")
        if not self.item.content.strip():
            raise self._fail("the message to judge is empty")
        verdict = await judge_message(llm, self.item.content, intent)
        if verdict.problem is not None:
            raise self._fail(f"the judge's answer could not be used: {verdict.problem}")
        if not verdict.success:
            raise self._fail(
                f"the judge says the message does not fulfil the intent {intent!r}: "
                f"{verdict.reason}"
            )
        return self


class FunctionCallAssert(ItemAssert):
    """A matched call: ``item`` is the :class:`~trioagents.core.FunctionCall`."""

    __slots__ = ()

    @property
    def item(self) -> FunctionCall:
        item = self._event.item
        assert isinstance(item, FunctionCall)
        return item

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def call_id(self) -> str:
        return self.item.call_id

    @property
    def arguments(self) -> str:
        """The raw JSON text the LLM produced."""
        return self.item.arguments


class FunctionCallOutputAssert(ItemAssert):
    """A matched output: ``item`` is the :class:`~trioagents.core.FunctionCallOutput`."""

    __slots__ = ()

    @property
    def item(self) -> FunctionCallOutput:
        item = self._event.item
        assert isinstance(item, FunctionCallOutput)
        return item

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def call_id(self) -> str:
        return self.item.call_id

    @property
    def output(self) -> str:
        return self.item.output

    @property
    def is_error(self) -> bool:
        return self.item.is_error


class AgentHandoffAssert(ItemAssert):
    """A matched handoff: ``item`` is the :class:`~trioagents.core.AgentHandoff`."""

    __slots__ = ()

    @property
    def item(self) -> AgentHandoff:
        item = self._event.item
        assert isinstance(item, AgentHandoff)
        return item

    @property
    def new_agent(self) -> str:
        """The new agent's class name (``event().new_agent`` is the object)."""
        return self.item.new_agent

    @property
    def old_agent(self) -> str | None:
        return self.item.old_agent


class EventAssert(ItemAssert):
    """Checks of one event; each returns the typed assert of the event on success."""

    __slots__ = ()

    @property
    def item(self) -> ChatItem:
        return self._event.item

    def is_message(
        self, *, role: ChatRole | None = None, contains: str | None = None
    ) -> ChatMessageAssert:
        """A message (of ``role``; whose content contains ``contains``, ignoring case)."""
        item = self._event.item
        if not isinstance(item, ChatMessage):
            raise self._expected("a message")
        if role is not None and item.role != role:
            raise self._expected(f"a {role} message")
        if contains is not None and contains.lower() not in item.content.lower():
            raise self._expected(f"a message containing {contains!r}")
        return ChatMessageAssert(self._event, self.index, self._context)

    def is_function_call(
        self, *, name: str | None = None, arguments: Mapping[str, Any] | None = None
    ) -> FunctionCallAssert:
        """A call (to ``name``; with each of ``arguments`` equal in its parsed JSON)."""
        item = self._event.item
        what = f"a function call{f' to {name}' if name else ''}"
        if not isinstance(item, FunctionCall) or (name is not None and item.name != name):
            raise self._expected(what)
        if arguments is not None:
            self._check_arguments(item, arguments)
        return FunctionCallAssert(self._event, self.index, self._context)

    def is_function_call_output(
        self, *, output: str | None = None, is_error: bool | None = None
    ) -> FunctionCallOutputAssert:
        """A call output (equal to ``output``; with that ``is_error`` flag)."""
        item = self._event.item
        if not isinstance(item, FunctionCallOutput):
            raise self._expected("a function call output")
        if output is not None and item.output != output:
            raise self._expected(f"a function call output equal to {output!r}")
        if is_error is not None and item.is_error != is_error:
            raise self._expected(f"a function call output with is_error={is_error}")
        return FunctionCallOutputAssert(self._event, self.index, self._context)

    def is_agent_handoff(
        self, *, new_agent_type: type[Any] | None = None, new_agent: str | None = None
    ) -> AgentHandoffAssert:
        """A handoff (to an instance of ``new_agent_type``; to the class named ``new_agent``)."""
        item = self._event.item
        if not isinstance(item, AgentHandoff):
            raise self._expected("an agent handoff")
        if new_agent is not None and item.new_agent != new_agent:
            raise self._expected(f"an agent handoff to {new_agent}")
        if new_agent_type is not None and not self._is_new_agent(item, new_agent_type):
            raise self._expected(f"an agent handoff to a {new_agent_type.__name__}")
        return AgentHandoffAssert(self._event, self.index, self._context)

    def _is_new_agent(self, item: AgentHandoff, new_agent_type: type[Any]) -> bool:
        agent = self._event.new_agent
        if agent is None:
            return item.new_agent == new_agent_type.__name__
        return isinstance(agent, new_agent_type)

    def _check_arguments(self, item: FunctionCall, expected: Mapping[str, Any]) -> None:
        try:
            actual = json.loads(item.arguments)
        except ValueError:
            raise self._fail(
                f"the arguments of {item.name} are not valid JSON: {_short(item.arguments)}"
            ) from None
        if not isinstance(actual, dict):
            raise self._fail(f"the arguments of {item.name} are not a JSON object")
        for key, value in expected.items():
            if key not in actual:
                raise self._fail(f"{item.name} was called without argument {key!r}")
            if actual[key] != value:
                raise self._fail(
                    f"argument {key!r} of {item.name}: expected {value!r}, got {actual[key]!r}"
                )

    def _expected(self, what: str) -> AssertionError:
        return self._fail(f"expected {what}, got {_describe(self._event.item)}")
