"""One timer for every paced audio source of a process: :func:`open_ticker`.

A paced source (a scripted microphone, a file played in real time) waits for the
instant each frame has been "captured". ``trio.sleep_until`` does that with a
cancel scope, a deadline registration and a ``Cancelled`` raised and caught per
call -- per session, per 10 ms frame; with hundreds of sessions in one process
that was the largest single share of the CPU (``docs/performance.md``, *Sessions
per process*). A :class:`Ticker` replaces it with one task that sleeps until the
earliest due instant and then, for everything due by then, either reschedules
the waiting task directly (:meth:`Ticker.sleep_until`, :class:`Alarm`; no
exception per waiter) or calls a synchronous function in its own task step
(:meth:`Ticker.call_at`: no task switch at all -- how a paced input hands frames
to a session). Paced sources also align their time zero to their frame period
while a ticker is open (:meth:`Ticker.align`), so the sessions of a process share
tick instants: 100 wake-ups a second for 10 ms frames, however many sessions.

Ownership: the ticker's task lives in the nursery of the ``async with
open_ticker()`` block, which the caller owns (a worker, a benchmark, a test).
Inside the block the ticker is *current* (a context variable): tasks started
from the block inherit it, as Trio tasks inherit their parent's context.
:func:`pace_until` uses the current ticker, or plain ``trio.sleep_until`` when
there is none -- so paced code runs unchanged without one, and under
``MockClock`` with one (the ticker's own sleep is an ordinary Trio deadline).

Rejected alternatives: a ``RunVar`` (one ticker per ``trio.run``, started
lazily): its task would have no ``async with`` owner, and two sibling blocks
would reset each other's ticker. Quantising wake-ups inside the ticker: every
frame late by up to a grid step; aligning a source's time zero costs one wait at
its start instead.

When the ticker closes, tasks still asleep finish their sleep with
``trio.sleep_until`` (never woken early, never left hanging), :class:`Alarm`
waits return (a spurious wake-up; callers re-check), and pending calls get their
``on_close`` instead. A call's function must not raise: it runs in the ticker's
task, so an exception there is a bug that ends the ``open_ticker`` block.

Entries due within ``_TOLERANCE`` (1 µs) of a tick run with it: aligned sources
compute their instants with float arithmetic that can differ in the last bit.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

__all__ = ["Alarm", "ScheduledCall", "Ticker", "current_ticker", "open_ticker", "pace_until"]

_TOLERANCE = 1e-6

_current: contextvars.ContextVar[Ticker | None] = contextvars.ContextVar(
    "trioagents_ticker", default=None
)


class ScheduledCall:
    """A function the ticker will call at its deadline; :meth:`cancel` withdraws it."""

    __slots__ = ("callback", "closed", "done", "on_close", "task")

    def __init__(
        self,
        task: trio.lowlevel.Task | None,
        callback: Callable[[], object] | None = None,
        on_close: Callable[[], object] | None = None,
    ) -> None:
        self.task = task  # a sleeping task to reschedule, or None for a call
        self.callback = callback
        self.on_close = on_close
        self.done = False  # ran, woken, cancelled: the heap entry is stale
        self.closed = False  # woken because the ticker closed, not because due

    def cancel(self) -> None:
        """Synchronous and idempotent: the call will not happen."""
        self.done = True


class Ticker:
    """Wakes paced waiters and runs paced calls from one task (see the module docs).

    Obtained from :func:`open_ticker`; it has no task of its own until then.
    ``ticks`` counts the ticker task's wake-ups, ``woken`` the entries it ran.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, ScheduledCall]] = []
        self._order = itertools.count()
        self._scope: trio.CancelScope | None = None
        self._open = False
        self.ticks = 0
        self.woken = 0

    @property
    def open(self) -> bool:
        return self._open

    @staticmethod
    def align(now: float, period: float) -> float:
        """The first multiple of ``period`` at or after ``now`` (a paced source's time zero)."""
        return math.ceil(now / period - 1e-9) * period

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` on Trio's clock. Always a checkpoint; cancellable."""
        if not self._open:
            await trio.sleep_until(deadline)
            return
        if deadline <= trio.current_time():  # late already: no timer, just a checkpoint
            await trio.lowlevel.checkpoint()
            return
        if await _park(self._wake_at(deadline)):
            await trio.sleep_until(deadline)  # the ticker closed first

    async def run_paced(self, deadline: float, step: Callable[[], float | None]) -> None:
        """Call ``step()`` at ``deadline``, then at each deadline it returns, until it
        returns None; return then. ``step`` is synchronous and runs in the ticker's
        task step -- no task switch per call -- but in this task's context (context
        variables, tasks it starts) and with its errors raised here, in this task.
        Cancellable between calls. If the ticker closes, the remaining calls are made
        from this task with ``trio.sleep_until``. Checkpoints at least once.
        """
        if not self._open:
            await _run_paced_alone(deadline, step)
            return
        run = _PacedRun(self, step)
        pending = await run.wait(deadline)
        if pending is not None:  # the ticker closed
            await _run_paced_alone(pending, step)

    def call_at(
        self,
        deadline: float,
        callback: Callable[[], object],
        on_close: Callable[[], object],
    ) -> ScheduledCall:
        """Call ``callback()`` in the ticker's task at ``deadline`` (at the next tick if
        due already); if the ticker closes first, ``on_close()`` instead. Neither may
        raise or block (see :meth:`run_paced` for the safe form)."""
        entry = ScheduledCall(None, callback, on_close)
        self._push(max(deadline, trio.current_time()), entry)
        return entry

    def _wake_at(self, deadline: float) -> ScheduledCall:
        """An entry that reschedules the current task at ``deadline`` (for :func:`_park`)."""
        entry = ScheduledCall(trio.lowlevel.current_task())
        if self._open and deadline < math.inf:
            self._push(deadline, entry)
        return entry

    def _push(self, deadline: float, entry: ScheduledCall) -> None:
        heapq.heappush(self._heap, (deadline, next(self._order), entry))
        scope = self._scope
        if scope is not None and deadline < scope.deadline:
            scope.deadline = deadline

    async def _run(self, *, task_status: trio.TaskStatus[None]) -> None:
        self._open = True
        task_status.started()
        try:
            while True:
                self._run_due(trio.current_time() + _TOLERANCE)
                heap = self._heap
                with trio.CancelScope(deadline=heap[0][0] if heap else math.inf) as scope:
                    self._scope = scope
                    await trio.sleep_forever()
                self._scope = None
                self.ticks += 1
        finally:
            self._close()

    def _run_due(self, until: float) -> None:
        heap = self._heap
        due = []
        while heap and heap[0][0] <= until:
            due.append(heapq.heappop(heap)[2])
        for entry in due:  # what these schedule runs at a later tick, even if due now
            # checked here, not when popped: a call may cancel a waiter due at this
            # tick (Trio reschedules it with Cancelled at once) or ring its alarm
            if entry.done:
                continue
            entry.done = True
            self.woken += 1
            if entry.task is not None:
                trio.lowlevel.reschedule(entry.task)
            elif entry.callback is not None:
                entry.callback()

    def _close(self) -> None:
        self._open = False
        self._scope = None
        heap, self._heap = self._heap, []
        for _, _, entry in heap:
            if entry.done:
                continue
            entry.done = entry.closed = True
            if entry.task is not None:
                trio.lowlevel.reschedule(entry.task)
            elif entry.on_close is not None:
                entry.on_close()


class _PacedRun:
    """One :meth:`Ticker.run_paced`: the calls, and the parked task they report to."""

    __slots__ = ("_context", "_entry", "_error", "_next", "_pending", "_step", "_task", "_ticker")

    def __init__(self, ticker: Ticker, step: Callable[[], float | None]) -> None:
        self._ticker = ticker
        self._step = step
        self._task = trio.lowlevel.current_task()
        self._context = self._task.context
        self._entry = ScheduledCall(None, self._call, self._closed)  # reused: one per call
        self._entry.done = True
        self._error: Exception | None = None
        self._next = 0.0
        self._pending: float | None = None  # the next deadline, if the ticker closed

    async def wait(self, deadline: float) -> float | None:
        self._schedule(deadline)

        def abort(_: object) -> trio.lowlevel.Abort:
            self._entry.cancel()
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
        if self._error is not None:
            raise self._error
        return self._pending

    def _schedule(self, deadline: float) -> None:
        """Due in the past runs at the next tick (``_run_due`` takes what was due first)."""
        self._next = deadline
        self._entry.done = False
        self._ticker._push(deadline, self._entry)

    def _call(self) -> None:
        try:
            deadline = self._context.run(self._step)
        except Exception as exc:  # raised in the caller's task, not the ticker's
            self._error = exc
            deadline = None
        if deadline is None:
            trio.lowlevel.reschedule(self._task)
        else:
            self._schedule(deadline)

    def _closed(self) -> None:
        self._pending = self._next
        trio.lowlevel.reschedule(self._task)


async def _run_paced_alone(deadline: float, step: Callable[[], float | None]) -> None:
    next_deadline: float | None = deadline
    while next_deadline is not None:
        await trio.sleep_until(next_deadline)
        next_deadline = step()


async def _park(entry: ScheduledCall) -> bool:
    """Block the current task until ``entry`` reschedules it (its deadline, an
    :class:`Alarm` ring, the ticker closing); True if the ticker closed. Cancellable
    (the entry is withdrawn)."""

    def abort(_: object) -> trio.lowlevel.Abort:
        entry.done = True
        return trio.lowlevel.Abort.SUCCEEDED

    try:
        await trio.lowlevel.wait_task_rescheduled(abort)
    finally:
        entry.task = None  # done: a stale entry (in an alarm, the heap) keeps no task alive
    return entry.closed


class Alarm:
    """Wake-ups for tasks that wait for a change *or* a deadline, with no cancel scope
    per wait while a ticker is current.

    ``await alarm.wait_until(deadline)`` returns at ``deadline`` or once :meth:`ring`
    is called, whichever comes first (a checkpoint; cancellable). Like a condition
    variable's wait it may also return early -- when the ticker closes meanwhile --
    so callers re-check what they wait for in a loop. ``ring()`` is synchronous and
    wakes every task waiting at that moment. With no current ticker the wait is
    ``move_on_at(deadline)`` around an event.
    """

    __slots__ = ("_event", "_waiters")

    def __init__(self) -> None:
        self._waiters: list[ScheduledCall] = []
        self._event: trio.Event | None = None  # only for waits without a ticker

    def ring(self) -> None:
        waiters, self._waiters = self._waiters, []
        for entry in waiters:
            if not entry.done and entry.task is not None:
                entry.done = True
                trio.lowlevel.reschedule(entry.task)
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_until(self, deadline: float = math.inf) -> None:
        if deadline <= trio.current_time():
            await trio.lowlevel.checkpoint()
            return
        ticker = current_ticker()
        if ticker is None:
            if self._event is None:
                self._event = trio.Event()
            event = self._event
            with trio.move_on_at(deadline):
                await event.wait()
            return
        entry = ticker._wake_at(deadline)
        if len(self._waiters) >= 8:  # drop those the deadline woke meanwhile
            self._waiters = [w for w in self._waiters if not w.done]
        self._waiters.append(entry)
        await _park(entry)


def current_ticker() -> Ticker | None:
    """The ticker of the innermost enclosing :func:`open_ticker` block, if open."""
    ticker = _current.get()
    return ticker if ticker is not None and ticker.open else None


async def pace_until(deadline: float) -> None:
    """``trio.sleep_until(deadline)``, through the current ticker if one is open."""
    ticker = current_ticker()
    if ticker is None:
        await trio.sleep_until(deadline)
    else:
        await ticker.sleep_until(deadline)


@asynccontextmanager
async def open_ticker() -> AsyncIterator[Ticker]:
    """Run a :class:`Ticker` for the block; it is current for tasks started inside.

    Leaving the block cancels the ticker's task (see the module docs for what
    happens to entries still pending).
    """
    ticker = Ticker()
    async with trio.open_nursery() as nursery:
        await nursery.start(ticker._run)
        token = _current.set(ticker)
        try:
            yield ticker
        finally:
            _current.reset(token)
            nursery.cancel_scope.cancel()
