"""SQLite durability: ``synchronous`` NORMAL (default) or FULL, in code and in a spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from trioagents.core import ConfigurationError
from trioagents.persistence import SqliteJournalStore, open_journal_store

from .test_store_marker import file_names
from .test_stores import entry, new_key


@pytest.mark.parametrize(
    ("synchronous", "expected"), [("NORMAL", "NORMAL"), ("FULL", "FULL"), ("full", "FULL")]
)
async def test_sqlite_synchronous_option_sets_the_pragma(
    tmp_path: Path, synchronous: str, expected: str
) -> None:
    path, key = tmp_path / "journal.db", new_key()
    async with await SqliteJournalStore.open(path, synchronous=synchronous) as store:
        assert await store.synchronous_mode() == expected  # PRAGMA synchronous, read back
        await store.append(entry(key, 0))
    async with await SqliteJournalStore.open(path) as store:  # per connection, not per file
        assert await store.synchronous_mode() == "NORMAL"
        assert await store.load_latest(key) == entry(key, 0)


async def test_sqlite_synchronous_other_than_normal_or_full_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="NORMAL"):
        await SqliteJournalStore.open(tmp_path / "journal.db", synchronous="OFF")
    assert not (tmp_path / "journal.db").exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", "NORMAL"), ("?synchronous=full", "FULL"), ("?synchronous=NORMAL", "NORMAL")],
)
async def test_sqlite_spec_takes_synchronous(tmp_path: Path, query: str, expected: str) -> None:
    spec = f"sqlite:{tmp_path / 'journal.db'}{query}"
    async with open_journal_store(spec) as store:
        assert isinstance(store, SqliteJournalStore)
        assert await store.synchronous_mode() == expected
    assert file_names(tmp_path) == ["journal.db"]  # the options are not in the name


@pytest.mark.parametrize("query", ["?synchronous=off", "?sync=full", "?synchronous"])
async def test_sqlite_spec_with_an_unknown_option_is_refused(tmp_path: Path, query: str) -> None:
    with pytest.raises(ConfigurationError, match=r"synchronous=normal\|full") as info:
        async with open_journal_store(f"sqlite:{tmp_path / 'journal.db'}{query}"):
            pass
    assert query not in str(info.value)
