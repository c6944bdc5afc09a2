"""The supervised process pool: one job per child process, prewarmed in advance.

For entrypoints that are CPU-heavy, leak memory, or are not trusted to honour
cancellation. The job code is named by ``"module:function"`` references, since a
child process cannot receive a closure. Each child runs
:mod:`~trioagents.worker._proc_child` and the same :class:`JobContext` as an
in-process job.

Supervision of a child running a job (all tasks of one nursery per job):

* pings every ``ping_interval``; no pong within ``ping_timeout`` → killed,
  ``JS_FAILED "unresponsive"``; a pong slower than ``high_ping_threshold`` logs a
  warning;
* ``VmRSS`` from ``/proc/<pid>/status`` every ``memory_check_interval``: above
  ``memory_warn_mb`` a warning (once per crossing), above ``memory_limit_mb``
  (``0`` disables) → killed, ``JS_FAILED "memory limit exceeded"``;
* the job's shutdown request is forwarded; if the child has not finished
  ``kill_grace`` seconds after that (the child's own entrypoint grace plus a
  margin), it is killed;
* a child that exits without reporting fails the job (``JS_FAILED "crashed"``); a
  warning ``job process died (killed by SIGKILL)`` carries ``exit_code`` and
  ``signal`` as ``extra`` fields, and the outcome carries the exit code so the
  worker counts it (``trioagents_worker_jobs_crashed_total``).

Idle children are kept at ``num_idle_processes`` by a warmer task; a job takes an
idle child or, if none is ready, spawns one. Leaving :func:`open_process_pool`
kills every child still alive (shielded, bounded).

Rejected alternative: ``multiprocessing``. Its pipes and pools are built for
threads or asyncio; ``trio.lowlevel.open_process`` gives cancellable streams and
a process we can kill, and the child is a plain module anyone can run by hand.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE
from typing import Any

import trio
from livekit.protocol import agent

from ..core import ConfigurationError, collapse_single_error
from ..protocol import IpcFrameDecoder, encode_ipc_message
from ._job import JobControl, JobInfo, JobOutcome, signal_name

__all__ = [
    "ProcessPool",
    "ProcessPoolOptions",
    "ProcessPoolStatistics",
    "describe_exit",
    "open_process_pool",
    "read_cpu_seconds",
    "read_rss_mb",
]

logger = logging.getLogger("trioagents.worker")

CRASHED = "crashed"  # the outcome reason of a child that exited without reporting


@dataclass(frozen=True, slots=True)
class ProcessPoolOptions:
    entrypoint: str
    prewarm: str | None = None
    room_factory: str | None = None
    num_idle_processes: int = 1
    initialize_timeout: float = 10.0
    ping_interval: float = 2.5
    ping_timeout: float = 60.0
    high_ping_threshold: float = 0.5
    memory_check_interval: float = 5.0
    memory_warn_mb: float = 1000.0
    memory_limit_mb: float = 0.0
    shutdown_grace: float = 15.0
    kill_margin: float = 5.0

    def __post_init__(self) -> None:
        if ":" not in self.entrypoint:
            raise ConfigurationError("entrypoint must be 'module:function'")
        if self.num_idle_processes < 0:
            raise ConfigurationError("num_idle_processes must be 0 or more")
        if self.ping_timeout <= self.ping_interval:
            raise ConfigurationError("ping_timeout must be longer than ping_interval")


@dataclass(frozen=True, slots=True)
class ProcessPoolStatistics:
    idle: int  # prewarmed, waiting for a job
    live: int  # every child not yet reaped (idle or running a job)
    spawning: int


def describe_exit(returncode: int | None) -> str:
    """``"killed by SIGKILL"``, ``"exit status 3"`` or ``"exit status unknown"``."""
    if returncode is None:
        return "exit status unknown"
    name = signal_name(returncode)
    return f"killed by {name}" if name is not None else f"exit status {returncode}"


def read_rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MiB from ``/proc``; ``None`` if unavailable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def read_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` from ``/proc``; ``None`` if unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _Child:
    """One child process and its framed pipe."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._decoder = IpcFrameDecoder()
        self._pending: list[dict[str, Any]] = []
        self._lock = trio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            await self._stdin.send_all(encode_ipc_message(message))

    async def receive(self) -> dict[str, Any] | None:
        """Next message, or ``None`` at EOF. Raises RemoteProtocolError on garbage."""
        while not self._pending:
            data = await self._stdout.receive_some(65536)
            if not data:
                return None
            self._pending.extend(self._decoder.feed(data))
        return self._pending.pop(0)

    async def kill(self) -> None:
        """Kill and reap; shielded and bounded, so safe in cleanup."""
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            if self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
            await self._stdin.aclose()
            await self._stdout.aclose()


