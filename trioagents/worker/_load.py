"""The worker's load figure: CPU utilisation over a short window, as LiveKit's.

LiveKit Agents reports the CPU utilisation of the worker's container (cgroup, or
the whole machine) as a fraction of the CPUs it may use, sampled every 0.5 s and
averaged over the last 5 samples (2.5 s); a worker at or above ``load_threshold``
(0.7) is full. Here the default is the same figure for the CPU time of this
process (every thread: Trio, the asyncio bridges, codec threads) and of the job
processes it has reaped, plus whatever ``cpu_seconds`` adds -- a process pool's
live children, a cgroup counter. The capacity is the number of CPUs the process
may run on (its affinity mask, and a cgroup quota if one is set).

:class:`CPULoad` is the arithmetic and nothing else (samples in, a figure out):
tested with made-up samples. :func:`sample_cpu_load` feeds it from a task on
Trio's clock -- owned by ``open_worker``'s nursery -- so under ``MockClock`` a test
drives it with an injected CPU-time source.

A job's CPU shows in the figure only once it runs, so a burst of requests could
all be accepted on the old figure: :meth:`CPULoad.effective` adds, for every slot
reserved but not yet running, the average load of a running job (LiveKit's
estimate for the same race). ``max_concurrent_jobs`` stays the hard limit.

Rejected alternative: a sampling thread (LiveKit's): a second clock the tests
cannot drive, and a thread nobody's ``async with`` owns.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trio

from ..core import ConfigurationError

__all__ = [
    "JOBS_PER_CPU",
    "CPULoad",
    "CPULoadOptions",
    "available_cpus",
    "default_max_jobs",
    "process_cpu_seconds",
    "sample_cpu_load",
]

JOBS_PER_CPU = 8
"""Default ``max_concurrent_jobs`` per available CPU: ``load_threshold`` (0.7) over
the measured cost of one voice job with room media in a worker process (~8.5 % of
a core: ``docs/worker.md``, *Capacity*), rounded down."""


def default_max_jobs() -> int:
    return max(1, math.floor(JOBS_PER_CPU * available_cpus()))


@dataclass(frozen=True, slots=True)
class CPULoadOptions:
    """How the default load figure is measured (unused when ``load_fnc`` is given).

    ``interval``: seconds between readings (Trio's clock); ``window``: readings
    averaged (LiveKit: 0.5 s x 5). ``cpu_seconds``: a cumulative CPU-time source
    (default: this process, see :func:`process_cpu_seconds`, plus the live
    children of a process pool); ``cpus``: the capacity it is a fraction of
    (default: :func:`available_cpus`).
    """

    interval: float = 0.5
    window: int = 5
    cpu_seconds: Callable[[], float] | None = None
    cpus: float | None = None

    def __post_init__(self) -> None:
        if not self.interval > 0 or self.window < 1:
            raise ConfigurationError("cpu_load needs interval > 0 and window >= 1")
        if self.cpus is not None and not self.cpus > 0:
            raise ConfigurationError("cpu_load.cpus must be > 0 (or None: the CPUs available)")


def process_cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of the children it has reaped."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def available_cpus() -> float:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 quota."""
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cpus = float(os.cpu_count() or 1)
    quota = _cgroup_quota()
    return max(0.1, min(cpus, quota)) if quota is not None else max(1.0, cpus)


def _cgroup_quota() -> float | None:
    try:
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except OSError:
        return None
    if len(text) != 2 or text[0] == "max":
        return None
    try:
        return int(text[0]) / int(text[1])
    except (ValueError, ZeroDivisionError):
        return None


class CPULoad:
    """A moving average of CPU utilisation in 0..1 (see the module docs).

    ``add(now, cpu_seconds)`` takes a cumulative CPU-time reading at Trio time
    ``now``; each pair of consecutive readings is one sample, ``used / (elapsed ×
    capacity)``. ``value`` is the mean of the last ``window`` samples, 0.0 before
    the first. A reading that goes backwards (a counter reset) starts over.
    """

    __slots__ = ("_capacity", "_last", "_samples")

    def __init__(self, capacity: float, window: int = 5) -> None:
        if not capacity > 0 or window < 1:
            raise ValueError("capacity must be > 0 and window >= 1")
        self._capacity = capacity
        self._samples: deque[float] = deque(maxlen=window)
        self._last: tuple[float, float] | None = None

    @property
    def value(self) -> float:
        return sum(self._samples) / len(self._samples) if self._samples else 0.0

    def add(self, now: float, cpu_seconds: float) -> None:
        if not math.isfinite(cpu_seconds):  # no reading: the next one starts over
            self._last = None
            return
        last, self._last = self._last, (now, cpu_seconds)
        if last is None:
            return
        elapsed, used = now - last[0], cpu_seconds - last[1]
        if elapsed <= 0 or used < 0:
            self._samples.clear()
            return
        self._samples.append(min(1.0, used / (elapsed * self._capacity)))

    def effective(self, running: int, reserved: int) -> float:
        """``value`` plus, per reserved slot, the mean load of a running job."""
        load = self.value
        if running and reserved:
            load += reserved * load / running
        return min(load, 1.0)


async def sample_cpu_load(
    load: CPULoad,
    cpu_seconds: Callable[[], float],
    interval: float,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Read ``cpu_seconds()`` every ``interval`` seconds of Trio's clock into ``load``,
    until cancelled. A source that raises counts as no reading (the figure keeps
    its last samples; the next good reading starts over)."""
    task_status.started()
    deadline = trio.current_time()
    while True:
        try:
            reading = float(cpu_seconds())
        except Exception:  # a broken source must not end the worker
            reading = math.nan
        load.add(trio.current_time(), reading)
        deadline += interval
        await trio.sleep_until(deadline)
