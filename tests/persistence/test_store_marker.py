"""Store markers: a store that existed and lost its data is an error, never a fresh start."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis
import trio

from trioagents.persistence import (
    JournalStoreLostError,
    JournalVersionError,
    RedisJournalStore,
    SqliteJournalStore,
    ToolResult,
    encode_entry,
)

from .test_stores import entry, new_key

_OLD_SCHEMA = """
CREATE TABLE journal_entries (
    session_key TEXT NOT NULL, sequence INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (session_key, sequence)) WITHOUT ROWID;
CREATE TABLE journal_tool_results (
    session_key TEXT NOT NULL, idempotency_key TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (session_key, idempotency_key)) WITHOUT ROWID;
"""


def meta(path: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(path)) as raw:
        return dict(raw.execute("SELECT name, value FROM journal_store_meta").fetchall())


def raw_sql(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        for statement in statements:
            raw.execute(statement)


def file_names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def make_journal(path: Path, key: str) -> None:
    async with await SqliteJournalStore.open(path) as store:
        await store.append(entry(key, 0))
        await store.append(entry(key, 1))


async def test_sqlite_new_store_is_created_whole_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    async with await SqliteJournalStore.open(path, wall_clock=lambda: 1234.5) as store:
        assert await store.load_latest(new_key()) is None
    marker = meta(path)
    assert marker["format"] == "1"
    assert marker["created_at"] == "1234.5"
    assert len(marker["store_id"]) == 32
    assert file_names(tmp_path) == ["journal.db"]  # no temporary left


async def test_sqlite_file_truncated_to_zero_bytes_is_lost(tmp_path: Path) -> None:
    path, key = tmp_path / "journal.db", new_key()
    await make_journal(path, key)
    os.truncate(path, 0)
    with pytest.raises(JournalStoreLostError) as info:
        await SqliteJournalStore.open(path)
    assert (info.value.backend, info.value.found) == ("sqlite", "empty")
    assert "backup" in str(info.value)
    assert "delete the file" in str(info.value)
    assert key not in str(info.value)
    assert path.stat().st_size == 0  # nothing was created in its place


@pytest.mark.parametrize("table", ["journal_entries", "journal_tool_results"])
async def test_sqlite_marked_store_without_its_table_is_lost(tmp_path: Path, table: str) -> None:
    path = tmp_path / "journal.db"
    await make_journal(path, new_key())
    raw_sql(path, f"DROP TABLE {table}")
    with pytest.raises(JournalStoreLostError) as info:
        await SqliteJournalStore.open(path)
    assert info.value.found == "tables-missing"


async def test_sqlite_every_table_dropped_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await make_journal(path, new_key())
    tables = ("journal_entries", "journal_tool_results", "leases", "journal_store_meta")
    raw_sql(path, *(f"DROP TABLE {table}" for table in tables))
    with pytest.raises(JournalStoreLostError) as info:
        await SqliteJournalStore.open(path)
    assert info.value.found == "empty"


async def test_sqlite_store_from_before_markers_is_adopted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, key = tmp_path / "journal.db", new_key()
    with contextlib.closing(sqlite3.connect(path)) as raw:  # before markers (and leases)
        raw.executescript(_OLD_SCHEMA)
        body = encode_entry(entry(key, 0))
        raw.execute("INSERT INTO journal_entries VALUES (?, 0, ?)", (key, body))
        raw.commit()
    with caplog.at_level(logging.WARNING, logger="trioagents.persistence.sqlite"):
        async with await SqliteJournalStore.open(path) as store:
            assert await store.load_latest(key) == entry(key, 0)
            assert await store.acquire_lease("supervisor", "A", 10.0)  # leases table added
    assert [r.message for r in caplog.records] == [
        "adopting a SQLite journal store created before store markers: marking it"
    ]
    assert meta(path)["format"] == "1"
    caplog.clear()
    async with await SqliteJournalStore.open(path):  # marked now: no second warning
        pass
    assert caplog.records == []


async def test_sqlite_marked_store_gets_tables_added_later(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await make_journal(path, new_key())
    raw_sql(path, "DROP TABLE leases")  # only expiring leases: recreated, not an error
    async with await SqliteJournalStore.open(path) as store:
        assert await store.acquire_lease("supervisor", "A", 10.0)


async def test_sqlite_create_false_needs_an_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with pytest.raises(JournalStoreLostError) as info:
        await SqliteJournalStore.open(path, create=False)
    assert info.value.found == "absent"
    assert not path.exists()
    with pytest.raises(JournalStoreLostError):
        await SqliteJournalStore.open(":memory:", create=False)
    key = new_key()
    await make_journal(path, key)
    async with await SqliteJournalStore.open(path, create=False) as store:
        assert await store.load_latest(key) == entry(key, 1)


async def test_sqlite_store_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await make_journal(path, new_key())
    raw_sql(path, "UPDATE journal_store_meta SET value = '2' WHERE name = 'format'")
    with pytest.raises(JournalVersionError) as info:
        await SqliteJournalStore.open(path)
    assert (info.value.found, info.value.supported) == (2, 1)


async def test_sqlite_memory_store_is_new_and_marked() -> None:
    async with await SqliteJournalStore.open(":memory:") as store:
        key = new_key()
        await store.append(entry(key, 0))
        assert await store.load_latest(key) == entry(key, 0)


@pytest.mark.parametrize("hard_links", [True, False])
async def test_sqlite_processes_creating_one_store_at_once_all_open_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    if not hard_links:  # a filesystem without hard links: the file is created in place

        def no_link(source: object, target: object) -> None:
            raise PermissionError("no hard links here")

        monkeypatch.setattr(os, "link", no_link)
    path = tmp_path / "journal.db"
    opened: list[SqliteJournalStore] = []

    async def open_one() -> None:
        opened.append(await SqliteJournalStore.open(path))

    count = 8 if hard_links else 1  # in place, only one creator is race-free (documented)
    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(open_one)  # each open runs in its own thread, in parallel
    key = new_key()
    await opened[0].append(entry(key, 0))
    for store in opened:
        assert await store.load_latest(key) == entry(key, 0)
        await store.aclose()
    assert meta(path)["format"] == "1"
    assert file_names(tmp_path) == ["journal.db"]


# Redis: each test has its own key prefix, so it has a store of its own on the shared server.


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def wipe(url: str, prefix: str) -> None:
    """What a restart without persistence, a FLUSHDB or an eviction does to the store."""
    with redis_client(url) as client:
        for key in list(client.scan_iter(match=f"{prefix}*")):
            client.delete(key)


async def test_redis_store_whose_server_lost_its_data_is_lost(redis_url: str) -> None:
    prefix, key = f"t-{uuid.uuid4().hex}:", new_key()
    async with RedisJournalStore.from_url(redis_url, prefix=prefix) as store:
        await store.append(entry(key, 0))
        await store.record_tool_result(key, "tool", ToolResult("booked"))
        wipe(redis_url, prefix)
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: store.load_latest(key),
            lambda: store.append(entry(key, 1)),
            lambda: store.append(entry(new_key(), 0)),  # a new session: nothing written either
            lambda: store.get_tool_result(key, "tool"),
            lambda: store.record_tool_result(key, "tool", ToolResult("booked")),
            lambda: store.delete(key),
            lambda: store.acquire_lease("supervisor", "A", 10.0),
            lambda: store.release_lease("supervisor", "A"),
        ]
        for call in calls:
            with pytest.raises(JournalStoreLostError) as info:
                await call()
            assert (info.value.backend, info.value.found) == ("redis", "marker-missing")
            assert "appendonly" in str(info.value)
            assert key not in str(info.value)
    with redis_client(redis_url) as client:
        assert list(client.scan_iter(match=f"{prefix}*")) == []


async def test_redis_store_replaced_by_a_new_one_is_lost(redis_url: str) -> None:
    prefix, key = f"t-{uuid.uuid4().hex}:", new_key()
    async with RedisJournalStore.from_url(redis_url, prefix=prefix) as old:
        await old.append(entry(key, 0))
        wipe(redis_url, prefix)
        async with RedisJournalStore.from_url(redis_url, prefix=prefix) as new:
            assert await new.load_latest(key) is None  # a process started after the loss
            await new.append(entry(key, 0))
        with pytest.raises(JournalStoreLostError):  # but this one knows it lost a store
            await old.load_latest(key)


async def test_redis_create_false_needs_an_existing_store(redis_url: str) -> None:
    prefix, key = f"t-{uuid.uuid4().hex}:", new_key()
    async with RedisJournalStore.from_url(redis_url, prefix=prefix, create=False) as store:
        with pytest.raises(JournalStoreLostError) as info:
            await store.load_latest(key)
        assert info.value.found == "absent"
    with redis_client(redis_url) as client:
        assert list(client.scan_iter(match=f"{prefix}*")) == []
    async with RedisJournalStore.from_url(redis_url, prefix=prefix) as store:
        await store.append(entry(key, 0))
    async with RedisJournalStore.from_url(redis_url, prefix=prefix, create=False) as store:
        assert await store.load_latest(key) == entry(key, 0)


@pytest.mark.parametrize("create", [True, False])
async def test_redis_store_from_before_markers_is_adopted(
    redis_url: str, caplog: pytest.LogCaptureFixture, create: bool
) -> None:
    prefix, key = f"t-{uuid.uuid4().hex}:", new_key()
    with redis_client(redis_url) as client:  # the layout before markers
        client.set(f"{prefix}{{{key}}}:seq", 0)
        client.hset(f"{prefix}{{{key}}}:entries", "0", encode_entry(entry(key, 0)))
    with caplog.at_level(logging.WARNING, logger="trioagents.persistence.redis"):
        async with RedisJournalStore.from_url(redis_url, prefix=prefix, create=create) as store:
            assert await store.load_latest(key) == entry(key, 0)
            await store.append(entry(key, 1))
    ours = [r.message for r in caplog.records if r.name == "trioagents.persistence.redis"]
    assert ours == ["adopting a Redis journal store created before store markers: marking it"]
    with redis_client(redis_url) as client:
        marker = client.hgetall(f"{prefix}store-marker")
    assert marker[b"format"] == b"1"


async def test_redis_store_of_a_newer_format_is_refused(redis_url: str) -> None:
    prefix = f"t-{uuid.uuid4().hex}:"
    with redis_client(redis_url) as client:
        client.hset(f"{prefix}store-marker", mapping={"format": 2, "store_id": "x"})
    async with RedisJournalStore.from_url(redis_url, prefix=prefix) as store:
        with pytest.raises(JournalVersionError) as info:
            await store.load_latest(new_key())
    assert (info.value.found, info.value.supported) == (2, 1)
