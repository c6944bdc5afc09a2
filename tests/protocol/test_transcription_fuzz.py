"""A quick pass of fuzz/fuzz_transcription.py (``python fuzz/fuzz_transcription.py``)."""

from __future__ import annotations

import pytest

from trioagents.protocol import TranscriptionBody

from .test_sse_fuzz import load


def test_quick_fuzz_pass() -> None:
    load("fuzz_transcription").run(300)


def test_harness_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that ignores the cap, or raises a foreign error, fails the harness."""
    harness = load("fuzz_transcription")

    class Uncapped(TranscriptionBody):
        def feed(self, data: bytes) -> None:
            self._body += data  # type: ignore[attr-defined]

        def declare(self, content_length: str | None) -> None:
            return None

    class Crashing(TranscriptionBody):
        def text(self) -> str:
            raise IndexError("bug")

    big = b'{"text": "' + b"x" * 200 + b'"}'
    monkeypatch.setattr(harness, "TranscriptionBody", Uncapped)
    with pytest.raises(AssertionError):
        harness.check(big, [5])
    monkeypatch.setattr(harness, "TranscriptionBody", Crashing)
    with pytest.raises(IndexError):
        harness.check(b'{"text": "a"}', [3])
