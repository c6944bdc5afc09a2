"""A quick pass of fuzz/fuzz_deepgram.py (``python fuzz/fuzz_deepgram.py``)."""

from __future__ import annotations

import pytest

from trioagents.protocol import DeepgramEvent, DeepgramProtocol

from .test_sse_fuzz import load


def test_quick_fuzz_pass() -> None:
    load("fuzz_deepgram").run(200)


def test_harness_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that leaks a foreign error, or a state machine that ignores its
    table, fails the harness."""
    harness = load("fuzz_deepgram")

    class Crashing(DeepgramProtocol):
        def receive(self, message: str | bytes) -> DeepgramEvent:
            raise KeyError("bug")

    class Lenient(DeepgramProtocol):
        def keep_alive(self) -> str:
            return '{"type": "KeepAlive"}'  # sent even after CloseStream

    monkeypatch.setattr(harness, "DeepgramProtocol", Crashing)
    with pytest.raises(KeyError):
        harness.check_message('{"type": "Results"}')
    monkeypatch.setattr(harness, "DeepgramProtocol", Lenient)
    with pytest.raises(AssertionError):
        harness.check_steps(["CloseStream", "KeepAlive"])
