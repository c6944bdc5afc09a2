"""The real-time benchmarks' measurement logic, run under virtual time.

Under ``autojump_clock`` the framework takes zero time, so every latency the bench
measures must be exactly zero and no frame may slip out: this keeps the benchmark
code honest (it measures what it claims) without wall-clock sleeps.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import trio
import trio.testing

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"bench_{name}"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("vad", ["fake", "energy"])
async def test_bargein_measures_zero_in_virtual_time(
    autojump_clock: trio.testing.MockClock, vad: str
) -> None:
    bargein = load("bargein")
    result = await bargein.one_run(1.7, vad_kind=vad)
    assert result == {
        "stop": 0.0,
        "ghosts": 0,
        "llm_closed": 0.0,
        "tts_closed": 0.0,
        "vad_lag": 0.0,
    }


async def test_overhead_measures_zero_in_virtual_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    overhead = load("overhead")
    measured = await overhead.run_sessions(3, 2)
    assert measured.turns == 6
    assert measured.overheads == pytest.approx([0.0] * 6, abs=1e-9)
    assert measured.lateness == []
