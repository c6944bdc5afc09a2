"""Redis journal store: one store shared by many workers (optional extra ``redis``).

Layout per session key ``K`` (the braces are a Redis Cluster hash tag, so a
session's keys live in one slot):

* ``{prefix}{K}:seq``   latest sequence number (string int)
* ``{prefix}{K}:entries`` hash sequence → encoded entry (history kept for debugging)
* ``{prefix}{K}:tools``  hash idempotency key → encoded tool result

and one ``{prefix}store-marker`` hash (``format``, ``store_id``, ``created_at``),
written when the store is first used on a server that has none (a new store, or
keys from before markers: adopted, with a warning; ``create=False`` refuses both
unless keys are there). A store *attaches* to the marker it found and every
operation is a Lua script that first checks the marker still holds that
``store_id``; if the server lost its data since (restarted without persistence,
flushed, evicted keys), the operation raises :class:`JournalStoreLostError` instead
of reading "no entry" and starting sessions over. A process that starts after
such a loss sees an empty server, which is what a new store looks like: only
``create=False`` stops it from starting a new journal there. Redis must persist
(``appendonly yes``) and never evict (``maxmemory-policy noeviction``); see
docs/persistence.md. Because every script touches the marker, the store needs one
Redis primary (standalone or Sentinel), not Redis Cluster (the marker and a
session's keys are in different slots).

``append`` compares ``seq`` with the entry's sequence − 1 and writes both keys,
atomically on the server, so two workers can never both write turn n.
``record_tool_result`` is ``HSETNX`` then ``HGET`` (first writer wins). The store
does not retry: a call while the server is unreachable raises
:class:`JournalStoreError` (redis-py's ``from_url`` client does not retry either;
its pool reconnects on the next call once the server is back).

We use redis-py's *synchronous* client through ``trio.to_thread.run_sync``
(threads not abandoned, see :mod:`._store`); its connection pool is thread-safe.
Rejected alternatives: redis-py's asyncio client (no asyncio outside the aiortc
bridge), and a RESP client of our own on Trio sockets — smaller, but it would have
to re-earn everything redis-py already gets right (RESP3, Sentinel/Cluster, TLS,
auth, reconnects) for a call rate of one write per turn, where a thread hop costs
nothing noticeable. A marker check as a separate command before each operation was
rejected: a restart between the two would go unnoticed.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import trio

from ..core import ConfigurationError
from ._errors import (
    JournalCorruptError,
    JournalStoreError,
    JournalStoreLostError,
    JournalVersionError,
    SequenceConflictError,
)
from ._journal import (
    JournalEntry,
    ToolResult,
    decode_entry,
    decode_tool_result,
    encode_entry,
    encode_tool_result,
)
from ._store import STORE_FORMAT, ClosingStore

__all__ = ["RedisJournalStore"]

logger = logging.getLogger("trioagents.persistence.redis")

T = TypeVar("T")
_CLOSE_GRACE = 5.0

# Every script: KEYS[1] the marker, ARGV[1] the store id this store attached to.
_CHECK_MARKER = """
if redis.call('HGET', KEYS[1], 'store_id') ~= ARGV[1] then
  return redis.error_reply('TRIOAGENTS_STORE_LOST')
end
"""
_LOST_REPLY = "TRIOAGENTS_STORE_LOST"

# KEYS: marker. ARGV: format, store id, created at. Returns the marker's format, store id.
_CREATE_MARKER = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'format', ARGV[1], 'store_id', ARGV[2], 'created_at', ARGV[3])
end
return redis.call('HMGET', KEYS[1], 'format', 'store_id')
"""
# KEYS: seq, entries. ARGV: sequence, body. Returns -1 on success, else the expected sequence.
_APPEND = """
local current = redis.call('GET', KEYS[2])
local expected = 0
if current then expected = tonumber(current) + 1 end
if tonumber(ARGV[2]) ~= expected then return expected end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return -1
"""
# KEYS: seq, entries. Returns the latest body or nil.
_LOAD_LATEST = """
local current = redis.call('GET', KEYS[2])
if not current then return false end
return redis.call('HGET', KEYS[3], current)
"""
# KEYS: tools. ARGV: idempotency key, body. Returns the stored body.
_RECORD_TOOL = """
redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
return redis.call('HGET', KEYS[2], ARGV[2])
"""
# KEYS: tools. ARGV: idempotency key.
_GET_TOOL = "return redis.call('HGET', KEYS[2], ARGV[2])"
# KEYS: seq, entries, tools.
_DELETE = "redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])\nreturn 0"

