"""Worker benchmarks: dispatch latency, memory per job, concurrent real-time jobs.

Run from the repository root::

    PYTHONPATH=. python bench/worker.py            # all three, quick
    PYTHONPATH=. python bench/worker.py --rooms 200 --max-sessions 400

1. **Dispatch latency**: room created through the dev server's Twirp API →
   availability → assignment → the entrypoint holds its room (``ctx.connect()``
   returned). The room is a stand-in that only checks the token (the rtc layer
   is measured by its own benchmarks), so this is the worker/server share of
   "agent joined and publishing". p50/p99 over ``--rooms`` sequential rooms.
2. **RSS per concurrent job**: resident memory growth of this process per idle
   in-process job, and the VmRSS of one prewarmed pool child (the cost of the
   process-pool mode per job).
3. **Concurrent real-time sessions**: N jobs each run a 20 ms frame clock doing
   the per-frame work of a voice session's audio path (resample-sized numpy work
   on 960 samples). A session "keeps real time" if its p99 frame lateness stays
   under one frame (20 ms). Reports the largest N that holds, doubling N.
4. **Real media join** (``--media-rooms``): a real participant (our ``Room`` over
   aiortc) joins a new room through the dev server; the worker's agent joins with
   the real room factory and publishes a tone. Measured by the participant: join
   started → agent participant visible → agent audio track visible → first agent
   audio with energy received (Opus through the server's relay). Sequential rooms;
   each job ends when the participant leaves.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import trio
from livekit.protocol import room as room_proto

from trioagents.devserver import DevServer, open_devserver
from trioagents.protocol import VideoGrants, mint_token, verify_token
from trioagents.worker import (
    ConnectOptions,
    JobContext,
    JobControl,
    JobInfo,
    JobRequest,
    ProcessPoolOptions,
    WorkerOptions,
    open_process_pool,
    open_worker,
    run_job,
)
from trioagents.worker._pool import read_rss_mb


class _Room:
    def __init__(self, token: str) -> None:
        self.token = token


def _room_factory(keys: dict[str, str]) -> Any:
    @asynccontextmanager
    async def factory(url: str, token: str, options: ConnectOptions) -> AsyncIterator[_Room]:
        verify_token(token, keys)
        yield _Room(token)

    return factory


async def _create_room(server: DevServer, name: str) -> None:
    import httpx

    token = mint_token(server.api_key, server.api_secret, identity="bench",
                       video=VideoGrants(room_create=True))  # fmt: skip
    body = room_proto.CreateRoomRequest(name=name).SerializeToString()
    headers = {"authorization": f"Bearer {token}", "content-type": "application/protobuf"}
    async with httpx.AsyncClient() as client:
        url = f"{server.http_url}/twirp/livekit.RoomService/CreateRoom"
        response = await client.post(url, content=body, headers=headers)
    response.raise_for_status()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def bench_dispatch(rooms: int) -> dict[str, float]:
    joined: dict[str, float] = {}
    offered: dict[str, float] = {}

    def request_fnc(request: JobRequest) -> None:
        offered[request.job.room.name] = trio.current_time()
        request.accept()

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        joined[ctx.info.room_name] = trio.current_time()

    latencies, from_offer = [], []
    async with open_devserver() as server:
        options = WorkerOptions(url=server.url, api_key=server.api_key,
                                api_secret=server.api_secret, load_threshold=math.inf)  # fmt: skip
        factory = _room_factory({server.api_key: server.api_secret})
        async with open_worker(
            options, entrypoint, request_fnc=request_fnc, room_factory=factory
        ) as worker:
            await worker.wait_registered()
            for i in range(rooms):
                name = f"bench-{i}"
                start = trio.current_time()
                await _create_room(server, name)
                while name not in joined:  # noqa: ASYNC110 - the benchmark polls on purpose
                    await trio.sleep(0.0005)
                latencies.append((joined[name] - start) * 1000)
                from_offer.append((joined[name] - offered[name]) * 1000)
    return {
        "rooms": rooms,
        "room_created_to_joined_p50_ms": _percentile(latencies, 0.5),
        "room_created_to_joined_p99_ms": _percentile(latencies, 0.99),
        "availability_to_joined_p50_ms": _percentile(from_offer, 0.5),
        "availability_to_joined_p99_ms": _percentile(from_offer, 0.99),
    }


def _rss_mb() -> float:
    return read_rss_mb(os.getpid()) or float("nan")


async def bench_memory(jobs: int) -> dict[str, float]:
    release = trio.Event()

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        await release.wait()

    factory = _room_factory({"k": "s"})
    token = mint_token("k", "s", identity="a", video=VideoGrants(room_join=True, room="r"))
    from livekit.protocol import agent

    before = _rss_mb()
    async with trio.open_nursery() as nursery:
        for i in range(jobs):
            info = JobInfo(agent.Job(id=f"AJ_{i}"), "ws://x", token, "AW", f"agent-{i}")
            nursery.start_soon(lambda info=info: run_job(info, entrypoint, JobControl(),
                               room_factory=factory, proc=_proc(), grace=1.0))  # fmt: skip
        await trio.sleep(0.5)
        during = _rss_mb()
        release.set()
    pool_options = ProcessPoolOptions(entrypoint="bench.worker:_noop", num_idle_processes=1)
    async with open_process_pool(pool_options) as pool:
        child_rss = pool.children_rss_mb()
    return {"jobs": jobs, "in_process_kb_per_job": (during - before) * 1024 / jobs,
            "pool_child_mb": child_rss[0] if child_rss else float("nan")}  # fmt: skip


def _proc() -> Any:
    from trioagents.worker import JobProcess

    return JobProcess()


async def _noop(ctx: JobContext) -> None:
    return None


async def _frame_clock(frames: int, lateness: list[float]) -> None:
    period = 0.020
    signal = np.random.default_rng(0).standard_normal(960).astype(np.float32)
    deadline = trio.current_time()
    for _ in range(frames):
        deadline += period
        await trio.sleep_until(deadline)
        lateness.append(trio.current_time() - deadline)
        resampled = np.interp(np.linspace(0, 959, 320), np.arange(960), signal)
        float(np.sqrt(np.mean(resampled * resampled)))  # the level meter's work


async def _sessions_keep_up(sessions: int, seconds: float) -> tuple[bool, float]:
    lateness_by_session: list[list[float]] = [[] for _ in range(sessions)]
    frames = int(seconds / 0.020)
    async with trio.open_nursery() as nursery:
        for lateness in lateness_by_session:
            nursery.start_soon(_frame_clock, frames, lateness)
    worst = max(_percentile(late, 0.99) for late in lateness_by_session if late)
    return worst < 0.020, worst * 1000


async def bench_realtime(max_sessions: int, seconds: float) -> dict[str, float]:
    best, sessions, results = 0, 8, {}
    while sessions <= max_sessions:
        ok, worst_ms = await _sessions_keep_up(sessions, seconds)
        results[sessions] = round(worst_ms, 2)
        if not ok:
            break
        best = sessions
        sessions *= 2
    return {"max_realtime_sessions": best, "p99_lateness_ms_by_sessions": results}  # type: ignore[dict-item]


async def _agent_with_tone(ctx: JobContext) -> None:
    from trioagents.core import AudioFrame

    room = await ctx.connect()
    tone = (np.sin(2 * np.pi * 440 * np.arange(480) / 24000) * 8000).astype(np.int16)
    async with room.publish_audio(sample_rate=24000) as source:
        while not room.remote_participants:
            await room.wait_state_changed()
        while room.remote_participants:
            with trio.move_on_after(0.1):
                await room.wait_state_changed()
            if source.queued_duration < 0.1:
                for _ in range(5):
                    source.push_frame(AudioFrame.from_mono(tone, 24000))


async def _join_and_hear(server: DevServer, name: str) -> tuple[float, float, float]:
    from livekit.protocol import models

    from trioagents.rtc import open_room

    grants = VideoGrants(room_join=True, room=name)
    token = mint_token(server.api_key, server.api_secret, identity="caller", video=grants)
    start = trio.current_time()
    joined: float | None = None
    async with open_room(server.url, token) as room:
        while True:
            agents = [p for p in room.remote_participants.values()
                      if p.kind == models.ParticipantInfo.AGENT]  # fmt: skip
            if agents and joined is None:
                joined = trio.current_time()
            tracks = [t.sid for p in agents for t in p.tracks.values() if t.kind == "audio"]
            if tracks:
                break
            await room.wait_state_changed()
        published = trio.current_time()
        async with room.subscribe_audio(tracks[0], sample_rate=16000) as stream:
            async for frame in stream:
                if frame.rms() > 0.05:
                    break
        heard = trio.current_time()
    assert joined is not None
    return joined - start, published - start, heard - start


async def bench_media_join(rooms: int) -> dict[str, float]:
    joined, published, heard = [], [], []
    async with open_devserver() as server:
        options = WorkerOptions(url=server.url, api_key=server.api_key,
                                api_secret=server.api_secret, load_threshold=math.inf,
                                shutdown_grace=2.0)  # fmt: skip
        async with open_worker(options, _agent_with_tone) as worker:
            await worker.wait_registered()
            for i in range(rooms):
                times = await _join_and_hear(server, f"media-{i}")
                for values, value in zip((joined, published, heard), times, strict=True):
                    values.append(value * 1000)
    return {
        "rooms": rooms,
        "join_to_agent_joined_p50_ms": _percentile(joined, 0.5),
        "join_to_agent_track_p50_ms": _percentile(published, 0.5),
        "join_to_first_agent_audio_p50_ms": _percentile(heard, 0.5),
        "join_to_first_agent_audio_max_ms": max(heard),
    }


async def main(args: argparse.Namespace) -> None:
    report = {
        "dispatch": await bench_dispatch(args.rooms),
        "media_join": await bench_media_join(args.media_rooms),
        "memory": await bench_memory(args.jobs),
        "realtime": await bench_realtime(args.max_sessions, args.seconds),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(report, indent=2))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--max-sessions", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--media-rooms", type=int, default=5)
    return parser.parse_args()


if __name__ == "__main__":
    trio.run(main, _parse())
