"""N voice jobs in one worker process, each in its own room with real media.

``python bench/media.py --jobs N`` runs three processes so that only the worker is
measured: the dev server (``python -m trioagents.devserver``), the callers (this
module's :func:`callers_main`, one participant per room publishing speech-like tone
bursts and listening to the agent), and the worker (the benchmark's own process).
Each job is a voice session wired to its room (``start_in_room``): EnergyVAD
judging every input frame, an STT step that receives the audio (and transcribes
nothing), and the agent talking continuously (FakeTTS at real speed through the
room's paced track, Opus out). So one job costs what a real job costs in media --
two peer connections, Opus decode and encode, resampling, the asyncio hand-off --
with providers that cost nothing.

Reported for the worker process: CPU (% of one core) idle and with N jobs, per
job; resident memory before, with N jobs and after they ended, per job (VmRSS
growth / N, after one warm-up job so first-use costs -- codecs, OpenSSL, imports --
are not counted); threads. ``--tracemalloc`` also prints where the Python memory of
the N jobs was allocated (it slows Python down: its CPU figures are not
comparable). Native memory (libopus, libav, OpenSSL, libsrtp) is in the RSS only.
``--rounds R`` runs the N jobs R times and reports the RSS after each round (is the
memory given back?). ``--shared-bridge`` gives every job's room one asyncio bridge
(one loop thread) instead of a bridge each, the default.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import trio

from trioagents.core import AudioFrame, SpeechEvent
from trioagents.protocol import VideoGrants, mint_token
from trioagents.worker import JobContext, WorkerOptions, open_worker
from trioagents.worker._pool import read_rss_mb

KEY, SECRET = "devkey", "secret"
SPEECH = "This is the agent speaking, on and on, so that its track always carries audio. " * 4


class SilentSTT:
    """Receives the audio like a streaming STT and transcribes nothing."""

    label = "silent-stt"

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[_SilentStream]:
        yield _SilentStream()


class _SilentStream:
    def __init__(self) -> None:
        self._ended = trio.Event()
        self.heard = 0.0

    async def push_frame(self, frame: AudioFrame) -> None:
        await trio.lowlevel.checkpoint()
        self.heard += frame.duration

    async def end_input(self) -> None:
        await trio.lowlevel.checkpoint()
        self._ended.set()

    def __aiter__(self) -> _SilentStream:
        return self

    async def __anext__(self) -> SpeechEvent:
        await self._ended.wait()
        raise StopAsyncIteration


def make_entrypoint(running: list[int]) -> Callable[[JobContext], Any]:
    async def entrypoint(ctx: JobContext) -> None:
        from trioagents.providers import EnergyVAD
        from trioagents.roomio import start_in_room
        from trioagents.testing import FakeLLM, FakeTTS
        from trioagents.voice import Agent, AgentSession, SessionClosedError

        room = await ctx.connect()
        session: AgentSession[None] = AgentSession(
            vad=EnergyVAD(), stt=SilentSTT(), llm=FakeLLM(), tts=FakeTTS()
        )
        running[0] += 1
        try:
            async with start_in_room(session, Agent(instructions="bench"), room):
                while True:  # talks for as long as the caller stays
                    await session.say(SPEECH, allow_interruptions=False, add_to_chat_ctx=False)
        except SessionClosedError:
            pass  # the caller hung up: the job is over
        finally:
            running[0] -= 1

    return entrypoint


def rss_mb() -> float:
    return read_rss_mb(os.getpid()) or math.nan


async def cpu_pct_over(seconds: float) -> float:
    wall, cpu = time.perf_counter(), time.process_time()
    await trio.sleep(seconds)
    return 100.0 * (time.process_time() - cpu) / (time.perf_counter() - wall)


def thread_cpu_seconds() -> dict[str, float]:
    """CPU time by thread kind: the Trio thread, asyncio bridge loops, the rest."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = names.get(int(tid))
        if name is None:
            with open(f"/proc/self/task/{tid}/comm") as comm:
                name = "native:" + comm.read().strip()
        kind = "trio" if int(tid) == os.getpid() else "bridge" if "bridge" in name else name
        totals[kind] = totals.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


