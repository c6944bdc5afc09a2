"""The opt-in pytest plugin reports a lone failure of a Trio test as itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = """
import pytest
import trio


async def fail(exc):
    raise exc


@pytest.mark.trio
async def test_one_failure():
    await trio.sleep(0)
    reply = "hello"
    assert reply == "hi"


@pytest.mark.trio
async def test_two_failures():
    async with trio.open_nursery() as nursery:
        nursery.start_soon(fail, KeyError("a"))
        nursery.start_soon(fail, ValueError("b"))


@pytest.mark.trio
async def test_raises_inside_a_test_is_unchanged():
    with pytest.raises(ExceptionGroup):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail, KeyError("a"))
"""


def run_pytest(tmp_path: Path, *options: str) -> str:
    (tmp_path / "test_sample.py").write_text(TESTS)
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *options]
    done = subprocess.run(
        [*command, "test_sample.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout


def test_without_the_plugin_pytest_trio_reports_a_group(tmp_path: Path) -> None:
    out = run_pytest(tmp_path)
    assert "ExceptionGroup: Exceptions from Trio nursery (1 sub-exception)" in out
    assert "E       AssertionError" not in out  # no assertion rendering of its own


def test_with_the_plugin_a_lone_failure_is_itself(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, "-p", "trioagents.testing.pytest_plugin")
    assert "FAILED test_sample.py::test_one_failure - AssertionError: assert 'hello' == 'hi'" in out
    assert "E       AssertionError: assert 'hello' == 'hi'" in out  # pytest's own rendering
    one = out.split("test_one_failure ___")[1].split("test_two_failures ___")[0]
    assert "ExceptionGroup" not in one
    assert "FAILED test_sample.py::test_two_failures - ExceptionGroup" in out
    assert "2 failed, 1 passed" in out
