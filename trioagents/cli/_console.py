"""``trioagents console``: talk to an agent in the terminal, text mode, no server.

Reads one user turn per line from stdin, runs it through
``session.run(user_input=...)`` and prints what the agent said (and the tools it
called, and handoffs) as the session's events arrive. End of input (Ctrl-D)
closes the session and exits 0.

The agent comes from ``--agent module:factory`` (``factory(llm=None) ->
(session, agent)``, the same seam as the demo; default the restaurant-booking
example). The LLM is the factory's choice: the example uses an OpenAI-compatible
server when ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` are set, else its scripted
model; the console says which.

Stdin is read in a worker thread (``trio.to_thread.run_sync`` with
``abandon_on_cancel``), so Ctrl-C cancels the session promptly even while waiting
for a line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import trio

from ..core import AgentHandoff, ChatMessage, FunctionCall, TrioAgentsError
from ..voice import AgentSession, ConversationItemAdded, SessionEvent
from ._demo_agent import DEFAULT_AGENT, load_agent_spec
from ._interrupt import interrupted_line, run_until_interrupted

__all__ = ["main", "run_console"]


def describe(event: SessionEvent) -> str | None:
    """A printable line for a conversation item (None for other events)."""
    if not isinstance(event, ConversationItemAdded):
        return None
    item = event.item
    if isinstance(item, ChatMessage) and item.role == "assistant" and item.content:
        return f"agent: {item.content}"
    if isinstance(item, FunctionCall):
        return f" tool: {item.name}({item.arguments})"
    if isinstance(item, AgentHandoff):
        return f"   --> {item.new_agent}"
    return None


async def _print_events(
    events: trio.MemoryReceiveChannel[SessionEvent], emit: Callable[[str], None]
) -> None:
    async for event in events:
        line = describe(event)
        if line is not None:
            emit(line)


async def run_console(
    session: AgentSession[Any],
    agent: Any,
    stdin: TextIO,
    emit: Callable[[str], None] = print,
    workflow: Any = None,
) -> None:
    """Run ``session`` on the lines of ``stdin`` until end of input.

    Provider errors of a turn are printed and the conversation goes on; cancelled
    with the caller (the session closes within its grace).
    """
    events = session.subscribe()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_print_events, events, emit)
        async with session.start(agent, workflow=workflow):
            await session.wait_idle()
            while line := await trio.to_thread.run_sync(stdin.readline, abandon_on_cancel=True):
                if not line.strip():
                    continue
                try:
                    await session.run(user_input=line.strip())
                except TrioAgentsError as exc:
                    emit(f"error: {type(exc).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    """``trioagents console [--agent module:factory]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="trioagents console", description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default=DEFAULT_AGENT, help="agent factory, module:factory")
    parser.add_argument("--text", action="store_true", help="text mode (type, read)")
    args = parser.parse_args(argv)
    try:
        spec = load_agent_spec(args.agent, lines=("-",))
        session, agent = spec.factory(llm=None)
    except TrioAgentsError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 2
    label = session.llm.label if session.llm is not None else "none"
    print(f"console: {spec.reference}, LLM {label}; type a line, Ctrl-D to end", flush=True)

    def emit(text: str) -> None:
        print(text, flush=True)

    if run_until_interrupted(run_console, session, agent, sys.stdin, emit, spec.workflow):
        return interrupted_line("console")
    return 0
