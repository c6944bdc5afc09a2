"""Job code run inside pool child processes by tests/worker/test_pool.py.

Each entrypoint writes what it saw to the file named by the job's metadata, so the
test (in another process) can check it.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import trio

from trioagents.worker import JobContext, JobProcess


def prewarm(proc: JobProcess) -> None:
    proc.userdata["model"] = f"loaded-in-{os.getpid()}"


def _record(ctx: JobContext, **fields: object) -> None:
    Path(ctx.job.metadata).write_text(json.dumps({"pid": os.getpid(), **fields}))


async def finishes(ctx: JobContext) -> None:
    print("user output goes to stderr, not into the frames")
    _record(ctx, model=ctx.proc.userdata.get("model"), job=ctx.job.id, identity=ctx.info.identity)


async def reports_gc(ctx: JobContext) -> None:
    _record(ctx, frozen=gc.get_freeze_count(), tracked=len(gc.get_objects()))


async def crashes(ctx: JobContext) -> None:
    raise RuntimeError("boom")


async def waits_for_shutdown(ctx: JobContext) -> None:
    reason = await ctx.wait_for_shutdown()
    _record(ctx, reason=reason)


async def ignores_shutdown(ctx: JobContext) -> None:
    with trio.CancelScope(shield=True):
        await trio.sleep(3600)


async def eats_memory(ctx: JobContext) -> None:
    hog = b"x" * (200 * 1024 * 1024)
    await trio.sleep(3600)
    del hog


async def blocks_event_loop(ctx: JobContext) -> None:
    import time

    time.sleep(30)  # noqa: ASYNC251 - the point: a blocking call that never checkpoints


async def kills_itself(ctx: JobContext) -> None:
    import signal

    os.kill(os.getpid(), signal.SIGKILL)  # what `kill -9 <pid>` from outside does
    await trio.sleep(3600)


async def exits_with_status_3(ctx: JobContext) -> None:
    os._exit(3)
