"""bench/streaming_stt.py runs: a few utterances on the real clock, every one transcribed."""

from __future__ import annotations

import pytest
import trio

from bench.streaming_stt import measure

pytestmark = pytest.mark.slow


async def test_a_short_run_measures_every_mode() -> None:
    with trio.fail_after(30):
        figures = await measure(3, 30)
    assert figures["runs"] == 3
    for name in ("finalize_ms", "endpointing_latency_ms", "endpointing_overhead_ms"):
        latency = figures[name]
        assert isinstance(latency, dict)
        assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    endpointing = figures["endpointing_latency_ms"]
    assert isinstance(endpointing, dict)
    assert endpointing["p50"] >= 30  # three 10 ms silence frames, paced in real time
