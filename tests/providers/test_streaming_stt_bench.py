"""bench/streaming_stt.py runs: a few utterances on the real clock, every one transcribed."""

from __future__ import annotations

import pytest
import trio

from bench.streaming_stt import measure

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("provider", ["deepgram", "openai"])
async def test_a_short_run_measures_every_mode(provider: str) -> None:
    with trio.fail_after(30):
        figures = await measure(3, 30, provider)
    assert (figures["runs"], figures["provider"]) == (3, provider)
    names = ("finalize_ms", "first_interim_ms", "endpointing_latency_ms", "endpointing_overhead_ms")
    for name in names:
        latency = figures[name]
        assert isinstance(latency, dict)
        assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    endpointing = figures["endpointing_latency_ms"]
    assert isinstance(endpointing, dict)
    assert endpointing["p50"] >= 30  # three 10 ms silence frames, paced in real time