class ProcessPool:
    """A :class:`~trioagents.worker.JobExecutor` running each job in its own process."""

    def __init__(self, options: ProcessPoolOptions) -> None:
        self.options = options
        self._idle: list[_Child] = []
        self._live: set[_Child] = set()
        self._spawning = 0
        self._changed = trio.Event()

    def statistics(self) -> ProcessPoolStatistics:
        return ProcessPoolStatistics(len(self._idle), len(self._live), self._spawning)

    def children_rss_mb(self) -> list[float]:
        """Resident memory of every live child (idle or running), in MiB."""
        sizes = (read_rss_mb(child.process.pid) for child in self._live)
        return [size for size in sizes if size is not None]

    def children_cpu_seconds(self) -> float:
        """CPU seconds used so far by every live child (the worker's load figure adds
        them; a reaped child's time is in this process's ``os.times()``)."""
        return sum(read_cpu_seconds(child.process.pid) or 0.0 for child in self._live)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _spawn(self) -> _Child:
        """Start a child and initialize it (prewarm). Raises on failure, child killed."""
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "trioagents.worker._proc_child"],
            stdin=PIPE, stdout=PIPE, env=env,
        )  # fmt: skip
        child = _Child(process)
        self._live.add(child)
        try:
            with trio.fail_after(self.options.initialize_timeout):
                await child.send({"type": "initialize", "entrypoint": self.options.entrypoint,
                                  "prewarm": self.options.prewarm,
                                  "room_factory": self.options.room_factory,
                                  "grace": self.options.shutdown_grace})  # fmt: skip
                answer = await child.receive()
            if answer is None or answer.get("type") != "initialized" or answer.get("error"):
                raise ConfigurationError("job process failed to initialize")
        except BaseException:
            self._live.discard(child)
            await child.kill()
            raise
        return child

    async def serve_warm(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep ``num_idle_processes`` prewarmed children; ready once they are."""
        started = False
        while True:
            while len(self._idle) + self._spawning < self.options.num_idle_processes:
                self._spawning += 1
                try:
                    child = await self._spawn()
                except (ConfigurationError, OSError, trio.TooSlowError):
                    logger.exception("could not prewarm a job process")
                    await trio.sleep(1.0)
                    continue
                finally:
                    self._spawning -= 1
                self._idle.append(child)
                self._notify()
            if not started:
                task_status.started()
                started = True
            await self._changed.wait()

    async def _take(self) -> _Child:
        if self._idle:
            child = self._idle.pop(0)
            self._notify()  # the warmer replaces it
            return child
        logger.info("no prewarmed process available; starting one")
        return await self._spawn()

    async def run_job(self, info: JobInfo, control: JobControl) -> JobOutcome:
        """Run one job in a child; the child is always gone when this returns.

        A child that ended without reporting (it died, or supervision killed it)
        gives an outcome with ``process_lost`` and its ``exit_code``; one that died
        on its own is also logged as a warning naming the exit status or signal.
        """
        child = await self._take()
        try:
            outcome = await self._start_and_supervise(child, info, control)
        finally:
            self._live.discard(child)
            await child.kill()
        if not outcome.process_lost:
            return outcome
        code = child.process.returncode
        if outcome.reason == CRASHED:  # supervision kills were logged when decided
            logger.warning("job process died (%s)", describe_exit(code),
                           extra={"job_id": info.id, "reason": outcome.reason,
                                  "exit_code": code, "signal": signal_name(code)})  # fmt: skip
        return dataclasses.replace(outcome, exit_code=code)

    async def _start_and_supervise(
        self, child: _Child, info: JobInfo, control: JobControl
    ) -> JobOutcome:
        job = base64.b64encode(info.job.SerializeToString()).decode()
        start = {"type": "start_job", "url": info.url, "token": info.token, "job": job,
                 "worker_id": info.worker_id, "identity": info.identity}  # fmt: skip
        try:
            await child.send(start)
        except (trio.BrokenResourceError, trio.ClosedResourceError):  # died while idle
            error = "job process exited before the job started"
            return JobOutcome(agent.JS_FAILED, error, CRASHED, process_lost=True)
        return await _Supervision(child, control, self.options, info.id).run()

    async def aclose(self) -> None:
        for child in list(self._live):
            await child.kill()
        self._live.clear()
        self._idle.clear()


class _Supervision:
    def __init__(self, child: _Child, control: JobControl, options: ProcessPoolOptions,
                 job_id: str) -> None:  # fmt: skip
        self.child = child
        self.control = control
        self.options = options
        self.job_id = job_id
        self.outcome: JobOutcome | None = None
        self.last_pong = trio.current_time()
        self.sent: dict[int, float] = {}

    def _fail(self, error: str, nursery: trio.Nursery) -> None:
        if self.outcome is None:
            logger.error("job process killed", extra={"job_id": self.job_id, "reason": error})
            self.outcome = JobOutcome(agent.JS_FAILED, error, error, process_lost=True)
        nursery.cancel_scope.cancel()

    async def run(self) -> JobOutcome:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read, nursery)
            nursery.start_soon(self._ping, nursery)
            nursery.start_soon(self._watch_memory, nursery)
            nursery.start_soon(self._forward_shutdown, nursery)
        if self.outcome is None:  # _read saw EOF and reaped the child: returncode is set
            error = f"job process died ({describe_exit(self.child.process.returncode)})"
            self.outcome = JobOutcome(agent.JS_FAILED, error, CRASHED, process_lost=True)
        return self.outcome

    async def _read(self, nursery: trio.Nursery) -> None:
        while (message := await self.child.receive()) is not None:
            if message["type"] == "pong" and isinstance(message.get("seq"), int):
                sent = self.sent.pop(message["seq"], None)
                self.last_pong = trio.current_time()
                if sent is not None and self.last_pong - sent > self.options.high_ping_threshold:
                    logger.warning("job process is slow to answer", extra={"job_id": self.job_id})
            elif message["type"] == "job_finished":
                self.outcome = JobOutcome(int(message["status"]), str(message.get("error", "")),
                                          str(message.get("reason", "")))  # fmt: skip
                break
        await self.child.process.wait()
        nursery.cancel_scope.cancel()

    async def _ping(self, nursery: trio.Nursery) -> None:
        seq = 0
        while True:
            await trio.sleep(self.options.ping_interval)
            if trio.current_time() - self.last_pong > self.options.ping_timeout:
                self._fail("unresponsive", nursery)
                return
            seq += 1
            self.sent[seq] = trio.current_time()
            try:
                await self.child.send({"type": "ping", "seq": seq})
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the child exited (maybe just after finishing): _read reports how

    async def _watch_memory(self, nursery: trio.Nursery) -> None:
        warned = False
        while True:
            rss = read_rss_mb(self.child.process.pid)
            if rss is not None:
                limit = self.options.memory_limit_mb
                if limit > 0 and rss > limit:
                    self._fail("memory limit exceeded", nursery)
                    return
                if rss > self.options.memory_warn_mb and not warned:
                    logger.warning("job process memory high",
                                   extra={"job_id": self.job_id, "rss_mb": rss})  # fmt: skip
                warned = rss > self.options.memory_warn_mb
            await trio.sleep(self.options.memory_check_interval)

    async def _forward_shutdown(self, nursery: trio.Nursery) -> None:
        await self.control.wait()
        try:
            await self.child.send({"type": "shutdown", "reason": self.control.reason,
                                   "failed": self.control.failed})  # fmt: skip
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return  # the child already exited: _read reports how
        await trio.sleep(self.options.shutdown_grace + self.options.kill_margin)
        self._fail("did not exit after shutdown", nursery)


@asynccontextmanager
async def open_process_pool(options: ProcessPoolOptions) -> AsyncIterator[ProcessPool]:
    """A pool whose idle children are prewarmed before the block starts.

    Raises what the first prewarm raises only through logs (the warmer retries);
    on exit every child is killed (shielded, bounded).
    """
    pool = ProcessPool(options)
    try:
        with collapse_single_error():
            async with trio.open_nursery() as nursery:
                await nursery.start(pool.serve_warm)
                yield pool
                nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await pool.aclose()
