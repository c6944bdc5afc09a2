"""A quick pass of fuzz/fuzz_elevenlabs.py and fuzz/fuzz_cartesia.py."""

from __future__ import annotations

import pytest

from trioagents.protocol import CartesiaContext, TTSServerEvent

from .test_sse_fuzz import load


@pytest.mark.parametrize("name", ["fuzz_elevenlabs", "fuzz_cartesia"])
def test_quick_fuzz_pass(name: str) -> None:
    load(name).run(200)


def test_harness_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that leaks a foreign error, or a context that ignores its table,
    fails the harness."""
    harness = load("fuzz_cartesia")

    def crashing(message: str | bytes) -> TTSServerEvent:
        raise KeyError("bug")

    class Lenient(CartesiaContext):
        def text(self, piece: object) -> list[str]:
            return []  # sent even after the end

    monkeypatch.setattr(harness, "parse_cartesia_message", crashing)
    with pytest.raises(KeyError):
        harness.check_message('{"type": "chunk"}')
    monkeypatch.setattr(harness, "CartesiaContext", Lenient)
    with pytest.raises(AssertionError):
        harness.check_steps(["open", "end", "text"])
