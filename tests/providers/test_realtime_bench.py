"""bench/realtime.py runs: a few barge-ins on the real clock, every one measured."""

from __future__ import annotations

import pytest
import trio

from bench.realtime import measure

pytestmark = pytest.mark.slow


async def test_a_short_run_measures_every_figure() -> None:
    with trio.fail_after(60):
        figures = await measure(2, 200)
    assert figures["runs"] == 2
    for name in (
        "barge_in_to_cancel_ms",
        "truncate_after_cancel_ms",
        "end_of_speech_to_first_audio_ms",
        "commit_to_first_audio_ms",
    ):
        latency = figures[name]
        assert isinstance(latency, dict)
        assert 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    first_audio = figures["end_of_speech_to_first_audio_ms"]
    assert isinstance(first_audio, dict)
    assert first_audio["p50"] >= 200  # the server's silence window comes first
