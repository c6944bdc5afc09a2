"""The JournalStore contract, run against SQLite and a real Redis server."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import ChatContext
from trioagents.persistence import (
    JournalCorruptError,
    JournalEntry,
    JournalStoreError,
    RedisJournalStore,
    SequenceConflictError,
    SqliteJournalStore,
    ToolResult,
)

from .conftest import StoreFactory


def entry(key: str, sequence: int, *, agent: str = "greeter", text: str = "hi") -> JournalEntry:
    chat = ChatContext()
    chat.add_message("user", f"{text} {sequence}", id=f"item_{sequence}")
    return JournalEntry.from_context(
        chat, session_key=key, sequence=sequence, agent_name=agent, written_at=1000.0 + sequence
    )


def new_key() -> str:
    return f"ses_{uuid.uuid4().hex}"


async def test_append_and_load_latest(make_store: StoreFactory) -> None:
    store = await make_store()
    key = new_key()
    assert await store.load_latest(key) is None
    await store.append(entry(key, 0))
    await store.append(entry(key, 1, agent="billing"))
    latest = await store.load_latest(key)
    assert latest == entry(key, 1, agent="billing")


async def test_out_of_order_append_is_rejected_and_stores_nothing(make_store: StoreFactory) -> None:
    store = await make_store()
    key = new_key()
    with pytest.raises(SequenceConflictError) as info:
        await store.append(entry(key, 1))
    assert (info.value.expected, info.value.attempted) == (0, 1)
    await store.append(entry(key, 0))
    for bad in (0, 2, 7):
        with pytest.raises(SequenceConflictError) as info:
            await store.append(entry(key, bad, text="loser"))
        assert info.value.expected == 1
    assert await store.load_latest(key) == entry(key, 0)


async def test_two_workers_racing_for_one_turn_exactly_one_wins(make_store: StoreFactory) -> None:
    worker_a, worker_b = await make_store(), await make_store()
    key = new_key()
    await worker_a.append(entry(key, 0))
    outcomes: dict[str, str] = {}

    async def write(name: str, store: object, agent: str) -> None:
        try:
            await store.append(entry(key, 1, agent=agent))  # type: ignore[attr-defined]
            outcomes[name] = "won"
        except SequenceConflictError:
            outcomes[name] = "lost"

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write, "a", worker_a, "agent_a")
        nursery.start_soon(write, "b", worker_b, "agent_b")
    assert sorted(outcomes.values()) == ["lost", "won"]
    winner = "agent_a" if outcomes["a"] == "won" else "agent_b"
    for store in (worker_a, worker_b):
        latest = await store.load_latest(key)
        assert latest is not None
        assert latest.agent_name == winner


async def test_tool_results_first_writer_wins(make_store: StoreFactory) -> None:
    worker_a, worker_b = await make_store(), await make_store()
    key = new_key()
    assert await worker_a.get_tool_result(key, "tool_1") is None
    first = await worker_a.record_tool_result(key, "tool_1", ToolResult("booked #42"))
    assert first == ToolResult("booked #42")
    second = await worker_b.record_tool_result(key, "tool_1", ToolResult("booked #43"))
    assert second == ToolResult("booked #42")
    assert await worker_b.get_tool_result(key, "tool_1") == ToolResult("booked #42")
    error = await worker_b.record_tool_result(key, "tool_2", ToolResult("no seat", is_error=True))
    assert error.is_error
    assert await worker_a.get_tool_result(new_key(), "tool_1") is None


async def test_delete_removes_entries_and_tool_results(make_store: StoreFactory) -> None:
    store = await make_store()
    key, other = new_key(), new_key()
    for k in (key, other):
        await store.append(entry(k, 0))
        await store.record_tool_result(k, "t", ToolResult("x"))
    await store.delete(key)
    assert await store.load_latest(key) is None
    assert await store.get_tool_result(key, "t") is None
    assert await store.load_latest(other) == entry(other, 0)
    await store.append(entry(key, 0))  # the session can start over


async def test_closed_store_raises(make_store: StoreFactory) -> None:
    store = await make_store()
    await store.aclose()
    await store.aclose()  # idempotent
    with pytest.raises(JournalStoreError):
        await store.load_latest(new_key())


async def test_sqlite_survives_reopen_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    key = new_key()
    async with await SqliteJournalStore.open(path) as store:
        await store.append(entry(key, 0))
        await store.append(entry(key, 1))
    async with await SqliteJournalStore.open(path) as store:
        assert await store.load_latest(key) == entry(key, 1)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_corrupt_row_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    async with await SqliteJournalStore.open(path):
        pass
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO journal_entries VALUES ('k', 0, x'00ff')")
    async with await SqliteJournalStore.open(path) as store:
        with pytest.raises(JournalCorruptError):
            await store.load_latest("k")


async def test_sqlite_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(JournalStoreError):
        await SqliteJournalStore.open(tmp_path / "missing-dir" / "j.db")


async def test_redis_unreachable_is_a_store_error() -> None:
    async with RedisJournalStore.from_url("redis://127.0.0.1:1/0") as store:
        with pytest.raises(JournalStoreError) as info:
            await store.load_latest("k")
    assert info.value.backend == "redis"


# Property: two workers with stale views never lose an acknowledged write, and never
# both succeed for one sequence number.

_operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 1), st.integers(-1, 1)),
        st.tuples(st.just("load"), st.integers(0, 1), st.just(0)),
        st.tuples(st.just("tool"), st.integers(0, 1), st.integers(0, 3)),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=_operations)
async def test_two_writers_never_lose_or_duplicate(
    make_store: StoreFactory, operations: list[tuple[str, int, int]]
) -> None:
    workers = [await make_store(), await make_store()]
    key = new_key()
    acknowledged: dict[int, JournalEntry] = {}
    tools: dict[str, ToolResult] = {}
    views = [-1, -1]  # the latest sequence each worker believes in (possibly stale)
    for step, (op, who, arg) in enumerate(operations):
        store = workers[who]
        if op == "append":
            candidate = entry(key, max(views[who] + 1 + arg, 0), agent=f"w{who}", text=str(step))
            if candidate.sequence != len(acknowledged):
                with pytest.raises(SequenceConflictError) as info:
                    await store.append(candidate)
                assert info.value.expected == len(acknowledged)
            else:
                await store.append(candidate)
                acknowledged[candidate.sequence] = candidate
                views[who] = candidate.sequence
        elif op == "load":
            latest = await store.load_latest(key)
            assert latest == (acknowledged[len(acknowledged) - 1] if acknowledged else None)
            views[who] = latest.sequence if latest else -1
        else:
            idem = f"tool_{arg}"
            stored = await store.record_tool_result(key, idem, ToolResult(f"w{who} step {step}"))
            assert stored == tools.setdefault(idem, ToolResult(f"w{who} step {step}"))
    for store in workers:
        latest = await store.load_latest(key)
        assert latest == (acknowledged[len(acknowledged) - 1] if acknowledged else None)
        for idem, result in tools.items():
            assert await store.get_tool_result(key, idem) == result


def test_missing_redis_py_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from trioagents.core import ConfigurationError

    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"trioagents\[redis\]"):
        RedisJournalStore.from_url("redis://127.0.0.1:6379/0")


async def test_leases_are_exclusive_renewable_and_released(make_store: StoreFactory) -> None:
    a, b = await make_store(), await make_store()
    assert isinstance(a, SqliteJournalStore | RedisJournalStore)
    assert isinstance(b, SqliteJournalStore | RedisJournalStore)
    name = new_key()
    assert await a.acquire_lease(name, "A", 30.0)
    assert not await b.acquire_lease(name, "B", 30.0)
    assert await a.acquire_lease(name, "A", 30.0)  # renewed by its holder
    await b.release_lease(name, "B")  # not B's to give back: no effect
    assert not await b.acquire_lease(name, "B", 30.0)
    await a.release_lease(name, "A")
    assert await b.acquire_lease(name, "B", 30.0)
    assert await a.acquire_lease(new_key(), "A", 30.0)  # names are independent


async def test_sqlite_lease_expires_by_the_shared_wall_clock(tmp_path: Path) -> None:
    now = [1000.0]
    path = tmp_path / "journal.db"
    async with (
        await SqliteJournalStore.open(path, wall_clock=lambda: now[0]) as a,
        await SqliteJournalStore.open(path, wall_clock=lambda: now[0]) as b,
    ):
        assert await a.acquire_lease("supervisor", "A", 10.0)
        now[0] += 9.9
        assert not await b.acquire_lease("supervisor", "B", 10.0)
        now[0] += 0.2  # A stopped renewing: its lease ran out
        assert await b.acquire_lease("supervisor", "B", 10.0)
        assert not await a.acquire_lease("supervisor", "A", 10.0)
