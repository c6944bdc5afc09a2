"""bench/streaming_tts.py runs: a few utterances per provider on the real clock."""

from __future__ import annotations

import pytest
import trio

from bench.streaming_tts import measure

pytestmark = pytest.mark.slow


async def test_a_short_run_measures_both_providers() -> None:
    with trio.fail_after(60):
        figures = await measure(3, pace=4.0)
    assert figures["runs"] == 3
    for provider in ("elevenlabs", "cartesia"):
        result = figures[provider]
        assert isinstance(result, dict)
        for name in ("first_audio_own_ms", "first_audio_reused_ms", "cancel_seen_own_ms"):
            latency = result[name]
            assert 0 <= latency["p50"] <= latency["p95"] <= latency["max"]
        assert sum(result["cancel_seen_reused_by"].values()) == 3
