"""Media benchmark: CPU per audio stream pair and bridge hand-off latency.

Runs a real room on loopback (the rtc tests' loopback peer as the server, both in
this process) and measures:

* ``cpu_idle_pct``: process CPU (% of one core) while joined without reading or
  publishing. The loopback server already sends its tone track and the room drains
  every remote track, so the server's Opus encode, our decode and the per-frame
  hand-off into Trio are in this figure;
* ``cpu_per_stream_pct``: extra CPU when we read that track (PyAV resampling to
  16 kHz, the bounded channel) and publish one stream (24 kHz frames → 48 kHz →
  Opus → SRTP, plus the server's decode), as the difference to idle;
* ``handoff_p50_us`` / ``handoff_p99_us``: asyncio loop thread → Trio hand-off
  latency of ``bridge.post`` (stamped on the loop, read in Trio), every 20 ms.

Usage: ``python bench/media.py [seconds]`` (default 5). The last line is JSON.

``python bench/media.py --jobs N [--seconds S] [--rounds R] [--tracemalloc]
[--shared-bridge]`` instead runs N
voice jobs in one worker process, each in its own room with real aiortc tracks
through the dev server, and reports CPU and memory per job (``_media_jobs.py``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.rtc.fake_server import make_token, open_fake_server, tone
from trioagents.core import AudioFrame
from trioagents.rtc import Room, open_room
from trioagents.transport import AsyncioBridge, open_asyncio_bridge


async def cpu_over(seconds: float) -> float:
    wall, cpu = time.perf_counter(), time.process_time()
    await trio.sleep(seconds)
    return 100.0 * (time.process_time() - cpu) / (time.perf_counter() - wall)


async def stream_pair(room: Room, seconds: float) -> tuple[float, int]:
    received = 0
    signal = tone(440.0, seconds + 1, rate=24000)

    async def consume() -> None:
        nonlocal received
        async with room.subscribe_audio("TR_bot", sample_rate=16000) as stream:
            async for _ in stream:
                received += 1

    async def produce() -> None:
        async with room.publish_audio(sample_rate=24000) as source:
            for start in range(0, len(signal), 480):
                await source.capture_frame(AudioFrame.from_mono(signal[start : start + 480], 24000))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        nursery.start_soon(produce)
        await trio.sleep(0.5)  # warm-up: ICE, DTLS, first frames
        cpu = await cpu_over(seconds)
        nursery.cancel_scope.cancel()
    return cpu, received


async def handoff(bridge: AsyncioBridge, count: int) -> list[float]:
    delays: list[float] = []
    done = trio.Event()

    def arrived(stamp: int) -> None:
        delays.append((time.perf_counter_ns() - stamp) / 1000)
        if len(delays) == count:
            done.set()

    async def ticker() -> None:  # on the loop thread
        import asyncio

        for _ in range(count):
            bridge.post(arrived, time.perf_counter_ns())
            await asyncio.sleep(0.02)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(bridge.run, ticker)
        await done.wait()
    return delays


async def main(seconds: float) -> dict[str, float]:
    async with open_fake_server() as server, open_room(server.url, make_token()) as room:
        await trio.sleep(0.5)
        idle = await cpu_over(seconds)
        busy, frames = await stream_pair(room, seconds)
    async with open_asyncio_bridge() as bridge:
        delays = await handoff(bridge, int(seconds * 50))
    return {
        "seconds": seconds,
        "cpu_idle_pct": round(idle, 2),
        "cpu_with_stream_pair_pct": round(busy, 2),
        "cpu_per_stream_pct": round(busy - idle, 2),
        "frames_received": frames,
        "handoff_p50_us": round(float(np.percentile(delays, 50)), 1),
        "handoff_p99_us": round(float(np.percentile(delays, 99)), 1),
    }


if __name__ == "__main__":
    if "--jobs" in sys.argv:
        import argparse

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _media_jobs import run_jobs

        parser = argparse.ArgumentParser(description="voice jobs with media, one worker")
        parser.add_argument("--jobs", type=int, required=True)
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--tracemalloc", action="store_true")
        parser.add_argument("--rounds", type=int, default=1, help="run the N jobs again")
        parser.add_argument("--shared-bridge", action="store_true")
        args = parser.parse_args()
        report = trio.run(
            run_jobs, args.jobs, args.seconds, args.tracemalloc, args.rounds, args.shared_bridge
        )
        for line in report.pop("tracemalloc_top", []):
            print(line)
        print(json.dumps(report))
    else:
        duration = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
        print(json.dumps(trio.run(main, duration)))
