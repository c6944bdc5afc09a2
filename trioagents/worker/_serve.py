"""``open_worker`` (a worker for an ``async with`` block) and ``serve_worker``
(run until cancelled or signalled, then drain).

``serve_worker`` is the only place in the library that touches signals, and only when asked
(``drain_signals``, default SIGTERM and SIGINT; pass ``()`` to install nothing).
On the first signal the worker drains: it stops accepting, reports itself full
and waits for running jobs up to ``options.drain_timeout``; whatever is still
running then is shut down with ``shutdown_grace`` and cancelled. A second signal
during the drain skips the rest of the wait.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

import trio

from ..core import collapse_single_error, open_ticker
from ._http import serve_health
from ._job import Entrypoint, InProcessExecutor, JobExecutor, JobProcess, RoomFactory
from ._options import WorkerOptions
from ._requests import RequestFnc
from ._worker import Worker

__all__ = ["open_worker", "serve_worker"]

logger = logging.getLogger("trioagents.worker")

DEFAULT_DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@asynccontextmanager
async def open_worker(
    options: WorkerOptions,
    entrypoint: Entrypoint,
    *,
    request_fnc: RequestFnc | None = None,
    prewarm_fnc: Callable[[JobProcess], Awaitable[None] | None] | None = None,
    room_factory: RoomFactory | None = None,
    executor: JobExecutor | None = None,
) -> AsyncIterator[Worker]:
    """Run a worker for the duration of the block.

    Registers in the background (``await worker.wait_registered()`` to wait) and
    reconnects with back-off after a drop. On exit every job is asked to shut down
    and given ``options.shutdown_grace`` (shielded) before being cancelled. Raises
    :class:`~trioagents.core.ConnectError` out of the block if the server stays
    unreachable for ``options.max_reconnect_attempts`` attempts; an error of the
    block itself comes out as itself.

    The block owns one :func:`~trioagents.core.open_ticker` for the process: jobs
    run here pace their scripted or file inputs through it (one timer for all of
    them, not one sleep per job per frame).

    Jobs run in this process (``entrypoint``, ``prewarm_fnc`` once, here, and
    ``room_factory``) unless ``executor`` is given — e.g. a
    :class:`~trioagents.worker.ProcessPool`, which names its own entrypoint,
    prewarm and room factory; the three arguments are then unused.
    """
    if executor is None:
        proc = JobProcess()
        if prewarm_fnc is not None:
            result = prewarm_fnc(proc)
            if result is not None:
                await result
        executor = InProcessExecutor(entrypoint, room_factory, proc, options.shutdown_grace)
    worker = Worker(options, executor, request_fnc)
    with collapse_single_error():
        async with open_ticker(), trio.open_nursery() as nursery:
            if options.load_fnc is None:
                await nursery.start(worker.serve_load)
            nursery.start_soon(worker.serve_connections, nursery)
            if options.health_port is not None:
                worker.health_address = await nursery.start(
                    serve_health, worker, options.health_host, options.health_port
                )
            try:
                yield worker
            finally:
                grace = options.shutdown_grace + 1
                with trio.CancelScope(shield=True), trio.move_on_after(grace):
                    await worker.shutdown_jobs("worker closing")
                nursery.cancel_scope.cancel()


async def serve_worker(
    options: WorkerOptions,
    entrypoint: Entrypoint,
    *,
    request_fnc: RequestFnc | None = None,
    prewarm_fnc: Callable[[JobProcess], Awaitable[None] | None] | None = None,
    room_factory: RoomFactory | None = None,
    executor: JobExecutor | None = None,
    drain_signals: Iterable[int] = DEFAULT_DRAIN_SIGNALS,
    task_status: trio.TaskStatus[Worker] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run until cancelled, or drain and return after one of ``drain_signals``.

    Reports the :class:`Worker` through ``task_status`` once it exists (not yet
    registered). Raises :class:`~trioagents.core.ConnectError` if the server stays
    unreachable. Must run in the main thread when signals are given.
    """
    signals = tuple(drain_signals)
    async with open_worker(options, entrypoint, request_fnc=request_fnc,
                           prewarm_fnc=prewarm_fnc, room_factory=room_factory,
                           executor=executor) as worker:  # fmt: skip
        if not signals:
            task_status.started(worker)
            await trio.sleep_forever()
        with trio.open_signal_receiver(*signals) as received:
            task_status.started(worker)
            async for signum in received:
                logger.info("signal received; draining", extra={"signal": signum})
                break
            await _drain(worker, received)


async def _drain(worker: Worker, received: AsyncIterator[int]) -> None:
    """Drain within ``drain_timeout``; a second signal from ``received`` cuts it short."""
    async with trio.open_nursery() as nursery:

        async def second_signal() -> None:
            async for _ in received:
                logger.warning("second signal: stopping the drain")
                nursery.cancel_scope.cancel()
                return

        nursery.start_soon(second_signal)
        with trio.move_on_after(worker.options.drain_timeout) as scope:
            await worker.drain()
        if scope.cancelled_caught:
            logger.warning("drain timeout: shutting down the remaining jobs")
        nursery.cancel_scope.cancel()
