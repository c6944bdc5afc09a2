"""Many sessions in one process, in real time: CPU, memory, output lateness, overhead.

Each session is fed 10 ms input frames in real time by its scripted user and holds a
conversation with the fake providers (see ``overhead.py``). Reported:

* cpu_pct_one_core: process CPU time / wall time, in percent of one core;
* rss_per_session_mb: growth of the peak resident set size, divided by N;
* output_lateness_p99_ms: when a reply's audio reached the sink after its device
  queue had run dry (an audible gap), by how much -- 0 when it never happened;
* response_overhead_p99_ms: as in ``overhead.py``.

    python bench/concurrency.py --sessions 100

Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import percentile, run_sessions


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(sessions: int, turns: int) -> None:
    baseline = peak_rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    measured = await run_sessions(sessions, turns)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    lateness = [v * 1000 for v in measured.lateness] or [0.0]
    overhead = [v * 1000 for v in measured.overheads]
    expected = sessions * turns
    if measured.turns != expected:
        print(f"warning: {measured.turns} of {expected} turns were answered", file=sys.stderr)
    summary = {
        "sessions": sessions,
        "cpu_pct_one_core": round(100 * cpu / wall, 1),
        "rss_per_session_mb": round((peak_rss_mb() - baseline) / sessions, 3),
        "output_lateness_p99_ms": round(percentile(lateness, 0.99), 3),
        "response_overhead_p99_ms": round(percentile(overhead, 0.99), 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="sessions per process (real time)")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    trio.run(main, args.sessions, args.turns)
