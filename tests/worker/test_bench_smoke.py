"""bench/worker.py runs (tiny sizes): the benchmark itself must not rot."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


async def test_benchmarks_run_and_report_numbers() -> None:
    from bench import worker as bench

    dispatch = await bench.bench_dispatch(3)
    assert 0 < dispatch["availability_to_joined_p50_ms"] < 5000
    memory = await bench.bench_memory(5)
    assert memory["pool_child_mb"] > 1
    realtime = await bench.bench_realtime(8, 0.1)
    assert set(realtime["p99_lateness_ms_by_sessions"]) >= {8}  # type: ignore[arg-type]
