"""Run a ``trioagents`` command in a subprocess, Ctrl-C it once it printed a marker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
# The child gets Ctrl-C as from a terminal: a suite started as a background job of a
# non-interactive shell (``cmd &``) inherits SIGINT as ignored, and Python (rightly)
# leaves an inherited SIG_IGN alone, so without this the child would never see the signal.
RUN = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from trioagents.cli import main; sys.exit(main(sys.argv[1:]))"
)


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class _Output:
    """Both pipes of the child, and a wake-up for whoever waits for a marker."""

    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    _changed: trio.Event = field(default_factory=trio.Event)

    async def drain(self, stream: trio.abc.ReceiveStream, sink: bytearray) -> None:
        while chunk := await stream.receive_some(4096):
            sink.extend(chunk)
            self._changed.set()
            self._changed = trio.Event()

    async def changed(self) -> None:
        """Wait for the next chunk on either pipe."""
        await self._changed.wait()

    async def wait_for(self, marker: str) -> None:
        while marker.encode() not in self.stdout + self.stderr:
            await self._changed.wait()


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


async def interrupt_after(args: list[str], marker: str, *, stdin: bool = False) -> Finished:
    """Start ``trioagents *args``; once ``marker`` shows on stdout or stderr, SIGINT it.

    ``stdin=True`` gives the child a pipe that stays open (an idle terminal). Bounded:
    40 s for the whole run.
    """
    output = _Output()
    with trio.fail_after(40):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", RUN, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=child_env(),
        )
        try:
            async with trio.open_nursery() as nursery:
                assert process.stdout is not None
                assert process.stderr is not None
                nursery.start_soon(output.drain, process.stdout, output.stdout)
                nursery.start_soon(output.drain, process.stderr, output.stderr)
                await output.wait_for(marker)
                process.send_signal(signal.SIGINT)
                await process.wait()
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.kill()
                await process.wait()
    return Finished(process.returncode, output.stdout.decode(), output.stderr.decode())
