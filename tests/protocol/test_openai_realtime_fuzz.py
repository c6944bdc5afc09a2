"""A quick pass of fuzz/fuzz_openai_realtime.py (``python fuzz/fuzz_openai_realtime.py``)."""

from __future__ import annotations

import pytest

from trioagents.protocol import OpenAIRealtimeProtocol, RealtimeEvent

from .test_sse_fuzz import load


def test_quick_fuzz_pass() -> None:
    load("fuzz_openai_realtime").run(200)


def test_harness_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that leaks a foreign error, or a state machine that ignores its
    table, fails the harness."""
    harness = load("fuzz_openai_realtime")

    class Crashing(OpenAIRealtimeProtocol):
        def receive(self, message: str | bytes) -> RealtimeEvent:
            raise KeyError("bug")

    class Lenient(OpenAIRealtimeProtocol):
        def create_response(self, **kwargs: object) -> str:
            return '{"type": "response.create"}'  # sent before session.created

    monkeypatch.setattr(harness, "OpenAIRealtimeProtocol", Crashing)
    with pytest.raises(KeyError):
        harness.check_message('{"type": "error"}')
    monkeypatch.setattr(harness, "OpenAIRealtimeProtocol", Lenient)
    with pytest.raises(AssertionError):
        harness.check_steps(["create"])
