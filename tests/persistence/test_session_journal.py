"""SessionJournal: resume on another worker, takeover, tools that run once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio.testing

from trioagents.core import ChatContext
from trioagents.persistence import (
    JournalEntry,
    SequenceConflictError,
    SessionJournal,
    SqliteJournalStore,
    ToolResult,
    UserdataNotSerializableError,
    affinity_key,
    dataclass_userdata,
    tool_idempotency_key,
)


@dataclass
class Booking:
    party: int
    names: list[str] = field(default_factory=list)


KEY = affinity_key("room-9", "alice", "concierge")


async def test_a_session_resumes_on_another_worker_without_repeating_tools(tmp_path: Path) -> None:
    side_effects: list[str] = []

    async def book() -> ToolResult:
        await trio.lowlevel.checkpoint()
        side_effects.append("booked")
        return ToolResult("booking BK-1")

    idem = tool_idempotency_key(KEY, call_id="call_1")
    codec = dataclass_userdata(Booking)
    async with await SqliteJournalStore.open(tmp_path / "j.db") as store_a:
        journal = await SessionJournal.open(store_a, KEY, codec=codec, writer_version="1.0")
        assert journal.restored is None
        assert journal.userdata is None
        chat = ChatContext()
        chat.add_message("user", "table for two", id="i1")
        await journal.commit_turn(chat, agent_name="greeter", fsm_state="greeting")
        result, replayed = await journal.run_tool_once(idem, book)
        assert (result, replayed) == (ToolResult("booking BK-1"), False)
        chat.add_message("assistant", "Booked.", id="i2")
        await journal.commit_turn(
            chat, agent_name="billing", fsm_state="paying", userdata=Booking(2, ["Al"])
        )
        # Worker A dies here. Worker B, sharing the store, picks the session up.
    async with await SqliteJournalStore.open(tmp_path / "j.db") as store_b:
        resumed = await SessionJournal.open(store_b, KEY, codec=codec)
        assert resumed.restored is not None
        assert resumed.restored.agent_name == "billing"
        assert resumed.restored.fsm_state == "paying"
        assert resumed.restored.writer_version == "1.0"
        assert resumed.restored.chat_context == chat
        assert resumed.userdata == Booking(2, ["Al"])
        assert resumed.last_sequence == 1
        result, replayed = await resumed.run_tool_once(idem, book)
        assert (result, replayed) == (ToolResult("booking BK-1"), True)
        assert side_effects == ["booked"]
        entry = await resumed.commit_turn(resumed.restored.chat_context, agent_name="billing")
        assert entry.sequence == 2
        assert idem in entry.tool_results


async def test_a_slow_worker_loses_the_session_to_the_new_one(tmp_path: Path) -> None:
    async with await SqliteJournalStore.open(tmp_path / "j.db") as store:
        old = await SessionJournal.open(store, KEY)
        await old.commit_turn(ChatContext(), agent_name="a")
        new = await SessionJournal.open(store, KEY)
        await new.commit_turn(ChatContext(), agent_name="a")
        with pytest.raises(SequenceConflictError):
            await old.commit_turn(ChatContext(), agent_name="a")
        latest = await store.load_latest(KEY)
        assert latest is not None
        assert latest.sequence == 1


async def test_unserializable_userdata_is_refused_before_writing(tmp_path: Path) -> None:
    async with await SqliteJournalStore.open(tmp_path / "j.db") as store:
        journal = await SessionJournal.open(store, KEY)
        with pytest.raises(UserdataNotSerializableError):
            await journal.commit_turn(ChatContext(), agent_name="a", userdata={"when": object()})
        assert await store.load_latest(KEY) is None
        await journal.commit_turn(ChatContext(), agent_name="a", userdata={"ok": 1})


class SlowRecordingStore:
    """Delegates to a real store; recording a tool result takes a second."""

    def __init__(self, inner: SqliteJournalStore) -> None:
        self.inner = inner
        self.load_latest = inner.load_latest
        self.append = inner.append
        self.get_tool_result = inner.get_tool_result
        self.delete = inner.delete
        self.aclose = inner.aclose

    async def record_tool_result(
        self, session_key: str, idempotency_key: str, result: ToolResult
    ) -> ToolResult:
        await trio.sleep(1)
        return await self.inner.record_tool_result(session_key, idempotency_key, result)


async def test_a_finished_tool_is_recorded_even_if_the_turn_is_cancelled(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    plain = await SqliteJournalStore.open(tmp_path / "j.db")
    store = SlowRecordingStore(plain)
    journal = await SessionJournal.open(store, KEY)

    async def tool() -> ToolResult:
        return ToolResult("sent the email")

    with trio.move_on_after(0.5) as turn:
        await journal.run_tool_once("tool_mail", tool)
    assert not turn.cancelled_caught  # the shield held the cancellation until recorded
    assert await plain.get_tool_result(KEY, "tool_mail") == ToolResult("sent the email")

    async def slow_tool() -> ToolResult:
        await trio.sleep(10)
        return ToolResult("never")

    with trio.move_on_after(1) as turn:
        await journal.run_tool_once("tool_slow", slow_tool)
    assert turn.cancelled_caught
    assert await plain.get_tool_result(KEY, "tool_slow") is None
    await plain.aclose()


def test_entries_carry_the_writer_version() -> None:
    entry = JournalEntry(
        session_key="k", sequence=0, agent_name="a", written_at=0, writer_version="b"
    )
    assert entry.writer_version == "b"
