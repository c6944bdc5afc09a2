"""Open a journal store from a one-line spec (a CLI flag, an environment variable).

``sqlite:PATH`` opens (creating) the SQLite file at ``PATH``, and
``sqlite:PATH?synchronous=full`` with an fsync per commit (see
:meth:`SqliteJournalStore.open`; ``?`` always starts the options); ``redis://...``,
``rediss://...`` and ``unix://...`` connect lazily to Redis (``trioagents[redis]``).
Anything else is a :class:`~trioagents.ConfigurationError` naming the accepted forms;
the spec itself is not echoed (a Redis URL may carry a password).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..core import ConfigurationError
from ._redis import RedisJournalStore
from ._sqlite import SqliteJournalStore
from ._store import JournalStore

__all__ = ["open_journal_store"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@asynccontextmanager
async def open_journal_store(spec: str) -> AsyncIterator[JournalStore]:
    """The store ``spec`` names, closed when the block exits."""
    if spec.startswith("sqlite:"):
        path, _, query = spec.removeprefix("sqlite:").partition("?")
        if not path:
            raise ConfigurationError("a sqlite journal spec needs a path: sqlite:PATH")
        synchronous = _sqlite_options(query)
        async with await SqliteJournalStore.open(path, synchronous=synchronous) as sqlite_store:
            yield sqlite_store
    elif spec.startswith(_REDIS_SCHEMES):
        async with RedisJournalStore.from_url(spec) as redis_store:
            yield redis_store
    else:
        raise ConfigurationError(
            "unknown journal store; use sqlite:PATH or redis://HOST:PORT/DB (rediss://, unix://)"
        )


def _sqlite_options(query: str) -> str:
    """The ``synchronous`` of ``synchronous=normal|full`` (the only option; default NORMAL)."""
    synchronous = "NORMAL"
    for option in filter(None, query.split("&")):
        name, _, value = option.partition("=")
        if name != "synchronous" or value.upper() not in ("NORMAL", "FULL"):
            raise ConfigurationError(
                "unknown sqlite journal option; the accepted one is synchronous=normal|full"
            )
        synchronous = value.upper()
    return synchronous
