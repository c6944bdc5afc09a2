"""A rule-based LLM for demos, offline defaults and tests.

:class:`ScriptedLLM` answers from rules: the first :class:`Rule` whose regular
expression matches (``re.search``, case-insensitive) the last user message gives
the reply text and/or tool calls; when the conversation's last item is a tool
result, rules with ``on="tool"`` are matched against that output instead. No
match gives the ``default`` reply. Reply text is a ``str.format`` template over the
match's named groups and ``{output}`` (the tool result), e.g.
``Rule(r"weather in (?P<city>\\w+)", tool_calls=[ScriptedToolCall("get_weather",
'{{"city": "{city}"}}')])``.

Text streams one word per event, as a real model would; tool calls for tools
that were not offered (or with ``tool_choice="none"``) are left out. No timing is
injected: for latencies and hangs use the test kit's fakes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import trio

from ..core import (
    ChatContext,
    ChatMessage,
    ConfigurationError,
    FunctionCallOutput,
    LLMEvent,
    LLMTextDelta,
    LLMToolCall,
    LLMUsage,
    ToolChoice,
    ToolSpec,
)

__all__ = ["Rule", "ScriptedLLM", "ScriptedToolCall"]


@dataclass(frozen=True, slots=True)
class ScriptedToolCall:
    """``arguments`` is a JSON template (``str.format``: double the literal braces)."""

    name: str
    arguments: str = "{{}}"


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    text: str = ""
    tool_calls: Sequence[ScriptedToolCall] = ()
    on: Literal["user", "tool"] = "user"
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_regex", re.compile(self.pattern, re.IGNORECASE))
        except re.error as exc:
            raise ConfigurationError(
                f"Rule pattern {self.pattern!r} is not a regex: {exc}"
            ) from exc
        if not self.text and not self.tool_calls:
            raise ConfigurationError("a Rule needs reply text, tool calls, or both")

    def match(self, kind: Literal["user", "tool"], subject: str) -> re.Match[str] | None:
        """The match of this rule against ``subject`` when ``kind`` is what it listens to."""
        return self._regex.search(subject) if kind == self.on else None


class ScriptedLLM:
    """An :class:`~trioagents.core.LLM` driven by rules (see module docs)."""

    def __init__(
        self,
        rules: Sequence[Rule] = (),
        *,
        default: str = "Sorry, I did not understand that.",
        label: str = "scripted-llm",
    ) -> None:
        self._rules = tuple(rules)
        self._default = default
        self._label = label
        self._call_ids = itertools.count(1)

    @property
    def label(self) -> str:
        return self._label

    def reply_for(
        self,
        chat_ctx: ChatContext,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> list[LLMEvent]:
        """The events a chat would stream (pure; exposed for tests and docs)."""
        kind, subject = _subject(chat_ctx)
        values = {"output": subject if kind == "tool" else ""}
        for rule in self._rules:
            match = rule.match(kind, subject)
            if match is None:
                continue
            values.update({k: v or "" for k, v in match.groupdict().items()})
            return self._events(
                rule.text.format(**values), rule.tool_calls, values, tools, tool_choice
            )
        return self._events(self._default, (), values, tools, tool_choice)

    def _events(
        self,
        text: str,
        calls: Sequence[ScriptedToolCall],
        values: dict[str, str],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
    ) -> list[LLMEvent]:
        words = text.split(" ") if text else []
        events: list[LLMEvent] = [
            LLMTextDelta(w if i == 0 else " " + w) for i, w in enumerate(words)
        ]
        offered = {tool.name for tool in tools}
        if tool_choice != "none":
            for call in calls:
                if call.name in offered:
                    arguments = call.arguments.format(**values)
                    events.append(LLMToolCall(f"call_{next(self._call_ids)}", call.name, arguments))
        events.append(LLMUsage(prompt_tokens=0, completion_tokens=len(words)))
        return events

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        await trio.lowlevel.checkpoint()
        yield _Events(self.reply_for(chat_ctx, tools, tool_choice))


def _subject(chat_ctx: ChatContext) -> tuple[Literal["user", "tool"], str]:
    for item in reversed(chat_ctx.items):
        if isinstance(item, FunctionCallOutput):
            return "tool", item.output
        if isinstance(item, ChatMessage) and item.role == "user":
            return "user", item.content
    return "user", ""


class _Events:
    def __init__(self, events: list[LLMEvent]) -> None:
        self._events = events

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> LLMEvent:
        await trio.lowlevel.checkpoint()
        if not self._events:
            raise StopAsyncIteration
        return self._events.pop(0)
