"""Runs in the livekit-agents venv: an official worker registers on ``/agent``; a room
is then created through the official ``livekit-api`` Twirp client; the job's
entrypoint joins the room (livekit 1.1.21, Rust SDK) and reports. Prints one JSON line.

Usage: python agents_worker.py URL API_KEY API_SECRET ROOM
Data for tests/interop/test_livekit_agents.py, not imported by the test suite.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading

from livekit import api
from livekit.agents import AgentServer, JobContext
from livekit.agents.worker import JobExecutorType, ServerOptions

REPORT: dict[str, object] = {}
DONE = threading.Event()


async def entrypoint(ctx: JobContext) -> None:
    REPORT["job_id"] = ctx.job.id
    REPORT["job_room"] = ctx.job.room.name
    await ctx.connect()
    REPORT["connected_room"] = ctx.room.name
    REPORT["identity"] = ctx.room.local_participant.identity
    REPORT["kind"] = int(ctx.room.local_participant.kind)
    await ctx.room.local_participant.set_attributes({"ready": "yes"})
    REPORT["attributes_ok"] = True
    DONE.set()


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
            await asyncio.wait_for(asyncio.to_thread(DONE.wait, 30), 35)
            listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room_name))
            result["participants"] = [p.identity for p in listed.participants]
        result.update(REPORT)
    except Exception as exc:
        result["error"] = {"type": type(exc).__name__, "text": str(exc), "report": REPORT}
    finally:
        await asyncio.wait_for(server.aclose(), 20)
        runner.cancel()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
