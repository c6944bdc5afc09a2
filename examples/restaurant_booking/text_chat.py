"""Text mode for the examples: type (or script) user turns, print what the agents say.

``make_llm(rules)`` picks the LLM: an OpenAI-compatible server when both
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` are set (model from ``OPENAI_MODEL``,
default ``gpt-4o-mini``), otherwise the offline :class:`ScriptedLLM` with ``rules``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import trio

from trioagents.core import LLM, AgentHandoff, ChatMessage, FunctionCall
from trioagents.providers import OpenAIConnection, OpenAILLM, Rule, ScriptedLLM
from trioagents.voice import Agent, AgentSession, ConversationItemAdded, SessionEvent

__all__ = ["describe", "make_llm", "run_text_chat"]


def make_llm(rules: Sequence[Rule], *, default: str) -> LLM:
    """A real OpenAI-compatible LLM if configured in the environment, else scripted."""
    base_url, api_key = os.environ.get("OPENAI_BASE_URL"), os.environ.get("OPENAI_API_KEY")
    if base_url and api_key:
        connection = OpenAIConnection(base_url=base_url, api_key=api_key)
        return OpenAILLM(os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), connection=connection)
    return ScriptedLLM(rules, default=default)


def describe(event: SessionEvent) -> str | None:
    """One printable line for the events a reader cares about (else None)."""
    if not isinstance(event, ConversationItemAdded):
        return None
    item = event.item
    if isinstance(item, ChatMessage) and item.role in ("user", "assistant"):
        who = "you" if item.role == "user" else "agent"
        return f"{who:>5}: {item.content}"
    if isinstance(item, FunctionCall):
        return f" tool: {item.name}({item.arguments})"
    if isinstance(item, AgentHandoff):
        return f"   --> {item.new_agent}"
    return None


async def run_text_chat(
    session: AgentSession[Any],
    agent: Agent,
    lines: Iterable[str] | None,
    emit: Callable[[str], None] = print,
) -> None:
    """Run ``session`` with ``agent``; ``lines`` scripts the user (None: read stdin).

    Returns after the last line (or end of input) once the session is idle, then
    closes it. Checkpoints throughout; cancelled with the caller.
    """
    events = session.subscribe()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_print_events, events, emit)
        async with session.start(agent):
            await session.wait_idle()
            source = iter(lines) if lines is not None else None
            while True:
                line = next(source, None) if source is not None else await _read_line()
                if line is None:
                    break
                if line.strip():
                    await session.run(user_input=line.strip())


async def _print_events(
    events: trio.MemoryReceiveChannel[SessionEvent], emit: Callable[[str], None]
) -> None:
    async for event in events:
        line = describe(event)
        if line is not None:
            emit(line)


async def _read_line() -> str | None:
    line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
    return line or None
