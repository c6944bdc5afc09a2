"""The SQLite journal file: created whole and marked, checked on every open.

A store is marked when it is created: the table ``journal_store_meta`` holds
``format`` (:data:`STORE_FORMAT`), ``store_id`` and ``created_at``. Every open looks
at what the file holds, inside ``BEGIN IMMEDIATE`` (one opener at a time, across
processes), and decides:

===================================  ==================================================
found                                outcome
===================================  ==================================================
no file at the path                  create it, marked (``create=False``: ``absent``)
the marker and the journal tables    open (tables added by later versions are created)
the marker, a journal table missing  :class:`JournalStoreLostError` ``tables-missing``
journal tables and no marker         a store from before markers: adopt it (write the
                                     marker, log a warning)
neither (0 bytes, every table        :class:`JournalStoreLostError` ``empty``
dropped, some other database)
a marker of a newer format           :class:`JournalVersionError`
===================================  ==================================================

The journal tables are ``journal_entries`` and ``journal_tool_results``; ``leases``
only holds expiring leases and is recreated when missing.

Only a missing file is a new store, because a new file is built under a temporary
name in the same directory and hard-linked into place (``os.link`` fails if the name
exists, so of two processes creating one store, one wins and both use its file). An
existing file is therefore never a store that another process is still creating, and
one with nothing in it lost its data. On a filesystem without hard links the file is
created in place instead; there, a process opening a new store at the very instant
another one creates it may fail (``empty``, or SQLite's "database is locked" while
the other switches it to WAL; opening again succeeds).

Not detected: rows deleted from the journal tables (``delete`` does that), or the file
replaced by an older copy of itself. Rejected alternatives: treating an empty file as a
new store (a truncated journal would silently start every session over), and a marker
in the SQLite header (``PRAGMA application_id``: one integer, no room for the store id
and creation time an operator wants to see).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ._errors import JournalCorruptError, JournalStoreLostError, JournalVersionError
from ._store import STORE_FORMAT

__all__ = ["Transaction", "absent_error", "check_or_mark", "create_store_file"]

logger = logging.getLogger("trioagents.persistence.sqlite")

_META = "journal_store_meta"
_JOURNAL_TABLES = ("journal_entries", "journal_tool_results")
_TABLES = (
    """CREATE TABLE IF NOT EXISTS journal_entries (
        session_key TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (session_key, sequence)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS journal_tool_results (
        session_key TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (session_key, idempotency_key)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID""",
    f"""CREATE TABLE IF NOT EXISTS {_META} (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
)

_ABSENT = (
    "there is no SQLite journal store at this path and create=False: check the path, "
    "or open it once with create=True to create a new store"
)
_EMPTY = (
    "the SQLite journal file exists but holds no journal store (no store marker, no "
    "journal tables): it was truncated or emptied, or is not a journal. Restore it from "
    "a backup; to start a new journal on purpose, delete the file and its -wal and -shm "
    "files"
)
_TABLES_MISSING = (
    "the SQLite journal store is marked but its journal tables are missing (dropped or "
    "lost). Restore the file from a backup; to start a new journal on purpose, delete "
    "the file and its -wal and -shm files"
)


def absent_error() -> JournalStoreLostError:
    """What ``create=False`` raises when there is no store."""
    return JournalStoreLostError(_ABSENT, backend="sqlite", found="absent")


def create_store_file(path: Path, wall_clock: Callable[[], float]) -> bool:
    """Create the marked store file at ``path`` whole, unless one is there by now.

    Returns False if this filesystem cannot hard-link: the caller creates it in place.
    Blocking (run in a thread).
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
    try:
        connection = sqlite3.connect(temporary, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode = WAL")  # openers need not switch it
            check_or_mark(connection, new=True, wall_clock=wall_clock)
        finally:
            connection.close()
        try:
            os.link(temporary, path)
        except FileExistsError:
            return True  # another process created it first: both use that one
        except OSError:
            return False
        _fsync_directory(path.parent)  # the new name survives a power loss too
        return True
    finally:
        temporary.unlink(missing_ok=True)


def check_or_mark(
    connection: sqlite3.Connection, *, new: bool, wall_clock: Callable[[], float]
) -> None:
    """Check the store in ``connection`` (see the module table); mark it if it is ``new``.

    Blocking; raises :class:`JournalStoreLostError`, :class:`JournalVersionError`,
    :class:`JournalCorruptError` (a marker that does not parse) or ``sqlite3.Error``.
    """
    with Transaction(connection):
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {name for (name,) in rows}
        marker: dict[str, str] = {}
        if _META in tables:
            marker = dict(connection.execute(f"SELECT name, value FROM {_META}").fetchall())
        journal_tables = [name for name in _JOURNAL_TABLES if name in tables]
        if "format" in marker:
            _check_format(marker["format"])
            if len(journal_tables) < len(_JOURNAL_TABLES):
                raise JournalStoreLostError(
                    _TABLES_MISSING, backend="sqlite", found="tables-missing"
                )
        elif journal_tables:
            logger.warning(
                "adopting a SQLite journal store created before store markers: marking it",
                extra={"tables": journal_tables},
            )
        elif not new:
            raise JournalStoreLostError(_EMPTY, backend="sqlite", found="empty")
        for statement in _TABLES:
            connection.execute(statement)
        if "format" not in marker:
            _write_marker(connection, wall_clock())


def _check_format(value: str) -> None:
    if not value.isdigit():
        raise JournalCorruptError(
            "the SQLite journal store marker does not parse", payload=value.encode()[:64]
        )
    if int(value) > STORE_FORMAT:
        raise JournalVersionError(
            "the SQLite journal store was created by a newer trioagents; upgrade this one",
            found=int(value),
            supported=STORE_FORMAT,
        )


def _write_marker(connection: sqlite3.Connection, created_at: float) -> None:
    rows = [
        ("format", str(STORE_FORMAT)),
        ("store_id", uuid.uuid4().hex),
        ("created_at", repr(created_at)),
    ]
    connection.executemany(f"INSERT OR REPLACE INTO {_META} VALUES (?, ?)", rows)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error), in the calling thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._connection.execute("ROLLBACK" if exc_type is not None else "COMMIT")
