"""The default load figure: CPU utilisation over a window, on Trio's clock."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import ConfigurationError
from trioagents.worker import (
    JOBS_PER_CPU,
    CPULoadOptions,
    JobContext,
    JobProcess,
    WorkerOptions,
    available_cpus,
    process_cpu_seconds,
)
from trioagents.worker._job import InProcessExecutor
from trioagents.worker._load import CPULoad
from trioagents.worker._worker import Worker

from .fake_agent_server import FakeAgentServer
from .test_runtime_memory import StallableLinks


class FakeCPU:
    """Cumulative CPU seconds: ``busy`` CPUs' worth per second of Trio time."""

    def __init__(self, busy: float) -> None:
        self.busy = busy
        self._total = 0.0
        self._at: float | None = None

    def __call__(self) -> float:
        now = trio.current_time()
        if self._at is not None:
            self._total += (now - self._at) * self.busy
        self._at = now
        return self._total


def test_the_figure_is_the_mean_of_the_last_window() -> None:
    load = CPULoad(capacity=2.0, window=3)
    assert load.value == 0.0
    for second, cpu in enumerate([0.0, 1.0, 2.0, 2.0, 4.0]):  # 50 %, 50 %, 0 %, 100 %
        load.add(float(second), cpu)
    assert load.value == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    load.add(5.0, 3.0)  # the counter went backwards: start over
    assert load.value == 0.0
    load.add(6.0, math.nan)  # no reading
    load.add(7.0, 4.0)
    assert load.value == 0.0
    load.add(8.0, 5.8)
    assert load.value == pytest.approx(0.9)


@given(st.lists(st.floats(0.0, 10.0), min_size=2, max_size=30))
def test_the_figure_stays_within_0_and_1(increments: list[float]) -> None:
    load, cpu = CPULoad(capacity=1.5), 0.0
    for second, increment in enumerate(increments):
        cpu += increment
        load.add(float(second), cpu)
        assert 0.0 <= load.value <= 1.0
        assert 0.0 <= load.effective(running=2, reserved=3) <= 1.0


def test_reserved_slots_count_as_running_jobs() -> None:
    load = CPULoad(capacity=1.0)
    load.add(0.0, 0.0)
    load.add(1.0, 0.3)  # 30 % with 3 jobs running: 10 % each
    assert load.effective(running=3, reserved=2) == pytest.approx(0.5)
    assert load.effective(running=0, reserved=2) == pytest.approx(0.3)


def test_options_are_checked_and_defaults_derived() -> None:
    with pytest.raises(ConfigurationError, match="interval"):
        CPULoadOptions(interval=0.0)
    with pytest.raises(ConfigurationError, match="cpus"):
        CPULoadOptions(cpus=0.0)
    assert WorkerOptions().max_concurrent_jobs == max(
        1, math.floor(JOBS_PER_CPU * available_cpus())
    )
    assert process_cpu_seconds() > 0.0


def _worker(busy: FakeCPU, links: StallableLinks | None = None, **options: object) -> Worker:
    async def idle(ctx: JobContext) -> None:
        await ctx.wait_for_shutdown()

    cpu = CPULoadOptions(cpu_seconds=busy, cpus=2.0)
    settings = WorkerOptions(cpu_load=cpu, max_concurrent_jobs=8, **options)  # type: ignore[arg-type]
    executor = InProcessExecutor(idle, None, JobProcess(), 1.0)
    if links is None:
        return Worker(settings, executor, None)
    return Worker(settings, executor, None, connector=links.connect)


async def test_the_worker_reports_cpu_over_the_last_2_5_seconds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    busy = FakeCPU(busy=0.4)  # 20 % of 2 CPUs
    worker = _worker(busy)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.serve_load)
        await trio.sleep(3.0)
        assert worker.load() == pytest.approx(0.2)
        assert worker.statistics().load == pytest.approx(0.2)
        busy.busy = 1.8  # 90 %: the window moves over 2.5 s
        await trio.sleep(1.0)
        assert 0.2 < worker.load() < 0.9
        await trio.sleep(2.0)
        assert worker.load() == pytest.approx(0.9)
        nursery.cancel_scope.cancel()


async def test_a_busy_worker_is_full_an_idle_one_never(
    autojump_clock: trio.testing.MockClock,
) -> None:
    busy = FakeCPU(busy=1.6)  # 80 % of 2 CPUs, above the 0.7 threshold
    worker = _worker(busy)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.serve_load)
        await trio.sleep(3.0)
        assert worker.is_available()  # no job yet: the CPU is someone else's
        assert worker._try_reserve("J1")
        assert not worker.is_available()
        busy.busy = 0.2
        await trio.sleep(3.0)
        assert worker.is_available()
        nursery.cancel_scope.cancel()


async def test_a_broken_source_does_not_end_the_worker(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = 0

    def flaky() -> float:
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            raise OSError("no /proc")
        return calls * 0.5  # 1 CPU busy of 2 at 0.5 s per reading: 50 %

    worker = _worker(flaky)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.serve_load)
        await trio.sleep(5.0)
        assert worker.load() == pytest.approx(0.5)
        nursery.cancel_scope.cancel()


async def test_the_status_sent_to_the_server_carries_the_cpu_figure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = FakeAgentServer()
    busy = FakeCPU(busy=1.0)  # 50 % of 2 CPUs
    worker = _worker(busy, StallableLinks(server), status_interval=1.0)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.serve_load)
            nursery.start_soon(worker.serve_connections, nursery)
            await worker.wait_registered()
            await trio.sleep(4.0)
            loads = [m.update_worker.load for m in server.current.of_kind("update_worker")]
            assert loads[-1] == pytest.approx(0.5)
            nursery.cancel_scope.cancel()
