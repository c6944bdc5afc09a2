"""A quick run of ``fuzz/fuzz_journal.py``, and proof that its checks can fail."""

from __future__ import annotations

import pytest

from fuzz import fuzz_journal
from trioagents.persistence import _journal


def test_fuzz_harness_holds_for_a_few_hundred_examples() -> None:
    fuzz_journal.run(max_examples=300)


def test_fuzz_harness_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    # A decoder that leaks a foreign exception must be caught by the check.
    def leaky(record: object) -> object:
        raise KeyError("boom")

    monkeypatch.setattr(_journal, "_entry_from_record", leaky)
    with pytest.raises(KeyError):
        fuzz_journal.check_entry(fuzz_journal._valid_entry())
