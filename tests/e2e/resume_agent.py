"""The restaurant agent as a journaled worker job (used by test_resume_kill.py).

Environment: ``RESUME_STORE`` (``sqlite:PATH`` or ``redis://…``), ``RESUME_COUNTER``
(a file that gets one line each time the ``record_details`` tool body runs),
``RESUME_HANG_AFTER`` (a tool name: after that tool ran and was recorded, write
``RESUME_COUNTER + ".hang"`` and stop answering, so the test can kill the process
in the middle of that turn).

Text glue: the caller sends ``lk.chat`` text streams; each one is one user turn
(``session.run``); every assistant message and handoff is sent back on topic
``test.reply`` as ``"<agent>: <text>"`` / ``"--> <agent>"``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import trio

from examples.restaurant_booking.agents import Booking
from examples.restaurant_booking.main import RULES, WORKFLOW
from trioagents.core import ChatMessage, FunctionCall
from trioagents.persistence import (
    JournalStore,
    SessionJournal,
    affinity_key,
    attach_journal,
    dataclass_userdata,
    open_journal_store,
    restore_agent,
)
from trioagents.providers import ScriptedLLM
from trioagents.voice import AgentHandedOff, AgentSession, ConversationItemAdded, SessionEvent
from trioagents.worker import JobContext

AGENT_NAME = "bistro"
CALLER = "caller"


def open_store(spec: str) -> AbstractAsyncContextManager[JournalStore]:
    return open_journal_store(spec)


def counting_guard(
    inner: Callable[[FunctionCall, str, Callable[[], Awaitable[Any]]], Awaitable[Any]],
    counter: Path,
    hang_after: str,
) -> Callable[[FunctionCall, str, Callable[[], Awaitable[Any]]], Awaitable[Any]]:
    async def guard(call: FunctionCall, name: str, invoke: Callable[[], Awaitable[Any]]) -> Any:
        async def counted() -> Any:
            value = await invoke()
            if name == "record_details":
                async with await trio.open_file(counter, "a") as out:
                    await out.write(f"{os.getpid()}\n")
            return value

        value = await inner(call, name, counted)
        if name == hang_after:
            await trio.Path(str(counter) + ".hang").write_text(str(os.getpid()))
            await trio.sleep_forever()  # "crash" point: the test kills us here
        return value

    return guard


async def entrypoint(ctx: JobContext) -> None:
    room = await ctx.connect()
    counter = Path(os.environ["RESUME_COUNTER"])
    async with open_store(os.environ["RESUME_STORE"]) as store:
        key = affinity_key(room.name, CALLER, AGENT_NAME)
        journal: SessionJournal[Booking] = await SessionJournal.open(
            store, key, codec=dataclass_userdata(Booking)
        )
        agent = restore_agent(journal, WORKFLOW)
        session: AgentSession[Booking] = AgentSession(
            llm=ScriptedLLM(RULES), userdata=journal.userdata or Booking()
        )
        observer = attach_journal(session, journal, once_tools={"record_details"})
        session.tool_call_guard = counting_guard(
            observer.guard, counter, os.environ.get("RESUME_HANG_AFTER", "")
        )
        events = session.subscribe()
        async with room.text_streams("lk.chat") as inbox, trio.open_nursery() as nursery:
            nursery.start_soon(_forward, room, events)
            workflow = None if journal.restored is not None else WORKFLOW
            resumed = journal.restored is not None
            async with session.start(agent, workflow=workflow, run_on_enter=not resumed):
                said = [m.content for m in agent.chat_ctx.messages() if m.role == "assistant"]
                last = said[-1] if said else ""
                state = "resumed" if resumed else "new"
                await room.send_text(f"ready {state} {agent.name} last={last}", topic="test.reply")
                async for reader in inbox:
                    await session.run(user_input=await reader.read_all())


async def _forward(room: Any, events: trio.MemoryReceiveChannel[SessionEvent]) -> None:
    async for event in events:
        if isinstance(event, ConversationItemAdded):
            item = event.item
            if isinstance(item, ChatMessage) and item.role == "assistant":
                await room.send_text(f"agent: {item.content}", topic="test.reply")
        elif isinstance(event, AgentHandedOff):
            await room.send_text(f"--> {event.new_agent}", topic="test.reply")
