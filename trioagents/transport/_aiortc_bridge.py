"""The asyncio bridge: aiortc runs on one asyncio loop in a dedicated thread.

Why a thread (and not trio-asyncio or guest mode): measured on this machine, a
dedicated loop thread costs about one point of a core over pure asyncio, exits
cleanly on Ctrl-C in 30/30 trials (trio-asyncio deadlocked in 4/30), keeps a plain
``trio.run`` entry point, and runs aiortc on the stock asyncio loop it is tested on.
The price is ~0.2 ms hand-off latency, against a 20 ms audio frame.
(See ``shared/reference/feasibility.md`` §2.)

Contract:

* The loop and its thread exist exactly for the duration of ``async with
  open_asyncio_bridge() as bridge``. On exit every asyncio task still alive is
  cancelled and awaited, async generators and the default executor are shut down,
  and the thread is joined -- shielded and bounded by ``close_grace``.
* ``await bridge.run(corofn, *args)`` runs a coroutine as an asyncio task on the
  loop. Cancelling the Trio caller cancels that task *and waits for the task's own
  done-callback* (shielded), so the coroutine has really unwound when ``run``
  raises. (Cancelling the ``concurrent.futures.Future`` of
  ``run_coroutine_threadsafe`` instead would report "done" before the task unwinds.)
* ``bridge.post(fn, *args)`` is for asyncio-side code: it schedules a *sync*
  callable in Trio and never raises (returns False once Trio is gone). ``fn`` must
  not raise either: Trio turns an exception there into ``TrioInternalError``.
* ICE host candidates: aioice gathers every interface and skips loopback. Inside
  ``run``, gathering is restricted to ``ice_host_addresses`` (default
  ``("127.0.0.1",)``), through a context variable read by a patched
  ``aioice.ice.get_host_addresses``; asyncio code outside the bridge is unaffected.
  The patch is installed when the first bridge opens, never at import.

Only touch aiortc objects inside coroutines run on the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import trio

__all__ = ["AsyncioBridge", "BridgeStatistics", "open_asyncio_bridge"]

T = TypeVar("T")

DEFAULT_ICE_HOSTS: tuple[str, ...] = ("127.0.0.1",)
_ICE_HOSTS: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "trioagents_ice_hosts", default=None
)
_patch_lock = threading.Lock()
_patched = False


@dataclass(frozen=True, slots=True)
class BridgeStatistics:
    """``leftover_tasks``: asyncio tasks still alive when the loop stopped (then cancelled).

    ``joined`` is True once the loop thread has exited.
    """

    runs_started: int
    runs_cancelled: int
    posts_dropped: int
    leftover_tasks: int
    joined: bool


class AsyncioBridge:
    """Handle to the loop thread; obtain it from :func:`open_asyncio_bridge`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ice_hosts: tuple[str, ...]) -> None:
        self._loop = loop
        self._token = trio.lowlevel.current_trio_token()
        self._ice_hosts = ice_hosts
        self._runs_started = 0
        self._runs_cancelled = 0
        self._posts_dropped = 0
        self._leftover_tasks = 0
        self._closed = False
        self._joined = False

    @property
    def ice_host_addresses(self) -> tuple[str, ...]:
        return self._ice_hosts

    async def run(self, corofn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``corofn(*args)`` on the loop and return its result.

        Cancellation: cancels the asyncio task and waits (shielded) until it is done.
        Raises whatever the coroutine raised, or ``RuntimeError`` if the bridge is closed.
        """
        if self._closed:
            raise RuntimeError("the asyncio bridge is closed")
        done = trio.Event()
        box: dict[str, asyncio.Task[T]] = {}
        token = self._token

        def wake(_: object) -> None:
            with contextlib.suppress(trio.RunFinishedError):  # trio gone: nobody waits
                token.run_sync_soon(done.set)

        def start() -> None:  # on the loop thread
            task = self._loop.create_task(self._with_ice_hosts(corofn, args))
            box["task"] = task
            task.add_done_callback(wake)

        def cancel() -> None:  # on the loop thread, always after start()
            box["task"].cancel()

        self._loop.call_soon_threadsafe(start)
        self._runs_started += 1
        try:
            await done.wait()
        except trio.Cancelled:
            self._runs_cancelled += 1
            self._loop.call_soon_threadsafe(cancel)
            with trio.CancelScope(shield=True):
                await done.wait()  # the asyncio task's own done-callback: truly unwound
            raise
        task = box["task"]
        if task.cancelled():
            raise RuntimeError("the asyncio bridge closed while the call was running")
        return task.result()

    async def _with_ice_hosts(self, corofn: Callable[..., Awaitable[T]], args: Any) -> T:
        _ICE_HOSTS.set(self._ice_hosts)
        return await corofn(*args)

    def post(self, fn: Callable[..., object], *args: Any) -> bool:
        """From the asyncio thread: run sync ``fn(*args)`` in Trio soon. Never raises."""
        try:
            self._token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:
            self._posts_dropped += 1
            return False
        return True

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """From Trio: schedule sync ``fn(*args)`` on the asyncio loop (fire and forget)."""
        self._loop.call_soon_threadsafe(fn, *args)

    async def _aclose(self, thread: threading.Thread, box: dict[str, Any], grace: float) -> None:
        """Stop the loop, drain it and join the thread; shielded, bounded by ``grace``."""
        self._closed = True
        with trio.CancelScope(shield=True), trio.move_on_after(grace):
            self._loop.call_soon_threadsafe(self._loop.stop)
            await trio.to_thread.run_sync(thread.join, abandon_on_cancel=True)
        self._leftover_tasks = box.get("leftover", 0)
        self._joined = not thread.is_alive()

    def statistics(self) -> BridgeStatistics:
        return BridgeStatistics(
            runs_started=self._runs_started,
            runs_cancelled=self._runs_cancelled,
            posts_dropped=self._posts_dropped,
            leftover_tasks=self._leftover_tasks,
            joined=self._joined,
        )


@asynccontextmanager
async def open_asyncio_bridge(
    *,
    ice_host_addresses: Sequence[str] = DEFAULT_ICE_HOSTS,
    close_grace: float = 5.0,
) -> AsyncIterator[AsyncioBridge]:
    """Start the loop thread; on exit drain it and join the thread.

    ``close_grace`` bounds the drain (seconds). A loop that does not stop in time is
    abandoned as a daemon thread and reported through ``statistics().joined`` being
    False; this only happens when asyncio code ignores cancellation.
    """
    _install_ice_patch()
    ready = threading.Event()
    box: dict[str, Any] = {}
    thread = threading.Thread(
        target=_loop_main, args=(ready, box), name="trioagents-asyncio-bridge", daemon=True
    )
    thread.start()
    await trio.to_thread.run_sync(ready.wait)
    bridge = AsyncioBridge(box["loop"], tuple(ice_host_addresses))
    try:
        yield bridge
    finally:
        await bridge._aclose(thread, box, close_grace)


def _loop_main(ready: threading.Event, box: dict[str, Any]) -> None:
    loop = asyncio.new_event_loop()
    box["loop"] = loop
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        box["leftover"] = len(pending)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _install_ice_patch() -> None:
    global _patched
    with _patch_lock:
        if _patched:
            return
        import aioice.ice

        original = aioice.ice.get_host_addresses

        def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
            hosts = _ICE_HOSTS.get()
            if hosts is None:
                return original(use_ipv4, use_ipv6)
            return [h for h in hosts if (":" in h and use_ipv6) or (":" not in h and use_ipv4)]

        aioice.ice.get_host_addresses = get_host_addresses
        _patched = True
