"""The job process: ``python -m trioagents.worker._proc_child``.

Protocol over stdin (parent → child) and the original stdout (child → parent),
framed by :mod:`trioagents.protocol._worker_ipc`; fd 1 is then pointed at stderr
so that a user's ``print`` can never corrupt a frame.

1. ``initialize {entrypoint, prewarm, room_factory, grace}`` → imports the
   ``module:function`` references, runs ``prewarm(proc)`` once →
   ``initialized {error}``. The process now idles, prewarmed, answering pings.
2. ``start_job {job (base64 protobuf), url, token, worker_id, identity}`` → runs
   :func:`~trioagents.worker.run_job` with the same :class:`JobContext` as an
   in-process job → ``job_finished {status, error, reason}``, then exits.
3. ``ping {seq}`` → ``pong {seq}`` at any time; ``shutdown {reason}`` asks the
   job to end (grace applies) or, with no job yet, exits at once.

SIGINT is ignored: Ctrl-C in a terminal reaches the whole process group, and
only the parent decides when a job ends.
"""

from __future__ import annotations

import base64
import gc
import inspect
import os
import signal
import sys
from typing import Any

import trio
from livekit.protocol import agent

from ..protocol import IpcFrameDecoder, encode_ipc_message
from ._job import JobControl, JobInfo, JobProcess, run_job
from ._references import load_reference

__all__ = ["main"]


class _Channel:
    def __init__(self, receive: trio.abc.ReceiveStream, send: trio.abc.SendStream) -> None:
        self._receive = receive
        self._send = send
        self._decoder = IpcFrameDecoder()
        self._pending: list[dict[str, Any]] = []
        self._lock = trio.Lock()

    async def next(self) -> dict[str, Any] | None:
        while not self._pending:
            data = await self._receive.receive_some(65536)
            if not data:
                return None
            self._pending.extend(self._decoder.feed(data))
        return self._pending.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            await self._send.send_all(encode_ipc_message(message))


async def _initialize(channel: _Channel, message: dict[str, Any]) -> tuple[Any, Any, JobProcess]:
    proc = JobProcess()
    try:
        entrypoint = load_reference(message["entrypoint"])
        room_factory = (
            load_reference(message["room_factory"]) if message.get("room_factory") else None
        )
        if message.get("prewarm"):
            result = load_reference(message["prewarm"])(proc)
            if inspect.isawaitable(result):
                await result
    except Exception as exc:
        await channel.send({"type": "initialized", "error": type(exc).__name__})
        raise
    _freeze_heap()
    await channel.send({"type": "initialized", "error": None})
    return entrypoint, room_factory, proc


def _freeze_heap() -> None:
    """Move what the imports and ``prewarm`` left alive out of the collector's reach.

    A job process holds ~80 k objects from its imports (more with prewarmed models)
    that live as long as it does; every full collection walks them all and stops the
    process for 20-25 ms (``docs/performance.md``), stalling its audio. Frozen, a
    full collection walks only what the job allocates (the import heap: 0.0 ms).
    Done here, in a process we own, never at import time: an application embedding
    the library keeps its own GC policy. The cost: a reference cycle among these
    objects that becomes garbage later is never freed.
    """
    gc.collect()
    gc.freeze()


async def _serve(channel: _Channel) -> None:
    first = await channel.next()
    if first is None or first["type"] != "initialize":
        return
    entrypoint, room_factory, proc = await _initialize(channel, first)
    control = JobControl()
    start, started = trio.open_memory_channel[dict[str, Any]](1)
    async with trio.open_nursery() as nursery:

        async def read() -> None:
            while (message := await channel.next()) is not None:
                if message["type"] == "ping":
                    await channel.send({"type": "pong", "seq": message.get("seq")})
                elif message["type"] == "start_job":
                    # Marked here, not when the main task picks it up: a shutdown
                    # read right behind it must shut the job down, not the process.
                    running.set()
                    start.send_nowait(message)
                elif message["type"] == "shutdown":
                    reason = str(message.get("reason") or "parent shutdown")
                    control.request_shutdown(reason, failed=bool(message.get("failed")))
                    if not running.is_set():
                        nursery.cancel_scope.cancel()  # no job yet: just exit
            control.request_shutdown("parent went away")

        running = trio.Event()
        nursery.start_soon(read)
        message = await started.receive()
        job = agent.Job()
        job.ParseFromString(base64.b64decode(message["job"]))
        info = JobInfo(job, message["url"], message["token"], message["worker_id"],
                       message["identity"])  # fmt: skip
        outcome = await run_job(info, entrypoint, control, room_factory=room_factory,
                                proc=proc, grace=float(first.get("grace", 15.0)))  # fmt: skip
        await channel.send({"type": "job_finished", "status": outcome.status,
                            "error": outcome.error, "reason": outcome.reason})  # fmt: skip
        nursery.cancel_scope.cancel()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    frames_out = os.dup(1)
    os.dup2(2, 1)  # user output goes to stderr; fd 1 copy is for frames only
    sys.stdout = sys.stderr

    async def run() -> None:
        receive = trio.lowlevel.FdStream(os.dup(0))
        send = trio.lowlevel.FdStream(frames_out)
        async with receive, send:
            await _serve(_Channel(receive, send))

    trio.run(run)


if __name__ == "__main__":
    main()
