"""``trioagents dev`` reloads: a watcher process restarts the worker when a file changes.

As in LiveKit's ``dev``, the command you start is a supervisor. It runs the worker
as a child process (the same command line plus ``--no-reload``), watches the
entrypoint module's directory for changed, added or removed ``*.py`` files, and on
a change restarts the child cleanly:

1. SIGTERM: the child's worker drains (``dev`` drains at once) and gives its jobs
   their shutdown grace, then exits;
2. if it has not exited within ``RESTART_GRACE`` seconds, it is killed;
3. a new child starts with the new code.

A child that exits by itself (a syntax error in the edited file, say) is reported
with its status and restarted on the next change. Ctrl-C (or SIGTERM) stops the
child the same bounded way and exits 0.

The watcher polls file modification times every ``POLL_INTERVAL`` on Trio's clock
(``__pycache__``, hidden and virtualenv directories skipped). Rejected for now:
``watchfiles`` (MIT, inotify/FSEvents through its anyio ``awatch``, what LiveKit
uses): cheaper on very large trees, but one more compiled dependency for a dev
convenience; an agent's directory is small enough to poll (a few ms per scan).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import trio

__all__ = ["POLL_INTERVAL", "RESTART_GRACE", "entry_directory", "run_with_reload", "snapshot"]

logger = logging.getLogger("trioagents.cli")

POLL_INTERVAL = 0.5
RESTART_GRACE = 10.0
_SKIPPED = {"__pycache__", "node_modules", "venv", ".venv", "site-packages"}


def entry_directory(reference: str) -> Path:
    """The directory of ``module:function``'s module file (the current directory if
    it cannot be found without running it)."""
    module = reference.partition(":")[0]
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None or not spec.has_location:
        return Path.cwd()
    return Path(spec.origin).resolve().parent


def _python_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [
            d for d in subdirectories if d not in _SKIPPED and not d.startswith(".")
        ]
        for name in files:
            if name.endswith(".py"):
                yield Path(directory, name)


def snapshot(root: Path) -> dict[Path, int]:
    """``{path: mtime_ns}`` of the ``*.py`` files under ``root``."""
    found: dict[Path, int] = {}
    for path in _python_files(root):
        try:
            found[path] = path.stat().st_mtime_ns
        except OSError:
            continue  # removed while we walked
    return found


async def _wait_for_change(root: Path, before: dict[Path, int]) -> dict[Path, int]:
    """Poll until the snapshot differs from ``before``; returns the new one."""
    while True:
        await trio.sleep(POLL_INTERVAL)
        now = await trio.to_thread.run_sync(snapshot, root)
        if now != before:
            changed = sorted(str(p.relative_to(root)) for p in now.keys() ^ before.keys())
            changed += sorted(
                str(p.relative_to(root)) for p in now.keys() & before.keys() if now[p] != before[p]
            )
            logger.info("change detected; restarting the worker", extra={"files": changed[:5]})
            return now


async def _stop(process: trio.Process) -> None:
    """SIGTERM, then SIGKILL after ``RESTART_GRACE``; shielded, so it always finishes."""
    with trio.CancelScope(shield=True):
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with trio.move_on_after(RESTART_GRACE):
                await process.wait()
            if process.returncode is None:
                logger.warning("worker did not stop in time; killing it")
                process.kill()
        await process.wait()


async def _supervise(command: Sequence[str], root: Path) -> None:
    files = await trio.to_thread.run_sync(snapshot, root)
    logger.info("watching for changes", extra={"directory": str(root)})
    while True:
        process = await trio.lowlevel.open_process(list(command), stdin=subprocess.DEVNULL)
        try:
            async with trio.open_nursery() as nursery:

                async def report_exit(child: trio.Process = process) -> None:
                    status = await child.wait()
                    logger.warning(
                        "worker exited; restarting on the next change", extra={"status": status}
                    )

                nursery.start_soon(report_exit)
                files = await _wait_for_change(root, files)
                nursery.cancel_scope.cancel()
        finally:
            await _stop(process)


async def _until_signalled(command: Sequence[str], root: Path) -> None:
    async with trio.open_nursery() as nursery:

        async def stop_on_signal() -> None:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    logger.info("signal received; stopping the worker")
                    nursery.cancel_scope.cancel()
                    return

        nursery.start_soon(stop_on_signal)
        await _supervise(command, root)


def run_with_reload(argv: Sequence[str], reference: str) -> int:
    """Supervise ``trioagents <argv> --no-reload`` (see the module docstring)."""
    command = [sys.executable, "-m", "trioagents.cli", *argv, "--no-reload"]
    trio.run(_until_signalled, command, entry_directory(reference))
    return 0
