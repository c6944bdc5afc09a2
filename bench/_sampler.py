"""A stdlib sampling profiler for the benchmarks: where the CPU time goes.

``cProfile`` counts calls exactly (useful: calls per input frame), but its per-call
overhead inflates exactly what these benchmarks are about -- millions of tiny
calls in Trio's scheduler -- and saturates the core it measures. This sampler
costs one signal per millisecond of CPU time instead: ``ITIMER_PROF`` interrupts
the (single-threaded) Trio run, the handler charges the sample to the innermost
frame (self time) and to every distinct function on the stack (inclusive time).
A dev dependency (py-spy, yappi) would do the same; this needs none and runs
anywhere the benchmarks run (POSIX).

    with sampling() as profile:
        trio.run(...)
    print(profile.report())
"""

from __future__ import annotations

import collections
import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

__all__ = ["Profile", "sampling"]


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    for marker in ("site-packages/", "/trioagents/", "/bench/", "/lib/python3"):
        index = path.rfind(marker)
        if index >= 0:
            path = path[index + len(marker) :] if marker != "/trioagents/" else path[index + 1 :]
            break
    return f"{path}:{code.co_name}"


def _area(frame: FrameType) -> str:
    """A coarse bucket for the innermost frame's file."""
    path = frame.f_code.co_filename
    if "/trio/_core/" in path:
        return "trio scheduler (run loop, reschedule, cancel scopes)"
    if "/trio/" in path or "/outcome/" in path:
        return "trio channels, timeouts, checkpoints"
    if "/numpy/" in path:
        return "numpy"
    if "/trioagents/testing/" in path:
        return "testing fakes (input, VAD, STT, LLM, TTS, output)"
    if "/trioagents/" in path:
        return "trioagents (session, recognition, playout)"
    if "contextlib" in path:
        return "contextlib (context managers)"
    return "other"


class Profile:
    def __init__(self) -> None:
        self.samples = 0
        self.self_time: collections.Counter[str] = collections.Counter()
        self.inclusive: collections.Counter[str] = collections.Counter()
        self.areas: collections.Counter[str] = collections.Counter()

    def record(self, frame: FrameType | None) -> None:
        if frame is None:
            return
        self.samples += 1
        self.self_time[_where(frame)] += 1
        self.areas[_area(frame)] += 1
        seen: set[str] = set()
        while frame is not None:
            seen.add(_where(frame))
            frame = frame.f_back
        self.inclusive.update(seen)

    def report(self, top: int = 25) -> str:
        total = max(1, self.samples)
        lines = [
            f"{self.samples} samples (one per timer tick of process CPU time)",
            "by area (self time):",
        ]
        lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in self.areas.most_common()]
        lines.append("self time:")
        lines += [f"  {100 * n / total:5.1f} %  {k}" for k, n in self.self_time.most_common(top)]
        lines.append("inclusive time:")
        lines += [f"  {100 * n / total:5.1f} %  {k}" for k, n in self.inclusive.most_common(top)]
        return "\n".join(lines)


@contextlib.contextmanager
def sampling(interval: float = 0.001) -> Iterator[Profile]:
    """Sample the main thread every ``interval`` seconds of process CPU time."""
    profile = Profile()

    def handler(signum: int, frame: FrameType | None) -> None:
        profile.record(frame)

    previous = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    try:
        yield profile
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0.0, 0.0)
        signal.signal(signal.SIGPROF, previous)
        sys.stderr.flush()
