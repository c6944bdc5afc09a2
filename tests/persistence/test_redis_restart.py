"""The Redis journal across a redis-server restart (a server of the test's own).

The journal needs Redis to persist every acknowledged write: ``appendonly yes``.
With ``appendfsync always`` that survives a crash of the Redis process (SIGKILL here)
and power loss; with the default ``everysec``, a clean restart (SIGTERM) and a
process crash, but power loss can take the last second. Without persistence the
store's marker turns the loss into :class:`JournalStoreLostError`; with RDB
snapshots only, a crash rolls back to the last snapshot (shown below: not detected
as a loss, only as a sequence conflict for a session that had written further).
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
import redis
import trio

from trioagents.persistence import (
    JournalStoreError,
    JournalStoreLostError,
    RedisJournalStore,
    SequenceConflictError,
    ToolResult,
)

from .conftest import RedisServer
from .test_stores import entry, new_key

MakeServer = Callable[..., RedisServer]


async def start(server: RedisServer) -> None:
    if not await trio.to_thread.run_sync(server.start):
        pytest.fail("redis-server exited during startup")


async def stop(server: RedisServer, stop_signal: signal.Signals) -> None:
    await trio.to_thread.run_sync(server.stop, stop_signal)


@pytest.mark.parametrize(
    ("appendfsync", "stop_signal"),
    [("everysec", signal.SIGTERM), ("always", signal.SIGKILL)],
)
async def test_redis_restart_with_appendonly_keeps_the_journal(
    make_redis_server: MakeServer, appendfsync: str, stop_signal: signal.Signals
) -> None:
    server = make_redis_server("--appendonly", "yes", "--appendfsync", appendfsync, "--save", "")
    await start(server)
    key = new_key()
    async with RedisJournalStore.from_url(server.url) as store:
        await store.append(entry(key, 0))
        await store.append(entry(key, 1))
        await store.record_tool_result(key, "tool_1", ToolResult("booked #42"))
        await stop(server, stop_signal)

        # During the outage every call fails at once, with a clear error; none "succeeds".
        with pytest.raises(JournalStoreError) as info:
            await store.append(entry(key, 2))
        assert type(info.value) is JournalStoreError  # unreachable, not "lost"
        assert info.value.backend == "redis"
        assert isinstance(info.value.__cause__, redis.ConnectionError)
        with pytest.raises(JournalStoreError):
            await store.load_latest(key)
        with pytest.raises(JournalStoreError):
            await store.record_tool_result(key, "tool_2", ToolResult("booked #43"))

        await start(server)
        # The same store reconnects; what was acknowledged before is there, and what
        # failed during the outage is not (the caller still holds it and can retry).
        assert await store.load_latest(key) == entry(key, 1)
        assert await store.get_tool_result(key, "tool_1") == ToolResult("booked #42")
        assert await store.get_tool_result(key, "tool_2") is None
        await store.append(entry(key, 2))
        assert await store.load_latest(key) == entry(key, 2)
    async with RedisJournalStore.from_url(server.url, create=False) as later:  # a new process
        assert await later.load_latest(key) == entry(key, 2)


async def test_redis_restart_without_persistence_is_a_lost_store(
    make_redis_server: MakeServer,
) -> None:
    server = make_redis_server("--appendonly", "no", "--save", "")
    await start(server)
    key = new_key()
    async with RedisJournalStore.from_url(server.url) as store:
        await store.append(entry(key, 0))
        await store.append(entry(key, 1))
        await stop(server, signal.SIGTERM)
        await start(server)  # back, and empty
        with pytest.raises(JournalStoreLostError) as info:
            await store.load_latest(key)  # not None: that would start the session over
        assert info.value.found == "marker-missing"
        with pytest.raises(JournalStoreLostError):
            await store.append(entry(key, 2))
        with pytest.raises(JournalStoreLostError):
            await store.append(entry(new_key(), 0))  # no new session is written either
    with redis.Redis.from_url(server.url) as client:
        assert client.dbsize() == 0
    async with RedisJournalStore.from_url(server.url, create=False) as later:
        with pytest.raises(JournalStoreLostError) as info:  # a worker that must find a store
            await later.load_latest(key)
        assert info.value.found == "absent"


async def test_redis_crash_with_snapshots_only_rolls_back_to_the_snapshot(
    make_redis_server: MakeServer,
) -> None:
    """Why RDB snapshots are not enough: a crash loses what came after the last one."""
    server = make_redis_server("--appendonly", "no", "--save", "3600 1")
    await start(server)
    key = new_key()
    async with RedisJournalStore.from_url(server.url) as store:
        await store.append(entry(key, 0))
        with redis.Redis.from_url(server.url) as client:
            client.save()  # a snapshot point
        await store.append(entry(key, 1))  # acknowledged, after the snapshot
        await stop(server, signal.SIGKILL)
        await start(server)
        assert await store.load_latest(key) == entry(key, 0)  # entry 1 is gone, silently
        with pytest.raises(SequenceConflictError) as info:  # the writer notices, late
            await store.append(entry(key, 2))
        assert (info.value.expected, info.value.attempted) == (1, 2)
