"""A quick pass of fuzz/fuzz_openai_chat.py (full run: ``python fuzz/fuzz_openai_chat.py``)."""

from __future__ import annotations

from .test_sse_fuzz import load


def test_quick_fuzz_pass() -> None:
    load("fuzz_openai_chat").run(100)