async def _start_devserver(nursery: trio.Nursery) -> tuple[trio.Process, str]:
    command = [sys.executable, "-m", "trioagents.devserver", "--port", "0"]
    process = await nursery.start(_run_process, command)
    url = ""
    async with process.stdout:
        buffer = b""
        while b"\n" not in buffer:
            chunk = await process.stdout.receive_some()
            if not chunk:
                raise RuntimeError("the dev server exited before it was ready")
            buffer += chunk
    url = buffer.split(b"devserver: ", 1)[1].split()[0].decode()
    return process, url


async def _run_process(command: list[str], *, task_status: Any) -> None:
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    await trio.run_process(
        command, stdout=subprocess.PIPE, env=env, check=False, task_status=task_status
    )


async def _callers(url: str, rooms: int, seconds: float, prefix: str) -> None:
    command = [sys.executable, __file__, url, str(rooms), str(seconds), prefix]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    await trio.run_process(command, env=env, check=True)


async def run_jobs(
    jobs: int, seconds: float, trace: bool, rounds: int = 1, shared_bridge: bool = False
) -> dict[str, Any]:
    running = [0]
    async with trio.open_nursery() as nursery:
        server, url = await _start_devserver(nursery)
        options = WorkerOptions(url=url, api_key=KEY, api_secret=SECRET,
                                load_threshold=math.inf, max_concurrent_jobs=jobs + 1,
                                shutdown_grace=2.0)  # fmt: skip
        async with contextlib.AsyncExitStack() as stack:
            factory = None
            if shared_bridge:  # one asyncio loop thread for every job, not one each
                from trioagents.rtc import RoomOptions, open_room
                from trioagents.transport import open_asyncio_bridge

                bridge = await stack.enter_async_context(open_asyncio_bridge())

                def factory(url: str, token: str, options: Any) -> Any:
                    return open_room(url, token, RoomOptions(), bridge=bridge)

            worker = await stack.enter_async_context(
                open_worker(options, make_entrypoint(running), room_factory=factory)
            )
            await worker.wait_registered()
            await _callers(url, 1, 3.0, "warmup")  # first use: codecs, OpenSSL, imports
            while running[0]:  # noqa: ASYNC110 - polls the benchmark's own counter
                await trio.sleep(0.1)
            await trio.sleep(1.0)
            report = await _measure(nursery, url, jobs, seconds, running, trace, "media")
            after = [report["rss_after_jobs_mb"]]
            for index in range(1, rounds):  # the same again: is memory given back?
                again = await _measure(nursery, url, jobs, seconds, running, False, f"r{index}")
                after.append(again["rss_after_jobs_mb"])
            if rounds > 1:
                report["rss_after_each_round_mb"] = after
        server.terminate()
    return report


