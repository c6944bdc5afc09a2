"""The process-wide ticker: exact instants under MockClock, shared ticks, ownership."""

from __future__ import annotations

import contextlib
import contextvars

import pytest
import trio
import trio.lowlevel
import trio.testing

from trioagents.core import Alarm, Ticker, current_ticker, open_ticker, pace_until

LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("label", default="none")


async def test_sleepers_wake_at_their_deadlines_and_share_ticks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    woke: list[tuple[int, float]] = []

    async def sleeper(index: int, ticker: Ticker) -> None:
        for step in range(1, 11):
            await ticker.sleep_until(step * 0.01)
            woke.append((index, trio.current_time()))

    async with open_ticker() as ticker, trio.open_nursery() as nursery:
        for index in range(50):
            nursery.start_soon(sleeper, index, ticker)
    assert len(woke) == 500
    assert all(at == pytest.approx(round(at, 2), abs=1e-9) for _, at in woke)
    assert ticker.ticks <= 11  # one tick per instant, not one per sleeper
    assert ticker.woken == 500


async def test_no_ticker_means_plain_sleeps(autojump_clock: trio.testing.MockClock) -> None:
    assert current_ticker() is None
    await pace_until(1.5)
    assert trio.current_time() == 1.5


async def test_the_ticker_is_current_inside_its_block_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[Ticker | None] = []

    async def child() -> None:
        seen.append(current_ticker())

    async with open_ticker() as ticker:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        assert current_ticker() is ticker
    assert current_ticker() is None
    assert seen == [ticker]


async def test_sleepers_left_when_the_ticker_closes_still_wake_on_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A task outliving the block (started into an outer nursery) is never woken
    early, nor left hanging."""
    woke: list[float] = []

    async def sleeper(ticker: Ticker) -> None:
        await ticker.sleep_until(5.0)
        woke.append(trio.current_time())

    async with trio.open_nursery() as outer, open_ticker() as ticker:
        outer.start_soon(sleeper, ticker)
        await trio.sleep(1.0)
    assert woke == [5.0]


async def test_a_cancelled_sleep_is_withdrawn(autojump_clock: trio.testing.MockClock) -> None:
    async with open_ticker() as ticker:
        with trio.move_on_after(0.5):
            await ticker.sleep_until(2.0)
        assert trio.current_time() == 0.5
        await ticker.sleep_until(3.0)
        assert trio.current_time() == 3.0


async def test_run_paced_calls_in_the_callers_context_and_raises_there(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[tuple[float, str]] = []

    def step() -> float | None:
        calls.append((trio.current_time(), LABEL.get()))
        if len(calls) == 3:
            raise ValueError("broken step")
        return trio.current_time() + 0.02

    async with open_ticker() as ticker:
        LABEL.set("caller")
        with pytest.raises(ValueError, match="broken step"):
            await ticker.run_paced(0.02, step)
        assert ticker.open  # the step's error is the caller's, not the ticker's
    assert calls == [(0.02, "caller"), (0.04, "caller"), (pytest.approx(0.06), "caller")]


async def test_run_paced_is_cancellable_between_calls(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[float] = []

    def step() -> float | None:
        calls.append(trio.current_time())
        return trio.current_time() + 0.1

    async with open_ticker() as ticker:
        with trio.move_on_after(0.35):
            await ticker.run_paced(0.1, step)
        await trio.sleep(1.0)
    assert calls == pytest.approx([0.1, 0.2, 0.3])


async def test_run_paced_goes_on_alone_when_the_ticker_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[float] = []

    def step() -> float | None:
        calls.append(trio.current_time())
        return trio.current_time() + 0.25 if len(calls) < 6 else None

    async def paced(ticker: Ticker) -> None:
        await ticker.run_paced(0.25, step)

    async with trio.open_nursery() as outer, open_ticker() as ticker:
        outer.start_soon(paced, ticker)
        await trio.sleep(0.6)
    assert calls == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5])


async def test_a_call_may_cancel_a_sleeper_due_at_the_same_tick(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Regression: the ticker woke a task that the call before it had cancelled at the
    same instant (Trio had rescheduled it with Cancelled already) -- a crash."""
    async with open_ticker() as ticker, trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def sleeper() -> None:
            with scope:
                await ticker.sleep_until(1.0)

        def step() -> float | None:
            scope.cancel()
            return None

        nursery.start_soon(ticker.run_paced, 1.0, step)
        await trio.lowlevel.checkpoint()  # the paced call is registered before the sleep
        nursery.start_soon(sleeper)
    assert scope.cancelled_caught


@pytest.mark.parametrize("ticking", [False, True])
async def test_an_alarm_wakes_on_ring_or_deadline(
    autojump_clock: trio.testing.MockClock, ticking: bool
) -> None:
    alarm = Alarm()
    woke: list[float] = []

    async def waiter(deadline: float) -> None:
        await alarm.wait_until(deadline)
        woke.append(trio.current_time())

    async with contextlib.AsyncExitStack() as stack:
        if ticking:
            await stack.enter_async_context(open_ticker())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter, 5.0)
            nursery.start_soon(waiter, 1.0)
            await trio.sleep(2.0)
            alarm.ring()
    assert sorted(woke) == [1.0, 2.0]


def test_align_rounds_up_to_the_period() -> None:
    assert Ticker.align(0.0, 0.01) == 0.0
    assert Ticker.align(0.013, 0.01) == pytest.approx(0.02)
    assert Ticker.align(7.0, 0.02) == pytest.approx(7.0)


_HELD: contextvars.ContextVar[object] = contextvars.ContextVar("held")


class _Marker:
    pass


async def test_an_alarm_keeps_nothing_of_a_finished_waiter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A woken entry drops its task: the alarm, which outlives its waiters and keeps
    up to 8 stale entries, would keep the task's context -- a session -- alive."""
    import gc
    import weakref

    alarm = Alarm()
    markers: list[weakref.ref[_Marker]] = []

    async def waiter(deadline: float) -> None:
        marker = _Marker()
        markers.append(weakref.ref(marker))
        _HELD.set(marker)  # held by this task's context only, once the frame is gone
        del marker
        await alarm.wait_until(deadline)

    gc.disable()  # what reference counting alone frees
    try:
        async with open_ticker(), trio.open_nursery() as nursery:
            for delay in (0.05, 0.5):  # woken by their deadlines; no ring clears the list
                nursery.start_soon(waiter, trio.current_time() + delay)
        assert len(markers) == 2
        assert [ref() for ref in markers] == [None, None]
    finally:
        gc.enable()
