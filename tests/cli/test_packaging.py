"""``console`` and ``demo`` from a pip install, not only from the checkout.

The wheel is built offline (``pip wheel --no-build-isolation``: hatchling is in the
``dev`` extra) and installed, not editable, into a fresh venv whose only other path
is this venv's site-packages, for the dependencies; the checkout is not on its
path (the commands run in an empty directory and the editable ``.pth`` of this venv
is not read there), so the demo agent must come from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# what `trioagents demo` and `trioagents console` import from the example
DEMO_AGENT_FILES = {"__init__.py", "agents.py", "main.py", "text_chat.py"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (built,) = out.glob("trioagents-*.whl")
    return built


@pytest.mark.slow
def test_wheel_carries_the_demo_agent(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packaged = {
        name.rsplit("/", 1)[1]
        for name in names
        if name.startswith("trioagents/cli/_restaurant_booking/")
    }
    assert packaged >= DEMO_AGENT_FILES
    assert "trioagents/py.typed" in names
    for module in ("_demo.py", "_demo_agent.py", "_demo_caller.py", "_console.py"):
        assert f"trioagents/cli/{module}" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "examples/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "trioagents = trioagents.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_installed_copy_runs_console_and_demo_help(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    fresh_python = venv / "bin" / "python"
    site = Path(subprocess.run(
        [fresh_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())  # fmt: skip
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(fresh_python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    command = venv / "bin" / "trioagents"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    where = subprocess.run(
        [fresh_python, "-c", "import trioagents; print(trioagents.__file__)"],
        cwd=work, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(site)), where  # the installed copy, not the checkout

    help_text = subprocess.run(
        [command, "demo", "--help"], cwd=work, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert help_text.returncode == 0, help_text.stderr
    assert "--line" in help_text.stdout

    chat = subprocess.run(
        [command, "console", "--text"], input="Hi, I'd like to book a table\n", cwd=work,
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert "trioagents.cli._restaurant_booking.main:build_session" in chat.stdout
    assert "agent: Happy to. Your name, party size and time, please?" in chat.stdout

    call = subprocess.run(
        [command, "demo", "--text"], cwd=work, env=env, capture_output=True, text=True,
        timeout=90, check=False,
    )  # fmt: skip
    assert call.returncode == 0, call.stdout + call.stderr
    assert "using agent: trioagents.cli._restaurant_booking.main:build_session" in call.stdout
    assert "turns answered: 3 of 3 caller lines" in call.stdout
