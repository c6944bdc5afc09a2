"""A quick pass of fuzz/fuzz_realtime_transcription.py (``python fuzz/...py``)."""

from __future__ import annotations

import json

import pytest

from trioagents.protocol import RealtimeTranscriptionProtocol, TranscriptFinalized

from .test_sse_fuzz import load


def test_quick_fuzz_pass() -> None:
    load("fuzz_realtime_transcription").run(150)


def test_harness_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that leaks a foreign error, a client that releases finals as they
    come, or a state machine that ignores its table, fails the harness."""
    harness = load("fuzz_realtime_transcription")

    def crashing(message: str | bytes) -> object:
        raise KeyError("bug")

    class Unordered(RealtimeTranscriptionProtocol):
        def _release(self) -> list[TranscriptFinalized]:
            item = next((i for i in self._order if i in self._done), None)
            if item is None:
                return []
            self._order.remove(item)
            return [TranscriptFinalized(item, self._done.pop(item), self._ends.pop(item))]

    class Lenient(RealtimeTranscriptionProtocol):
        def clear(self) -> str:
            return json.dumps({"type": "input_audio_buffer.clear"})  # even after the end

    monkeypatch.setattr(harness, "parse_transcription_event", crashing)
    with pytest.raises(KeyError):
        harness.check_message('{"type": "error"}')
    monkeypatch.undo()
    monkeypatch.setattr(harness, "RealtimeTranscriptionProtocol", Unordered)
    with pytest.raises(AssertionError):
        harness.check_order([("commit", 0), ("commit", 1), ("complete", 1), ("complete", 0)])
    monkeypatch.setattr(harness, "RealtimeTranscriptionProtocol", Lenient)
    with pytest.raises(AssertionError):
        harness.check_steps(["end", "clear"])
