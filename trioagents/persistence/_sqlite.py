"""SQLite journal store: the embedded default.

One ``sqlite3`` connection per store, used from one worker thread at a time
(``trio.to_thread.run_sync`` under a :class:`trio.Lock`), in WAL mode so readers
in other processes do not block the writer, with ``synchronous = NORMAL`` by
default (durable against a killed process, not against power loss or an OS crash;
``synchronous="FULL"`` is). Appends run in ``BEGIN IMMEDIATE``
transactions: the "latest sequence + 1" check and the insert are atomic even
across processes sharing the file (several workers on one host). A store is
created whole and marked, and every open checks the mark, so a file that lost its
data is an error rather than an empty journal (:mod:`._sqlite_file`).

Rejected alternatives: a connection per call (pays the open and the WAL setup each
time) and an async SQLite driver (asyncio only). Threads are not abandoned on
cancellation (see :mod:`._store`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
from ._sqlite_file import Transaction, absent_error, check_or_mark, create_store_file
from ._store import ClosingStore

__all__ = ["SqliteJournalStore"]

T = TypeVar("T")
_CLOSE_GRACE = 5.0


class SqliteJournalStore(ClosingStore):
    """A :class:`JournalStore` in one SQLite file (or ``":memory:"``).

    Construct with :meth:`open` (``async with await SqliteJournalStore.open(path)``
    or ``store = await SqliteJournalStore.open(path)`` then ``aclose``).
    """

    def __init__(
        self, connection: sqlite3.Connection, *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        """Wrap an open connection (prefer :meth:`open`, which configures it).

        ``wall_clock`` (epoch seconds) times leases, which other processes share.
        """
        self._connection = connection
        self._wall_clock = wall_clock
        self._lock = trio.Lock()
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 5000,
        wall_clock: Callable[[], float] = time.time,
    ) -> SqliteJournalStore:
        """Open the store at ``path``, creating it (marked) if there is no file. In a thread.

        ``create=False``: a missing store is an error too (workers that must find the
        store an operator created). ``synchronous`` (``PRAGMA synchronous``, any case):
        ``"NORMAL"`` (default) fsyncs the WAL only at checkpoints, so a commit survives
        the process being killed but the last commits before a power loss or OS crash
        may be rolled back (the file stays consistent); ``"FULL"`` fsyncs at every
        commit, so an acknowledged append survives those too. Raises
        :class:`JournalStoreLostError` if the file lost its data (see
        :mod:`._sqlite_file`), :class:`JournalStoreError` if it cannot be opened, and
        :class:`~trioagents.ConfigurationError` for another ``synchronous``.
        """
        mode = synchronous.upper()
        if mode not in ("NORMAL", "FULL"):
            raise ConfigurationError('synchronous must be "NORMAL" or "FULL"')
        name = str(path)

        def connect() -> sqlite3.Connection:
            new = _prepare(name, create, wall_clock)
            connection = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
            try:
                connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                if not new:  # check before writing anything: a lost file stays as found
                    check_or_mark(connection, new=False, wall_clock=wall_clock)
                connection.execute("PRAGMA journal_mode = WAL")  # a store file already is
                connection.execute(f"PRAGMA synchronous = {mode}")
                if new:
                    check_or_mark(connection, new=True, wall_clock=wall_clock)
            except BaseException:
                connection.close()
                raise
            return connection

        try:
            connection = await trio.to_thread.run_sync(connect)
        except sqlite3.Error as exc:
            raise JournalStoreError("could not open the SQLite journal", backend="sqlite") from exc
        return cls(connection, wall_clock=wall_clock)

    async def synchronous_mode(self) -> str:
        """The ``PRAGMA synchronous`` this store's connection runs with: ``"FULL"``, …"""
        level = await self._run(lambda c: int(c.execute("PRAGMA synchronous").fetchone()[0]))
        return ("OFF", "NORMAL", "FULL", "EXTRA")[level]

    async def aclose(self) -> None:
        """Close the connection; shielded, waits at most a few seconds for a running call."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
            async with self._lock:
                await trio.to_thread.run_sync(self._connection.close)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise JournalStoreError("the SQLite journal store is closed", backend="sqlite")
        async with self._lock:
            try:
                return await trio.to_thread.run_sync(fn, self._connection)
            except sqlite3.Error as exc:
                raise JournalStoreError(
                    "SQLite journal operation failed", backend="sqlite"
                ) from exc

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        now = self._wall_clock()
        return await self._run(lambda c: _acquire_lease(c, name, holder, now, now + ttl))

    async def release_lease(self, name: str, holder: str) -> None:
        await self._run(
            lambda c: c.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
        )

    async def load_latest(self, session_key: str) -> JournalEntry | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT body FROM journal_entries WHERE session_key = ? "
                "ORDER BY sequence DESC LIMIT 1",
                (session_key,),
            ).fetchone()
        )
        return None if row is None else decode_entry(bytes(row[0]))

    async def append(self, entry: JournalEntry) -> None:
        body = encode_entry(entry)
        expected = await self._run(lambda c: _append(c, entry, body))
        if expected is not None:
            raise SequenceConflictError(
                "journal append lost the race for this sequence number; reload the session",
                session_key=entry.session_key,
                expected=expected,
                attempted=entry.sequence,
            )

    async def record_tool_result(
        self, session_key: str, idempotency_key: str, result: ToolResult
    ) -> ToolResult:
        body = encode_tool_result(result)

        def record(connection: sqlite3.Connection) -> bytes:
            connection.execute(
                "INSERT OR IGNORE INTO journal_tool_results VALUES (?, ?, ?)",
                (session_key, idempotency_key, body),
            )
            row = connection.execute(_SELECT_TOOL, (session_key, idempotency_key)).fetchone()
            return bytes(row[0])

        return decode_tool_result(await self._run(record))

    async def get_tool_result(self, session_key: str, idempotency_key: str) -> ToolResult | None:
        row = await self._run(
            lambda c: c.execute(_SELECT_TOOL, (session_key, idempotency_key)).fetchone()
        )
        return None if row is None else decode_tool_result(bytes(row[0]))

    async def delete(self, session_key: str) -> None:
        def delete(connection: sqlite3.Connection) -> None:
            with Transaction(connection):
                connection.execute(
                    "DELETE FROM journal_entries WHERE session_key = ?", (session_key,)
                )
                connection.execute(
                    "DELETE FROM journal_tool_results WHERE session_key = ?", (session_key,)
                )

        await self._run(delete)


def _prepare(name: str, create: bool, wall_clock: Callable[[], float]) -> bool:
    """Before connecting: True if the store at ``name`` is new and still to be marked."""
    if name in ("", ":memory:"):
        if not create:
            raise absent_error()
        return True
    if os.path.exists(name):
        return False
    if not create:
        raise absent_error()
    return not create_store_file(Path(name), wall_clock)  # in place: still new


_SELECT_TOOL = "SELECT body FROM journal_tool_results WHERE session_key = ? AND idempotency_key = ?"


def _append(connection: sqlite3.Connection, entry: JournalEntry, body: bytes) -> int | None:
    """Insert ``entry`` if it is next; else return the sequence that would have been accepted."""
    with Transaction(connection):
        row = connection.execute(
            "SELECT MAX(sequence) FROM journal_entries WHERE session_key = ?",
            (entry.session_key,),
        ).fetchone()
        expected = 0 if row[0] is None else int(row[0]) + 1
        if entry.sequence != expected:
            return expected
        connection.execute(
            "INSERT INTO journal_entries VALUES (?, ?, ?)",
            (entry.session_key, entry.sequence, body),
        )
    return None


def _acquire_lease(
    connection: sqlite3.Connection, name: str, holder: str, now: float, expires_at: float
) -> bool:
    """Take or renew ``name`` unless another holder's lease is still running (atomic)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = connection.execute(
            "SELECT holder, expires_at FROM leases WHERE name = ?", (name,)
        ).fetchone()
        free = row is None or row[0] == holder or row[1] <= now
        if free:
            connection.execute(
                "INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (name, holder, expires_at)
            )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return free
