"""``import trioagents.testing`` works without Hypothesis (only WorkflowMachine needs it).

Run in a fresh interpreter whose import system refuses ``hypothesis`` (a
``sys.meta_path`` finder raising ImportError), so installed packages and other
tests' imports cannot hide a regression.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys

class NoHypothesis:
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            if ERROR == "ModuleNotFoundError":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            raise ImportError(f"{name} is blocked")
        return None

sys.meta_path.insert(0, NoHypothesis())
import trioagents.testing as kit
from trioagents.testing import FakeLLM, ChaosLLM, open_openai_server
report = {"hypothesis_loaded": any(m.split(".")[0] == "hypothesis" for m in sys.modules)}
try:
    kit.WorkflowMachine
except ImportError as exc:
    report["error"] = [type(exc).__name__, str(exc)]
print(json.dumps(report))
"""


def probe(error: str) -> dict[str, object]:
    code = f"ERROR = {error!r}\n" + PROBE
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_the_kit_imports_without_hypothesis() -> None:
    report = probe("ModuleNotFoundError")  # what an uninstalled package raises
    assert report["hypothesis_loaded"] is False
    assert report["error"] == [
        "ImportError",
        "trioagents.testing.WorkflowMachine needs Hypothesis: "
        "pip install 'trioagents[testing]' (or hypothesis)",
    ]


def test_any_import_error_for_hypothesis_only_fails_workflow_machine() -> None:
    report = probe("ImportError")
    assert report["hypothesis_loaded"] is False
    assert report["error"] == ["ImportError", "hypothesis is blocked"]


def test_workflow_machine_still_resolves_when_hypothesis_is_there() -> None:
    import trioagents.testing as kit
    from trioagents.testing import WorkflowMachine
    from trioagents.testing._workflow_machine import WorkflowMachine as defined

    assert kit.WorkflowMachine is WorkflowMachine is defined
    assert "WorkflowMachine" in kit.__all__