async def _measure(
    nursery: trio.Nursery,
    url: str,
    jobs: int,
    seconds: float,
    running: list[int],
    trace: bool,
    prefix: str,
) -> dict[str, Any]:
    rss_before = rss_mb()
    cpu_idle = await cpu_pct_over(2.0)
    if trace:
        tracemalloc.start(8)
        before = tracemalloc.take_snapshot()
    done = trio.Event()

    async def callers() -> None:
        await _callers(url, jobs, seconds + 6.0, prefix)
        done.set()

    nursery.start_soon(callers)
    with trio.fail_after(60):
        while running[0] < jobs:  # noqa: ASYNC110 - polls the benchmark's own counter
            await trio.sleep(0.1)
    await trio.sleep(3.0)  # ICE, DTLS, first frames, queues filled
    threads_before = thread_cpu_seconds()
    cpu_jobs = await cpu_pct_over(seconds)
    threads_after = thread_cpu_seconds()
    split = {
        kind: round(100 * (threads_after[kind] - threads_before.get(kind, 0.0)) / seconds / jobs, 2)
        for kind in threads_after
    }
    rss_jobs = rss_mb()
    threads = threading.active_count()
    top = _top_allocations(before) if trace else []
    await done.wait()
    with trio.fail_after(30):
        while running[0]:  # noqa: ASYNC110 - polls the benchmark's own counter
            await trio.sleep(0.1)
    await trio.sleep(1.0)
    rss_after = rss_mb()
    report: dict[str, Any] = {
        "jobs": jobs,
        "seconds": seconds,
        "load_average": os.getloadavg()[0],
        "cpu_idle_pct": round(cpu_idle, 2),
        "cpu_with_jobs_pct": round(cpu_jobs, 2),
        "cpu_per_job_pct": round((cpu_jobs - cpu_idle) / jobs, 2),
        "rss_before_mb": round(rss_before, 1),
        "rss_with_jobs_mb": round(rss_jobs, 1),
        "rss_per_job_mb": round((rss_jobs - rss_before) / jobs, 2),
        "rss_after_jobs_mb": round(rss_after, 1),
        "threads_with_jobs": threads,
        "cpu_per_job_pct_by_thread": split,
    }
    if trace:
        report["tracemalloc_top"] = top
    return report


def _top_allocations(before: tracemalloc.Snapshot) -> list[str]:
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = after.filter_traces(filters).compare_to(before.filter_traces(filters), "filename")
    total = sum(stat.size_diff for stat in stats)
    lines = [f"total Python growth {total / 2**20:.2f} MiB"]
    for stat in stats[:20]:
        frame = stat.traceback[0]
        lines.append(f"{stat.size_diff / 2**10:9.1f} KiB  {stat.count_diff:7d}  {frame.filename}")
    return lines


# ----------------------------------------------------------------- the callers
async def _caller(url: str, room_name: str, seconds: float) -> int:
    """Joins, speaks in tone bursts (1 s of every 3), counts the agent's loud frames."""
    from trioagents.rtc import open_room

    grants = VideoGrants(room_join=True, room=room_name)
    token = mint_token(KEY, SECRET, identity=f"caller-{room_name}", video=grants)
    heard = 0
    tone = (np.sin(2 * np.pi * 220 * np.arange(480) / 24000) * 6000).astype(np.int16)
    silence = np.zeros(480, dtype=np.int16)
    async with open_room(url, token) as room:

        async def speak() -> None:
            async with room.publish_audio(sample_rate=24000) as source:
                for index in range(int(seconds / 0.02)):
                    samples = tone if index % 150 < 50 else silence
                    await source.capture_frame(AudioFrame.from_mono(samples, 24000))

        async def listen() -> None:
            nonlocal heard
            while True:
                tracks = [t.sid for p in room.remote_participants.values()
                          for t in p.tracks.values() if t.kind == "audio"]  # fmt: skip
                if tracks:
                    break
                await room.wait_state_changed()
            async with room.subscribe_audio(tracks[0], sample_rate=16000) as stream:
                async for frame in stream:
                    heard += frame.rms() > 1e-4  # FakeTTS speaks softly

        async with trio.open_nursery() as nursery:
            nursery.start_soon(listen)
            await speak()
            nursery.cancel_scope.cancel()
    return heard


async def callers_main(url: str, rooms: int, seconds: float, prefix: str) -> None:
    heard: list[int] = []

    async def one(index: int) -> None:
        heard.append(await _caller(url, f"{prefix}-{index}", seconds))

    async with trio.open_nursery() as nursery:
        for index in range(rooms):
            nursery.start_soon(one, index)
    quiet = sum(1 for h in heard if h == 0)
    if quiet:
        print(f"callers: {quiet} of {rooms} never heard their agent", file=sys.stderr)


if __name__ == "__main__":
    trio.run(callers_main, sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
