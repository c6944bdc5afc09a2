"""Chat context: the conversation as the LLM sees it.

Items are frozen dataclasses; :class:`ChatContext` is an ordered, copyable list of
them. The voice pipeline appends only what the user actually heard (an
interrupted reply is stored truncated, with ``interrupted=True``), so a chat
context can be compared item by item against a transcript of the audio.

``to_dict``/``from_dict`` give a stable JSON-able form (used by the session
journal); unknown keys are rejected so a corrupted journal fails loudly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from ._errors import ConfigurationError
from ._ids import short_id

__all__ = [
    "AgentHandoff",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
]

ChatRole: TypeAlias = Literal["system", "developer", "user", "assistant"]
_ROLES = frozenset({"system", "developer", "user", "assistant"})


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: ChatRole
    content: str
    interrupted: bool = False
    id: str = field(default_factory=lambda: short_id("item"))
    created_at: float = 0.0
    metrics: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ConfigurationError(
                f"unknown chat role {self.role!r}; use one of {sorted(_ROLES)}"
            )
        if not isinstance(self.content, str):
            raise ConfigurationError("ChatMessage.content must be a str")


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A tool call the LLM requested; ``arguments`` is the raw JSON text it produced."""

    call_id: str
    name: str
    arguments: str
    id: str = field(default_factory=lambda: short_id("item"))
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class FunctionCallOutput:
    """The single output recorded for a :class:`FunctionCall` (same ``call_id``)."""

    call_id: str
    name: str
    output: str
    is_error: bool = False
    id: str = field(default_factory=lambda: short_id("item"))
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentHandoff:
    """Control passed from ``old_agent`` (None at session start) to ``new_agent``."""

    old_agent: str | None
    new_agent: str
    id: str = field(default_factory=lambda: short_id("item"))
    created_at: float = 0.0


ChatItem: TypeAlias = ChatMessage | FunctionCall | FunctionCallOutput | AgentHandoff

_KINDS: dict[str, type[Any]] = {
    "message": ChatMessage,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
    "agent_handoff": AgentHandoff,
}
_KIND_OF: dict[type[Any], str] = {v: k for k, v in _KINDS.items()}


class ChatContext:
    """An ordered list of chat items. Copy before handing it to concurrent code."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[ChatItem] = ()) -> None:
        self._items: list[ChatItem] = list(items)

    @property
    def items(self) -> tuple[ChatItem, ...]:
        return tuple(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ChatItem]:
        return iter(tuple(self._items))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChatContext) and self._items == other._items

    __hash__ = None  # type: ignore[assignment]  # mutable container

    def __repr__(self) -> str:
        return f"ChatContext({len(self._items)} items)"

    def copy(self) -> ChatContext:
        return ChatContext(self._items)

    def append(self, item: ChatItem) -> None:
        self._items.append(item)

    def extend(self, items: Iterable[ChatItem]) -> None:
        self._items.extend(items)

    def add_message(self, role: ChatRole, content: str, **kwargs: Any) -> ChatMessage:
        message = ChatMessage(role=role, content=content, **kwargs)
        self._items.append(message)
        return message

    def messages(self) -> list[ChatMessage]:
        return [item for item in self._items if isinstance(item, ChatMessage)]

    def last_turns(self, n: int) -> ChatContext:
        """The items from the n-th last user message on (system messages kept)."""
        if n <= 0:
            return ChatContext(i for i in self._items if _is_instructions(i))
        starts = [i for i, item in enumerate(self._items) if _is_user(item)]
        if len(starts) <= n:
            return self.copy()
        cut = starts[-n]
        head = [i for i in self._items[:cut] if _is_instructions(i)]
        return ChatContext(head + self._items[cut:])

    def without_instructions(self) -> ChatContext:
        return ChatContext(i for i in self._items if not _is_instructions(i))

    def to_dict(self) -> list[dict[str, Any]]:
        out = []
        for item in self._items:
            record = dataclasses.asdict(item)
            if isinstance(item, ChatMessage):
                record["metrics"] = dict(item.metrics)
            record["type"] = _KIND_OF[type(item)]
            out.append(record)
        return out

    @classmethod
    def from_dict(cls, records: Iterable[Mapping[str, Any]]) -> ChatContext:
        items: list[ChatItem] = []
        for record in records:
            fields = dict(record)
            kind = fields.pop("type", None)
            item_type = _KINDS.get(kind) if isinstance(kind, str) else None
            if item_type is None:
                raise ConfigurationError(f"unknown chat item type {kind!r}")
            known = {f.name for f in dataclasses.fields(item_type)}
            unknown = set(fields) - known
            if unknown:
                raise ConfigurationError(f"unknown fields for {kind}: {sorted(unknown)}")
            try:
                items.append(item_type(**fields))
            except TypeError as exc:
                raise ConfigurationError(f"bad {kind} record: {exc}") from exc
        return cls(items)


def _is_user(item: ChatItem) -> bool:
    return isinstance(item, ChatMessage) and item.role == "user"


def _is_instructions(item: ChatItem) -> bool:
    return isinstance(item, ChatMessage) and item.role in ("system", "developer")
