"""A quick pass of fuzz/fuzz_sse.py (the full run is ``python fuzz/fuzz_sse.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from trioagents.protocol import ServerSentEvent, SSEDecoder

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FUZZ / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_fuzz_pass() -> None:
    load("fuzz_sse").run(300)


def test_harness_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder whose result depends on the split, or that raises a foreign error,
    must make the harness fail."""
    harness = load("fuzz_sse")

    class SplitSensitive(SSEDecoder):
        def feed(self, data: bytes) -> list[ServerSentEvent]:
            return [ServerSentEvent(str(len(data)))]

    class Crashing(SSEDecoder):
        def feed(self, data: bytes) -> list[ServerSentEvent]:
            raise IndexError("bug")

    monkeypatch.setattr(harness, "SSEDecoder", SplitSensitive)
    with pytest.raises(AssertionError):
        harness.check(b"data: a\n\n", [3])
    monkeypatch.setattr(harness, "SSEDecoder", Crashing)
    with pytest.raises(IndexError):
        harness.check(b"data: a\n\n", [3])
