"""Runs in the livekit-agents venv: an official worker registers on ``/agent``; a room
is then created through the official ``livekit-api`` Twirp client; the job's
entrypoint joins the room (livekit 1.1.21, Rust SDK), waits for the user (which needs
the user's state to become ACTIVE), publishes a 550 Hz tone and waits until the user
subscribes (TrackSubscribed); the user hears it. Prints one JSON line.

Usage: python agents_worker.py URL API_KEY API_SECRET ROOM
Data for tests/interop/test_livekit_agents.py, not imported by the test suite.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading

import numpy as np
from livekit import api, rtc
from livekit.agents import AgentServer, JobContext
from livekit.agents.worker import JobExecutorType, ServerOptions

REPORT: dict[str, object] = {}
DONE = threading.Event()
USER_SEEN = threading.Event()  # the job runs on its own thread and loop


async def entrypoint(ctx: JobContext) -> None:
    REPORT["job_id"] = ctx.job.id
    REPORT["job_room"] = ctx.job.room.name
    await ctx.connect()
    REPORT["connected_room"] = ctx.room.name
    REPORT["identity"] = ctx.room.local_participant.identity
    REPORT["kind"] = int(ctx.room.local_participant.kind)
    await ctx.room.local_participant.set_attributes({"ready": "yes"})
    REPORT["attributes_ok"] = True
    user = await asyncio.wait_for(ctx.wait_for_participant(), 20)  # ACTIVE users only
    REPORT["user_seen"] = user.identity
    USER_SEEN.set()
    source = rtc.AudioSource(48000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("agent-voice", source)
    publication = await ctx.room.local_participant.publish_track(track)
    stop = asyncio.Event()
    player = asyncio.create_task(tone(source, 550.0, stop))
    try:
        await asyncio.wait_for(publication.wait_for_subscription(), 20)
        REPORT["agent_track_subscribed"] = True
        await asyncio.sleep(4)  # the user listens meanwhile
    finally:
        stop.set()
        await player
    DONE.set()


async def tone(source: rtc.AudioSource, hz: float, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        t = (np.arange(480) + n) / 48000
        n += 480
        samples = (0.4 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
        await source.capture_frame(rtc.AudioFrame(samples.tobytes(), 48000, 1, 480))


async def listen(url: str, key: str, secret: str, room_name: str) -> dict[str, object]:
    """A user (Rust SDK) that joins and measures what the agent says."""
    grants = api.VideoGrants(room_join=True, room=room_name)
    token = api.AccessToken(key, secret).with_identity("user").with_grants(grants).to_jwt()
    room = rtc.Room()
    agent_track: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @room.on("track_subscribed")
    def on_track(track: rtc.Track, *_: object) -> None:
        if not agent_track.done():
            agent_track.set_result(track)

    await room.connect(url, token)
    try:
        stream = rtc.AudioStream(await asyncio.wait_for(agent_track, 30), sample_rate=48000)
        chunks: list[np.ndarray] = []
        async for event in stream:
            data = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            if np.abs(data).max() > 1000:
                chunks.append(data)
            if sum(len(c) for c in chunks) >= 48000:
                break
        await stream.aclose()
        audio = np.concatenate(chunks)
        spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
        return {"user_heard_hz": float(np.fft.rfftfreq(len(audio), 1 / 48000)[spectrum.argmax()])}
    finally:
        await room.disconnect()


async def main() -> None:
    url, key, secret, room_name = sys.argv[1:5]
    options = ServerOptions(
        entrypoint_fnc=entrypoint,
        ws_url=url,
        api_key=key,
        api_secret=secret,
        job_executor_type=JobExecutorType.THREAD,
        port=0,
    )
    server = AgentServer.from_server_options(options)
    registered = asyncio.Event()
    server.on("worker_registered", lambda *args: registered.set())
    runner = asyncio.create_task(server.run(devmode=True))
    result: dict[str, object] = {}
    try:
        await asyncio.wait_for(registered.wait(), 20)
        result["registered_worker_id"] = server.id
        async with api.LiveKitAPI(url.replace("ws", "http", 1), key, secret) as lkapi:
            room = await lkapi.room.create_room(api.CreateRoomRequest(name=room_name))
            result["created_room_sid"] = room.sid
            user = asyncio.create_task(listen(url, key, secret, room_name))
            await asyncio.to_thread(USER_SEEN.wait, 30)
            listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room_name))
            result["participants"] = sorted(p.identity for p in listed.participants)
            result.update(await asyncio.wait_for(user, 40))
            await asyncio.wait_for(asyncio.to_thread(DONE.wait, 30), 35)
        result.update(REPORT)
    except Exception as exc:
        result["error"] = {"type": type(exc).__name__, "text": str(exc), "report": REPORT}
    finally:
        await asyncio.wait_for(server.aclose(), 20)
        runner.cancel()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
