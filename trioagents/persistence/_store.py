"""The :class:`JournalStore` protocol every backend implements.

Contract (tested against every backend by the same suite):

* ``append(entry)`` succeeds only if ``entry.sequence`` is exactly one more than the
  latest stored sequence for ``entry.session_key`` (0 for a new session); otherwise
  it raises :class:`SequenceConflictError` and stores nothing. The check and the
  write are one atomic step, so of two workers racing for turn ``n`` exactly one
  wins. An acknowledged append is durable for the backend's durability setting.
* ``load_latest(key)`` returns the entry with the highest sequence, or ``None``.
* ``record_tool_result`` is first-writer-wins and returns the *stored* result: if
  another worker recorded the same idempotency key first, its result comes back,
  and the caller must use it (that is what makes a side effect happen once).
* ``delete(key)`` removes the session's entries and tool results.

:class:`LeaseStore` (both built-in stores): ``acquire_lease(name, holder, ttl)``
takes the lease ``name`` for ``holder`` for ``ttl`` seconds, or renews it if
``holder`` has it; it returns False while another holder's lease has not expired.
``release_lease`` gives it up (only the holder's own). Leases are shared between
processes, so they expire by a clock every holder shares (SQLite: the hosts' wall
clock; Redis: the server's). Used to keep one re-dispatch supervisor active.

Every method is a checkpoint. Backend calls run in a worker thread that is not
abandoned on cancellation: a cancelled ``append`` either finished or did not start,
never "maybe committed". Backend failures raise :class:`JournalStoreError`.

Both built-in stores are marked when created and check the mark: a store that
existed and lost its data (a truncated SQLite file, dropped tables, a Redis server
that restarted empty) raises :class:`JournalStoreLostError` instead of loading
"no entry", which would silently start every session over.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from ._journal import JournalEntry, ToolResult

__all__ = ["STORE_FORMAT", "ClosingStore", "JournalStore", "LeaseStore"]

STORE_FORMAT = 1
"""The layout version in a store's marker (SQLite table, Redis hash); newer is refused."""


class JournalStore(Protocol):
    """Durable, shared storage for session journals."""

    async def load_latest(self, session_key: str) -> JournalEntry | None: ...

    async def append(self, entry: JournalEntry) -> None: ...

    async def record_tool_result(
        self, session_key: str, idempotency_key: str, result: ToolResult
    ) -> ToolResult: ...

    async def get_tool_result(
        self, session_key: str, idempotency_key: str
    ) -> ToolResult | None: ...

    async def delete(self, session_key: str) -> None: ...

    async def aclose(self) -> None: ...


class LeaseStore(Protocol):
    """Named, expiring, exclusive leases (see the module docstring)."""

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool: ...

    async def release_lease(self, name: str, holder: str) -> None: ...


class ClosingStore:
    """``async with store:`` closes it on exit; subclasses implement :meth:`aclose`."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
