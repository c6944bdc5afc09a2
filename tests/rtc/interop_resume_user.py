"""Runs in the interop venv (PyPI ``livekit``, the Rust SDK) as the human side of a call
whose agent loses its signal socket mid-utterance: joins as ``user``, subscribes to
``agent``, sets ``interop.ready``, and listens until the agent sets ``interop.done``.
Reports the agent's audio as heard (loud seconds, the longest quiet gap between the
first and last loud frame), the ``lk.transcription`` lines with their sender
identities, and whether the agent ever left the room. Prints one JSON line.

Usage: python interop_resume_user.py URL API_KEY API_SECRET ROOM
Data for tests/rtc/test_interop_rust.py, not imported by the test suite.
"""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np
from livekit import api, rtc

RATE = 48000
LOUD = 1000


async def call(url: str, token: str, result: dict) -> None:
    room = rtc.Room()
    agent_track: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()
    left: list[str] = []
    result["left"] = left
    transcripts: list[dict] = []
    result["transcripts"] = transcripts

    @room.on("track_subscribed")
    def on_track(track: rtc.Track, pub: object, who: rtc.RemoteParticipant) -> None:
        if who.identity == "agent" and not agent_track.done():
            agent_track.set_result(track)

    @room.on("participant_disconnected")
    def on_left(who: rtc.RemoteParticipant) -> None:
        left.append(who.identity)

    readers: set[asyncio.Task[None]] = set()

    async def read_transcript(reader: rtc.TextStreamReader, identity: str) -> None:
        text = await reader.read_all()
        final = reader.info.attributes.get("lk.transcription_final") == "true"
        transcripts.append({"text": text, "identity": identity, "final": final})

    def on_transcript(reader: rtc.TextStreamReader, identity: str) -> None:
        task = asyncio.ensure_future(read_transcript(reader, identity))
        readers.add(task)
        task.add_done_callback(readers.discard)

    room.register_text_stream_handler("lk.transcription", on_transcript)
    await room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))
    try:
        remote = await asyncio.wait_for(agent_track, 20)
        stream = rtc.AudioStream(remote, sample_rate=RATE, num_channels=1)
        listening = asyncio.ensure_future(listen(stream))
        await room.local_participant.set_attributes({"interop.ready": "1"})
        await asyncio.wait_for(agent_attribute(room, "interop.done"), 40)
        await asyncio.sleep(0.5)  # the transcript's last chunk
        listening.cancel()
        loud = await asyncio.gather(listening, return_exceptions=True)
        await stream.aclose()
        result.update(summarise(LOUDNESS))
        del loud
    finally:
        await room.disconnect()


LOUDNESS: list[tuple[int, bool]] = []  # (samples, loud) per frame received


async def listen(stream: rtc.AudioStream) -> None:
    async for event in stream:
        data = np.frombuffer(event.frame.data, dtype=np.int16)
        LOUDNESS.append((len(data), bool(np.abs(data).max() > LOUD)))


def summarise(frames: list[tuple[int, bool]]) -> dict:
    loud = [i for i, (_, is_loud) in enumerate(frames) if is_loud]
    if not loud:
        return {"loud_seconds": 0.0, "longest_gap_ms": None}
    gap = longest = 0
    for samples, is_loud in frames[loud[0] : loud[-1] + 1]:
        gap = 0 if is_loud else gap + samples
        longest = max(longest, gap)
    loud_samples = sum(samples for samples, is_loud in frames if is_loud)
    return {"loud_seconds": loud_samples / RATE, "longest_gap_ms": 1000 * longest / RATE}


async def agent_attribute(room: rtc.Room, key: str) -> str:
    while True:
        agent = room.remote_participants.get("agent")
        if agent is not None and agent.attributes.get(key):
            return agent.attributes[key]
        await asyncio.sleep(0.05)


async def main() -> None:
    url, key, secret, room_name = sys.argv[1:5]
    grants = api.VideoGrants(room_join=True, room=room_name, can_update_own_metadata=True)
    token = api.AccessToken(key, secret).with_identity("user").with_grants(grants).to_jwt()
    result: dict = {}
    try:
        await asyncio.wait_for(call(url, token, result), 80)
    except Exception as exc:  # report; the test decides
        result["error"] = {"type": type(exc).__name__, "text": str(exc)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
