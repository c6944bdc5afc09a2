"""Many sessions in one process, in real time: CPU, memory, output lateness, overhead.

Each session is fed 10 ms input frames in real time by its scripted user and holds a
conversation with the fake providers (see ``overhead.py``). Reported:

* cpu_pct_one_core: process CPU time / wall time, in percent of one core;
* cpu_us_per_input_frame: process CPU time / input frames played (all sessions):
  the per-frame cost, replies included, which a busy machine inflates less than
  the percentage;
* task_steps_per_input_frame: Trio task steps (task switches) per input frame, the
  scheduler's share of that cost; exact and repeatable under ``--virtual``;
* rss_per_session_mb: growth of the peak resident set size, divided by N;
* output_lateness_p99_ms: when a reply's audio reached the sink after its device
  queue had run dry (an audible gap), by how much -- 0 when it never happened;
* response_overhead_p99_ms: as in ``overhead.py``.

    python bench/concurrency.py --sessions 100
    python bench/concurrency.py --sessions 200 --profile   # + where the CPU goes (stderr)
    python bench/concurrency.py --sessions 200 --virtual   # CPU per frame only, no waiting

``--gc`` is the garbage collector's policy: ``paced`` (the default, as ``trioagents
start`` runs its jobs: imports frozen, one full collection per ``--gc-interval``),
``cpython`` (the interpreter's own schedule), ``off`` (no cyclic collection at all:
the floor the others are compared with).

``--virtual`` runs the same sessions on Trio's MockClock (time jumps whenever every
task waits): the lateness and overhead figures are then meaningless (virtual time
stands still while the CPU works), but ``cpu_us_per_input_frame`` is the same work
measured without the noise of other processes competing for the core.

Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import resource
import sys
import time
from pathlib import Path

import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sampler import sampling
from overhead import Setup, percentile, run_sessions

from trioagents.worker import GCPacing, paced_gc


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def input_frames(sessions: int, turns: int) -> float:
    """10 ms input frames played by all sessions (``overhead.script``'s timelines)."""
    offsets = sum((index % 100) / 100 for index in range(sessions))
    return (sessions * (1.5 + (turns - 1) * 5.0 + 4.0) + offsets) / 0.01


class GCPauses:
    """The garbage collector's pauses (ms), by generation: a full collection stops
    every session of the process at once."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(1000 * (time.perf_counter() - self._started))

    def summary(self) -> dict[str, float]:
        full = self.pauses[2] or [0.0]
        young = self.pauses[0] + self.pauses[1] or [0.0]
        return {
            "gc_full_collections": len(self.pauses[2]),
            "gc_full_pause_max_ms": round(max(full), 1),
            "gc_young_pause_max_ms": round(max(young), 1),
        }


def gc_mode() -> str:
    if not gc.isenabled():
        return "off"
    return "paced" if gc.get_threshold()[2] > 1_000_000 else "cpython"


class StepCounter(trio.abc.Instrument):
    """Counts task steps: deterministic under ``--virtual``, unlike CPU time."""

    def __init__(self) -> None:
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1


async def main(
    sessions: int, turns: int, ticker: bool, stt_chunk: float | None, pacing: GCPacing | None
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if pacing is not None:
            await stack.enter_async_context(paced_gc(pacing))
        await measure(sessions, turns, ticker, stt_chunk)


async def measure(sessions: int, turns: int, ticker: bool, stt_chunk: float | None) -> None:
    pauses = GCPauses()
    steps = StepCounter()
    trio.lowlevel.add_instrument(steps)
    baseline = peak_rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    measured = await run_sessions(sessions, turns, Setup(stt_chunk=stt_chunk), ticker=ticker)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    lateness = [v * 1000 for v in measured.lateness] or [0.0]
    overhead = [v * 1000 for v in measured.overheads]
    expected = sessions * turns
    if measured.turns != expected:
        print(f"warning: {measured.turns} of {expected} turns were answered", file=sys.stderr)
    summary = {
        "sessions": sessions,
        "ticker": ticker,
        "stt_chunk_duration": stt_chunk,
        "gc": gc_mode(),
        "cpu_pct_one_core": round(100 * cpu / wall, 1),
        "cpu_us_per_input_frame": round(1e6 * cpu / input_frames(sessions, turns), 1),
        "task_steps_per_input_frame": round(steps.steps / input_frames(sessions, turns), 2),
        "rss_per_session_mb": round((peak_rss_mb() - baseline) / sessions, 3),
        "output_lateness_p99_ms": round(percentile(lateness, 0.99), 3),
        "response_overhead_p99_ms": round(percentile(overhead, 0.99), 3),
        **pauses.summary(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="sessions per process (real time)")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="sample where CPU goes")
    parser.add_argument(
        "--no-ticker", action="store_true", help="each input sleeps on its own (as before)"
    )
    parser.add_argument(
        "--stt-chunk", type=float, default=None, help="stt_chunk_duration (0: every frame)"
    )
    parser.add_argument(
        "--virtual",
        action="store_true",
        help="virtual time (MockClock): the CPU cost per frame only, unaffected by other load",
    )
    parser.add_argument("--gc", choices=("paced", "cpython", "off"), default="paced")
    parser.add_argument("--gc-interval", type=float, default=60.0, help="paced: seconds")
    args = parser.parse_args()
    if args.gc == "off":
        gc.disable()
    pacing = GCPacing(full_interval=args.gc_interval) if args.gc == "paced" else None
    run_args = (args.sessions, args.turns, not args.no_ticker, args.stt_chunk, pacing)
    clock = trio.testing.MockClock(autojump_threshold=0) if args.virtual else None
    with sampling() if args.profile else contextlib.nullcontext() as profile:
        trio.run(main, *run_args, clock=clock)
    if profile is not None:
        print(profile.report(), file=sys.stderr)
