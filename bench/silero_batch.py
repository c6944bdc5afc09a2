"""Silero VAD for N concurrent streams: inline (per stream, on the loop) vs batched.

Each of N streams plays synthesized speech with pauses and a faint noise floor
(piper's joe voice, else espeak-ng; ``_speech_input.py``) from its own random
offset, as 10 ms frames at 16 kHz paced in real time by one process-wide ticker
(as in a worker), for ``--seconds``. Stream ``i`` starts ``i % 16`` ticks after the
first, as sessions that began at different instants: their 32 ms windows end on
different ticks (``--aligned``: all on the same ticks, the worst case for a batch).
Each stream's VAD emits an INFERENCE_DONE per 32 ms window (``emit_inference``), so
every window's decision is seen. Measured:

* cpu per window: process CPU time (every thread: loop and worker) over the run,
  divided by the windows scored; ``loop`` is the main thread's share. It includes
  the pacing and the frame handling, the same in both modes;
* gc: the collector's full (generation 2) collections during the run and the
  longest, timed with ``gc.callbacks`` -- the pauses behind the p99 at 200 streams;
* latency: when the decision was known -- inline, when ``push_frame`` returned;
  batched, when the stream's reader got the event -- minus the instant the frame
  completing the window was due (its capture instant); the first second is skipped.

    python bench/silero_batch.py                         # N = 50, 100, 200, both modes
    python bench/silero_batch.py --streams 200 --mode batched --seconds 20
    python bench/silero_batch.py --mode batched --switch-interval 0.001

``--switch-interval`` sets ``sys.setswitchinterval`` (CPython's default is 5 ms): how
long the worker thread may wait for the GIL while the loop runs Python, twice per
batch (to start the call and once the model returns); a process-wide deployment knob,
never set by the library.

``--gc paced`` runs inside ``trioagents.worker.paced_gc`` (what ``trioagents start``
does: imports frozen, one full collection a minute); ``cpython`` (the default, as
the figures before it) keeps the interpreter's schedule.

Prints one JSON line per (mode, N).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _speech_input import FRAME, RATE, offline_tts, scene, synthesize

from trioagents.core import AudioFrame, VADEventType, VADStream, open_ticker, pace_until
from trioagents.providers import (
    SileroBatchStatistics,
    SileroVAD,
    VADOptions,
    open_silero_batcher,
)
from trioagents.voice import InlineVADStream
from trioagents.worker import paced_gc

WINDOW = 512
WARMUP = 1.0
SAYINGS = ("Tell me everything about your opening hours.", "Stop, wait a moment please.")


async def speech_loop() -> np.ndarray:
    """About 8 s of audio: the two sayings with pauses, on a noise floor (float32 16 kHz)."""
    tts = offline_tts()
    first, second = [await synthesize(tts, text) for text in SAYINGS]
    layout = [(first, "a", 0.5), (second, "b", 0.5 + len(first) / RATE + 1.5)]
    return scene(layout, 2.0, seed=1).samples


def frames_of(samples: np.ndarray) -> list[AudioFrame]:
    whole = len(samples) // FRAME * FRAME  # whole frames: the loop keeps the window grid
    pcm = np.clip(np.round(samples[:whole] * 32767.0), -32768, 32767).astype(np.int16)
    return [AudioFrame(pcm[i : i + FRAME].reshape(-1, 1), RATE) for i in range(0, len(pcm), FRAME)]


def due_of_window(start: float, index: int) -> float:
    """When the frame completing window ``index`` (from 0) was due."""
    frame = math.ceil((index + 1) * WINDOW / FRAME) - 1
    return start + (frame + 1) * FRAME / RATE


class Stream:
    """One stream's feeder and, batched, its reader; latencies after the warm-up."""

    def __init__(self, frames: list[AudioFrame], offset: int, count: int) -> None:
        self.frames = [frames[(offset + k) % len(frames)] for k in range(count)]
        self.latencies: list[float] = []
        self.windows = 0
        self.start = 0.0

    def decided(self, now: float) -> None:
        due = due_of_window(self.start, self.windows)
        self.windows += 1
        if due - self.start >= WARMUP:
            self.latencies.append(now - due)

    async def feed(self, stream: VADStream) -> None:
        """Inline streams are judged as the session's listener does: ``push_frame_nowait``
        right after the frame arrives, the decision known when it returns."""
        inline = stream if isinstance(stream, InlineVADStream) else None
        for index, frame in enumerate(self.frames):
            await pace_until(self.start + (index + 1) * FRAME / RATE)
            if inline is None:
                await stream.push_frame(frame)
                continue
            for event in inline.push_frame_nowait(frame):
                if event.type is VADEventType.INFERENCE_DONE:
                    self.decided(trio.current_time())
        await stream.end_input()

    async def read(self, stream: VADStream) -> None:
        async for event in stream:
            if event.type is VADEventType.INFERENCE_DONE:
                self.decided(trio.current_time())


