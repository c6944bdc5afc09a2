from __future__ import annotations

import importlib.util
from pathlib import Path


def test_fuzz_harness_runs_quickly() -> None:
    path = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_signal.py"
    spec = importlib.util.spec_from_file_location("fuzz_signal", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.run(150)
