"""Redis journal store: one store shared by many workers (optional extra ``redis``).

Layout per session key ``K`` (the braces are a Redis Cluster hash tag, so a
session's keys live in one slot and a Lua script may touch them all):

* ``{prefix}{K}:seq``   latest sequence number (string int)
* ``{prefix}{K}:entries`` hash sequence → encoded entry (history kept for debugging)
* ``{prefix}{K}:tools``  hash idempotency key → encoded tool result

``append`` is a Lua script: compare ``seq`` with the entry's sequence − 1 and write
both keys, atomically on the server, so two workers can never both write turn n.
``record_tool_result`` is ``HSETNX`` then ``HGET`` in one script (first writer wins).

We use redis-py's *synchronous* client through ``trio.to_thread.run_sync``
(threads not abandoned, see :mod:`._store`); its connection pool is thread-safe.
Rejected alternatives: redis-py's asyncio client (no asyncio outside the aiortc
bridge), and a RESP client of our own on Trio sockets — smaller, but it would have
to re-earn everything redis-py already gets right (RESP3, Sentinel/Cluster, TLS,
auth, reconnects) for a call rate of one write per turn, where a thread hop costs
nothing noticeable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import trio

from ..core import ConfigurationError
from ._errors import JournalStoreError, SequenceConflictError
from ._journal import (
    JournalEntry,
    ToolResult,
    decode_entry,
    decode_tool_result,
    encode_entry,
    encode_tool_result,
)
from ._store import ClosingStore

__all__ = ["RedisJournalStore"]

T = TypeVar("T")
_CLOSE_GRACE = 5.0

# KEYS: seq, entries. ARGV: sequence, body. Returns -1 on success, else the expected sequence.
_APPEND = """
local current = redis.call('GET', KEYS[1])
local expected = 0
if current then expected = tonumber(current) + 1 end
if tonumber(ARGV[1]) ~= expected then return expected end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return -1
"""
# KEYS: seq, entries. Returns the latest body or nil.
_LOAD_LATEST = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
return redis.call('HGET', KEYS[2], current)
"""
# KEYS: tools. ARGV: idempotency key, body. Returns the stored body.
_RECORD_TOOL = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
"""

# take or renew the lease unless another holder has it (expiry: the server's clock)
_ACQUIRE_LEASE = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisJournalStore(ClosingStore):
    """A :class:`JournalStore` on a Redis server shared by the workers.

    Build with :meth:`from_url` (``redis://127.0.0.1:6379/0``) or wrap an existing
    ``redis.Redis`` client (sync) whose lifetime the store then owns.
    """

    def __init__(self, client: Any, *, prefix: str = "trioagents:journal:") -> None:
        self._client = client
        self._prefix = prefix
        self._append = client.register_script(_APPEND)
        self._load_latest = client.register_script(_LOAD_LATEST)
        self._record_tool = client.register_script(_RECORD_TOOL)
        self._acquire = client.register_script(_ACQUIRE_LEASE)
        self._release = client.register_script(_RELEASE_LEASE)
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "trioagents:journal:") -> RedisJournalStore:
        """Create a store for ``url``; connects lazily. Needs ``trioagents[redis]``."""
        try:
            import redis
        except ImportError as exc:
            raise ConfigurationError(
                "RedisJournalStore needs redis-py: pip install 'trioagents[redis]'"
            ) from exc
        return cls(redis.Redis.from_url(url), prefix=prefix)

    async def aclose(self) -> None:
        """Close the client's connections (shielded, bounded)."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
            await trio.to_thread.run_sync(self._client.close)

    def _keys(self, session_key: str) -> tuple[str, str, str]:
        base = f"{self._prefix}{{{session_key}}}"
        return f"{base}:seq", f"{base}:entries", f"{base}:tools"

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise JournalStoreError("the Redis journal store is closed", backend="redis")
        import redis

        try:
            return await trio.to_thread.run_sync(fn)
        except redis.RedisError as exc:
            raise JournalStoreError("Redis journal operation failed", backend="redis") from exc

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        key, ms = f"{self._prefix}lease:{name}", max(1, round(ttl * 1000))
        return bool(await self._run(lambda: self._acquire(keys=[key], args=[holder, ms])))

    async def release_lease(self, name: str, holder: str) -> None:
        key = f"{self._prefix}lease:{name}"
        await self._run(lambda: self._release(keys=[key], args=[holder]))

    async def load_latest(self, session_key: str) -> JournalEntry | None:
        seq_key, entries_key, _ = self._keys(session_key)
        body = await self._run(lambda: self._load_latest(keys=[seq_key, entries_key]))
        return None if body is None else decode_entry(bytes(body))

    async def append(self, entry: JournalEntry) -> None:
        seq_key, entries_key, _ = self._keys(entry.session_key)
        body = encode_entry(entry)
        expected = int(
            await self._run(
                lambda: self._append(keys=[seq_key, entries_key], args=[entry.sequence, body])
            )
        )
        if expected != -1:
            raise SequenceConflictError(
                "journal append lost the race for this sequence number; reload the session",
                session_key=entry.session_key,
                expected=expected,
                attempted=entry.sequence,
            )

    async def record_tool_result(
        self, session_key: str, idempotency_key: str, result: ToolResult
    ) -> ToolResult:
        _, _, tools_key = self._keys(session_key)
        body = encode_tool_result(result)
        stored = await self._run(
            lambda: self._record_tool(keys=[tools_key], args=[idempotency_key, body])
        )
        return decode_tool_result(bytes(stored))

    async def get_tool_result(self, session_key: str, idempotency_key: str) -> ToolResult | None:
        _, _, tools_key = self._keys(session_key)
        stored = await self._run(lambda: self._client.hget(tools_key, idempotency_key))
        return None if stored is None else decode_tool_result(bytes(stored))

    async def delete(self, session_key: str) -> None:
        keys = self._keys(session_key)
        await self._run(lambda: self._client.delete(*keys))