async def run(
    mode: str, count: int, seconds: float, frames: list[AudioFrame], aligned: bool = False
) -> dict[str, object]:
    """Open the N streams (inline: a model each), then play them all from one instant."""
    rng = np.random.default_rng(count)
    length = round(seconds * RATE / FRAME)
    streams = [Stream(frames, int(rng.integers(len(frames))), length) for _ in range(count)]
    async with (
        open_ticker() as ticker,
        open_silero_batcher() as batcher,
        contextlib.AsyncExitStack() as opened,
    ):
        vad = SileroVAD(
            options=VADOptions(emit_inference=True),
            batcher=batcher if mode == "batched" else None,
        )
        vad_streams = [await opened.enter_async_context(vad.stream()) for _ in streams]
        start = ticker.align(trio.current_time() + 0.1, 0.01)
        stagger = 0 if aligned else 16
        cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()
        with full_collections() as pauses:
            async with trio.open_nursery() as nursery:
                for index, (item, stream) in enumerate(zip(streams, vad_streams, strict=True)):
                    item.start = start + (index % stagger if stagger else 0) * 0.01
                    nursery.start_soon(one_stream, item, stream)
        cpu, loop = time.process_time() - cpu, time.thread_time() - loop
        wall = time.perf_counter() - wall
        stats = batcher.statistics()
    return summary(mode, count, streams, (cpu, loop, wall), stats, pauses)


@contextlib.contextmanager
def full_collections() -> Iterator[list[float]]:
    """The durations of the collector's generation-2 collections inside the block."""
    pauses: list[float] = []
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(timed)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(timed)


async def one_stream(item: Stream, stream: VADStream) -> None:
    async with trio.open_nursery() as nursery:
        if not isinstance(stream, InlineVADStream):
            nursery.start_soon(item.read, stream)
        await item.feed(stream)


def summary(
    mode: str,
    count: int,
    streams: list[Stream],
    times: tuple[float, float, float],
    stats: SileroBatchStatistics,
    pauses: list[float],
) -> dict[str, object]:
    cpu, loop, wall = times
    latencies = np.array([x for item in streams for x in item.latencies]) * 1000
    windows = sum(item.windows for item in streams)
    result: dict[str, object] = {
        "mode": mode,
        "streams": count,
        "windows": windows,
        "cpu_us_per_window": round(cpu / windows * 1e6, 1),
        "loop_cpu_us_per_window": round(loop / windows * 1e6, 1),
        "cores_busy": round(cpu / wall, 2),  # over the wall time of the run
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "latency_p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "latency_max_ms": round(float(latencies.max()), 2),
        "gc2_collections": len(pauses),
        "gc2_max_ms": round(max(pauses, default=0.0) * 1000, 1),
    }
    if mode == "batched":
        result["model_us_per_window"] = round(stats.busy / max(1, stats.windows) * 1e6, 1)
        result["mean_batch"] = round(stats.windows / max(1, stats.model_calls), 1)
        result["largest_batch"] = stats.largest_batch
    return result


async def main(
    counts: list[int], modes: list[str], seconds: float, aligned: bool, gc_mode: str
) -> None:
    frames = frames_of(await speech_loop())
    async with contextlib.AsyncExitStack() as stack:
        if gc_mode == "paced":
            await stack.enter_async_context(paced_gc())
        await measure_all(counts, modes, seconds, aligned, frames, gc_mode)


async def measure_all(
    counts: list[int],
    modes: list[str],
    seconds: float,
    aligned: bool,
    frames: list[AudioFrame],
    gc_mode: str,
) -> None:
    for count in counts:
        for mode in modes:
            result = await run(mode, count, seconds, frames, aligned)
            result["switch_interval_ms"] = sys.getswitchinterval() * 1000
            result["aligned"] = aligned
            result["gc"] = gc_mode
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Silero VAD: inline vs batched")
    parser.add_argument("--streams", default="50,100,200")
    parser.add_argument("--mode", choices=["both", "inline", "batched"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--switch-interval", type=float, default=None)
    parser.add_argument("--aligned", action="store_true")
    parser.add_argument("--gc", choices=["cpython", "paced"], default="cpython")
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    modes = ["inline", "batched"] if args.mode == "both" else [args.mode]
    counts = [int(n) for n in args.streams.split(",")]
    trio.run(main, counts, modes, args.seconds, args.aligned, args.gc)
