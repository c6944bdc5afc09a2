"""Ctrl-C: every long-running command exits 0 or 130 with one line, never a traceback.

Real subprocesses, a real SIGINT, sent once the command said it is up (no sleeps).
"""

from __future__ import annotations

import pytest
import trio

from tests.cli._interrupting import Finished, interrupt_after
from trioagents.cli._interrupt import is_interrupt, run_until_interrupted
from trioagents.devserver import open_devserver

pytestmark = pytest.mark.slow


def _assert_clean(result: Finished, codes: tuple[int, ...] = (0, 130)) -> None:
    assert result.returncode in codes, result.stderr
    for word in ("Traceback", "ExceptionGroup", "KeyboardInterrupt"):
        assert word not in result.stderr, result.stderr
        assert word not in result.stdout


async def test_console_ctrl_c_while_waiting_for_a_line() -> None:
    result = await interrupt_after(["console", "--text"], "agent: Welcome", stdin=True)
    _assert_clean(result, (130,))
    assert result.stderr.strip().splitlines()[-1] == "console: interrupted"


async def test_devserver_ctrl_c() -> None:
    result = await interrupt_after(["devserver", "--port", "0"], "trioagents devserver: ws://")
    _assert_clean(result, (0,))
    assert result.stderr.strip().splitlines()[-1] == "trioagents devserver: stopped"


@pytest.mark.parametrize("command", ["dev", "start"])
async def test_worker_ctrl_c_drains_and_exits_0(command: str) -> None:
    """``dev`` runs its reloading supervisor (the default): Ctrl-C stops the child too."""
    async with open_devserver() as server:
        args = [command, "tests.cli.entries:entrypoint", "--url", server.url,
                "--api-key", server.api_key, "--api-secret", server.api_secret,
                "--health-port", "0"]  # fmt: skip
        result = await interrupt_after(args, "worker registered")
    _assert_clean(result, (0,))
    assert "signal received; draining" in result.stderr


async def test_ctrl_c_while_the_entrypoint_is_imported() -> None:
    """Before the worker's signal handler exists: still one line, status 130."""
    args = ["dev", "tests.cli.slow_entry:entrypoint", "--url", "ws://127.0.0.1:9", "--no-reload"]
    result = await interrupt_after(args, "importing slow entry\n")
    _assert_clean(result, (130,))
    assert result.stderr.strip().splitlines()[-1] == "trioagents dev: interrupted"


def test_is_interrupt_only_for_groups_of_ctrl_c() -> None:
    cancelled = trio.Cancelled._create()  # type: ignore[attr-defined]
    assert is_interrupt(KeyboardInterrupt())
    assert is_interrupt(BaseExceptionGroup("g", [KeyboardInterrupt(), cancelled]))
    assert not is_interrupt(BaseExceptionGroup("g", [KeyboardInterrupt(), ValueError()]))
    assert not is_interrupt(BaseExceptionGroup("g", [cancelled]))
    assert not is_interrupt(ValueError())


def test_run_until_interrupted_passes_errors_through_as_themselves() -> None:
    async def fails() -> None:
        await trio.lowlevel.checkpoint()
        raise ValueError("boom")

    async def returns() -> None:
        await trio.lowlevel.checkpoint()

    with pytest.raises(ValueError, match="boom"):
        run_until_interrupted(fails)
    assert run_until_interrupted(returns) is False