# KEYS: lease. ARGV: holder, ms. Take or renew unless another holder has it (server clock).
_ACQUIRE_LEASE = """
local current = redis.call('GET', KEYS[2])
if current and current ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""
# KEYS: lease. ARGV: holder.
_RELEASE_LEASE = """
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 0
"""

_LOST = (
    "the Redis journal store's marker is gone or was replaced since this store attached: "
    "the server lost its data (restarted without persistence, flushed, or evicted keys). "
    "Nothing was read or written. Restore the data from a backup, and run Redis with "
    "appendonly yes and maxmemory-policy noeviction; a new RedisJournalStore would start "
    "a new, empty journal"
)
_ABSENT = (
    "there is no journal store on this Redis server (no marker, no journal keys) and "
    "create=False: check the URL, database and prefix, or create the store once with "
    "create=True"
)


class RedisJournalStore(ClosingStore):
    """A :class:`JournalStore` on a Redis server shared by the workers.

    Build with :meth:`from_url` (``redis://127.0.0.1:6379/0``) or wrap an existing
    ``redis.Redis`` client (sync) whose lifetime the store then owns. The first call
    attaches to the server's store marker (creating it unless ``create=False``);
    every call raises :class:`JournalStoreLostError` once that marker is gone.
    """

    def __init__(
        self, client: Any, *, prefix: str = "trioagents:journal:", create: bool = True
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._create = create
        self._marker = f"{prefix}store-marker"
        self._store_id: str | None = None
        self._attach_lock = trio.Lock()
        self._create_marker = client.register_script(_CREATE_MARKER)
        self._append = self._checked_script(_APPEND)
        self._load_latest = self._checked_script(_LOAD_LATEST)
        self._record_tool = self._checked_script(_RECORD_TOOL)
        self._get_tool = self._checked_script(_GET_TOOL)
        self._delete = self._checked_script(_DELETE)
        self._acquire = self._checked_script(_ACQUIRE_LEASE)
        self._release = self._checked_script(_RELEASE_LEASE)
        self._closed = False

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "trioagents:journal:", create: bool = True
    ) -> RedisJournalStore:
        """Create a store for ``url``; connects lazily. Needs ``trioagents[redis]``."""
        try:
            import redis
        except ImportError as exc:
            raise ConfigurationError(
                "RedisJournalStore needs redis-py: pip install 'trioagents[redis]'"
            ) from exc
        return cls(redis.Redis.from_url(url), prefix=prefix, create=create)

    async def aclose(self) -> None:
        """Close the client's connections (shielded, bounded)."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
            await trio.to_thread.run_sync(self._client.close)

    def _checked_script(self, body: str) -> Any:
        return self._client.register_script(_CHECK_MARKER + body)

    def _keys(self, session_key: str) -> tuple[str, str, str]:
        base = f"{self._prefix}{{{session_key}}}"
        return f"{base}:seq", f"{base}:entries", f"{base}:tools"

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise JournalStoreError("the Redis journal store is closed", backend="redis")
        import redis

        try:
            return await trio.to_thread.run_sync(fn)
        except redis.ResponseError as exc:
            if str(exc).startswith(_LOST_REPLY):
                raise JournalStoreLostError(
                    _LOST, backend="redis", found="marker-missing"
                ) from None
            raise JournalStoreError("Redis journal operation failed", backend="redis") from exc
        except redis.RedisError as exc:
            raise JournalStoreError("Redis journal operation failed", backend="redis") from exc

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run a marker-checked script, attaching to the server's store first if needed."""
        if self._store_id is None:
            async with self._attach_lock:
                if self._store_id is None:
                    self._store_id = await self._run(self._attach)
        store_id = self._store_id
        return await self._run(lambda: script(keys=[self._marker, *keys], args=[store_id, *args]))

    def _attach(self) -> str:
        """Find (or create) the store marker; return its store id. Blocking."""
        found = self._client.hmget(self._marker, "format", "store_id")
        if found[1] is None:
            legacy = self._has_journal_keys()
            if not (legacy or self._create):
                raise JournalStoreLostError(_ABSENT, backend="redis", found="absent")
            created_at = repr(time.time())
            args = [STORE_FORMAT, uuid.uuid4().hex, created_at]
            found = self._create_marker(keys=[self._marker], args=args)
            if legacy:
                logger.warning(
                    "adopting a Redis journal store created before store markers: marking it"
                )
        return _check_marker(found)

    def _has_journal_keys(self) -> bool:
        """Whether keys of this prefix exist (a store from before markers). Blocking."""
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix) + "*"
        return next(iter(self._client.scan_iter(match=pattern, count=1000)), None) is not None

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        key, ms = f"{self._prefix}lease:{name}", max(1, round(ttl * 1000))
        return bool(await self._call(self._acquire, [key], [holder, ms]))

    async def release_lease(self, name: str, holder: str) -> None:
        await self._call(self._release, [f"{self._prefix}lease:{name}"], [holder])

    async def load_latest(self, session_key: str) -> JournalEntry | None:
        seq_key, entries_key, _ = self._keys(session_key)
        body = await self._call(self._load_latest, [seq_key, entries_key], [])
        return None if body is None else decode_entry(bytes(body))

    async def append(self, entry: JournalEntry) -> None:
        seq_key, entries_key, _ = self._keys(entry.session_key)
        body = encode_entry(entry)
        expected = int(
            await self._call(self._append, [seq_key, entries_key], [entry.sequence, body])
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
        stored = await self._call(self._record_tool, [tools_key], [idempotency_key, body])
        return decode_tool_result(bytes(stored))

    async def get_tool_result(self, session_key: str, idempotency_key: str) -> ToolResult | None:
        _, _, tools_key = self._keys(session_key)
        stored = await self._call(self._get_tool, [tools_key], [idempotency_key])
        return None if stored is None else decode_tool_result(bytes(stored))

    async def delete(self, session_key: str) -> None:
        await self._call(self._delete, list(self._keys(session_key)), [])


def _check_marker(found: list[bytes | None]) -> str:
    """The store id of a marker ``[format, store_id]``; refuse a newer or broken one."""
    format_field, store_id = found
    if format_field is None or store_id is None or not format_field.isdigit():
        raise JournalCorruptError(
            "the Redis journal store marker does not parse", payload=bytes(format_field or b"")
        )
    if int(format_field) > STORE_FORMAT:
        raise JournalVersionError(
            "the Redis journal store was created by a newer trioagents; upgrade this one",
            found=int(format_field),
            supported=STORE_FORMAT,
        )
    return store_id.decode()
