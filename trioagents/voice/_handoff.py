"""A handoff as a value: compute everything first, then swap in one step.

:func:`plan_handoff` takes the old agent, the new agent, the chat context and a
context policy, and returns a :class:`HandoffPlan` holding the new agent's chat
context, its tools and the :class:`~trioagents.core.AgentHandoff` item to record.
It mutates nothing. The session awaits the plan (a ``Summarize`` policy calls the
LLM, so planning can take time and can be cancelled), then applies it in one
synchronous step with no checkpoint in between: agent, tools and chat context
switch together or not at all. If planning is cancelled or fails, nothing changed.

Context policies (what the new agent remembers; the session's history always keeps
everything):

* :class:`KeepAll` -- the whole conversation (default);
* :class:`Reset` -- nothing: the new agent starts fresh;
* :class:`KeepLastTurns` -- the last ``n`` user turns and what followed them;
* :class:`Summarize` -- an LLM-written summary, optionally followed by the last turns;
* :class:`Custom` -- a user function (sync or async) receiving a :class:`HandoffRequestContext`.

Every policy drops the old agent's instructions (``system``/``developer``
messages): the new agent brings its own, which the session prepends. Function calls
and outputs are kept only in complete pairs, so the new context never contains an
orphaned call the provider would reject.

Rejected alternative: a ``session.update_agent()`` that mutates as it goes (LiveKit
Agents drains and closes the old activity while building the new one). A
cancellation in the middle of such a sequence leaves a half-switched session; a
plan that is either applied whole or dropped cannot.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import trio

from ..core import (
    LLM,
    AgentHandoff,
    ChatContext,
    ChatItem,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
    LLMTextDelta,
    ProviderError,
)
from ._handoff_agent import agent_name, is_agent
from ._tools import FunctionTool, ToolSet, find_function_tools

__all__ = [
    "ContextPolicy",
    "Custom",
    "HandoffPlan",
    "HandoffRequestContext",
    "KeepAll",
    "KeepLastTurns",
    "Reset",
    "Summarize",
    "complete_pairs",
    "plan_handoff",
]

DEFAULT_SUMMARY_PROMPT = (
    "Summarize the conversation so far for the agent that takes over next. Keep names, "
    "numbers, decisions and open questions; leave out greetings and small talk. Answer "
    "with the summary only."
)
SUMMARY_PREFIX = "Summary of the conversation so far: "


@dataclass(frozen=True, slots=True)
class KeepAll:
    """The new agent sees the whole conversation (without the old instructions)."""


@dataclass(frozen=True, slots=True)
class Reset:
    """The new agent starts with an empty context."""


@dataclass(frozen=True, slots=True)
class KeepLastTurns:
    """Keep the last ``n`` user turns and everything after them."""

    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or self.n < 0:
            raise ConfigurationError("KeepLastTurns(n) needs a non-negative integer n")


@dataclass(frozen=True, slots=True)
class Summarize:
    """Replace older turns by a summary written by ``llm``.

    The last ``keep_last_turns`` turns are kept verbatim after the summary. When the
    LLM fails with a ProviderError, ``fallback`` is applied instead if given,
    otherwise the error propagates (and nothing changes).
    """

    llm: LLM
    keep_last_turns: int = 0
    prompt: str = DEFAULT_SUMMARY_PROMPT
    fallback: KeepAll | Reset | KeepLastTurns | None = None

    def __post_init__(self) -> None:
        if self.keep_last_turns < 0:
            raise ConfigurationError("Summarize(keep_last_turns=) must be >= 0")


@dataclass(frozen=True, slots=True)
class HandoffRequestContext:
    """What a :class:`Custom` policy function receives (``chat_ctx`` is a copy)."""

    old_agent: Any
    new_agent: Any
    chat_ctx: ChatContext
    message: str | None


CustomContextFunction: TypeAlias = Callable[
    [HandoffRequestContext], ChatContext | Awaitable[ChatContext]
]


@dataclass(frozen=True, slots=True)
class Custom:
    """Let ``fn`` compute the new context (sync or async; must return a ChatContext)."""

    fn: CustomContextFunction


ContextPolicy: TypeAlias = KeepAll | Reset | KeepLastTurns | Summarize | Custom


@dataclass(frozen=True, slots=True)
class HandoffPlan:
    """Everything the session swaps in at once; building it changed nothing."""

    old_agent: Any
    new_agent: Any
    chat_ctx: ChatContext
    tools: ToolSet
    item: AgentHandoff
    message: str | None = None
    summary: str | None = field(default=None, compare=False)


async def plan_handoff(
    *,
    old_agent: Any,
    new_agent: Any,
    chat_ctx: ChatContext,
    policy: ContextPolicy | None = None,
    message: str | None = None,
    tools: Iterable[FunctionTool] | None = None,
) -> HandoffPlan:
    """Compute the handoff from ``old_agent`` (None at session start) to ``new_agent``.

    ``tools`` defaults to the new agent's ``@function_tool`` methods; the session
    passes the agent's full tool list when it has one. ``chat_ctx`` is read, never
    modified; ``message`` is the handoff tool's message, if any. Checkpoints: only
    inside a ``Summarize`` LLM call or an async ``Custom`` function; cancellation
    there propagates with nothing changed. The handoff item is stamped with
    Trio's clock when planning ends. Raises ConfigurationError for a
    non-agent ``new_agent``, an unknown policy or a ``Custom`` function that does
    not return a ChatContext; ProviderError from ``Summarize`` without a fallback.
    """
    if not is_agent(new_agent):
        raise ConfigurationError("plan_handoff(new_agent=) must be an agent instance")
    tool_set = ToolSet(find_function_tools(new_agent) if tools is None else tools)
    source = ChatContext(chat_ctx.items)
    summary: str | None = None
    policy = KeepAll() if policy is None else policy
    if isinstance(policy, Summarize):
        new_ctx, summary = await _summarize(policy, source)
    elif isinstance(policy, Custom):
        request = HandoffRequestContext(old_agent, new_agent, source.copy(), message)
        new_ctx = await _custom(policy, request)
    else:
        new_ctx = _apply_simple(policy, source)
    old_name = None if old_agent is None else agent_name(old_agent)
    now = trio.current_time()
    item = AgentHandoff(old_agent=old_name, new_agent=agent_name(new_agent), created_at=now)
    return HandoffPlan(old_agent, new_agent, new_ctx, tool_set, item, message, summary)


def _apply_simple(policy: Any, source: ChatContext) -> ChatContext:
    if isinstance(policy, KeepAll):
        return complete_pairs(source.without_instructions())
    if isinstance(policy, Reset):
        return ChatContext()
    if isinstance(policy, KeepLastTurns):
        return complete_pairs(source.last_turns(policy.n).without_instructions())
    raise ConfigurationError(
        f"unknown context policy {type(policy).__name__}; use KeepAll, Reset, "
        "KeepLastTurns, Summarize or Custom"
    )


async def _summarize(policy: Summarize, source: ChatContext) -> tuple[ChatContext, str | None]:
    conversation = complete_pairs(source.without_instructions())
    recent = conversation.last_turns(policy.keep_last_turns)
    older = ChatContext(conversation.items[: len(conversation) - len(recent)])
    if not older.messages():
        return recent, None
    request = older.copy()
    request.add_message("system", policy.prompt)
    try:
        summary = await _collect_text(policy.llm, request)
    except ProviderError:
        if policy.fallback is None:
            raise
        return _apply_simple(policy.fallback, source), None
    new_ctx = ChatContext()
    new_ctx.add_message("assistant", SUMMARY_PREFIX + summary)
    new_ctx.extend(recent)
    return new_ctx, summary


async def _collect_text(llm: LLM, request: ChatContext) -> str:
    async with llm.chat(request, tools=(), tool_choice="none") as events:
        parts = [event.text async for event in events if isinstance(event, LLMTextDelta)]
    return "".join(parts).strip()


async def _custom(policy: Custom, request: HandoffRequestContext) -> ChatContext:
    result = policy.fn(request)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, ChatContext):
        raise ConfigurationError("a Custom context policy must return a ChatContext")
    return result.copy()


def complete_pairs(chat_ctx: ChatContext) -> ChatContext:
    """``chat_ctx`` without function calls lacking an output and outputs lacking a call."""
    items: Sequence[ChatItem] = chat_ctx.items
    call_ids = {i.call_id for i in items if isinstance(i, FunctionCall)}
    output_ids = {i.call_id for i in items if isinstance(i, FunctionCallOutput)}
    paired = call_ids & output_ids
    return ChatContext(
        i
        for i in items
        if not isinstance(i, FunctionCall | FunctionCallOutput) or i.call_id in paired
    )
