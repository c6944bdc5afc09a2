"""Our side of the interop call, run inside the test's network namespace: joins as
``agent`` (an agent token) with trioagents' Room, publishes a 660 Hz tone, sets
``lk.agent.state``, sends one ``lk.transcription`` line of its own and one on the
user's behalf, listens to ``user`` and reports the frequency it hears. Prints one
JSON line.

Usage: python interop_agent.py URL API_KEY API_SECRET ROOM
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.rtc.fake_server import dominant_frequency, tone
from trioagents.core import AudioFrame
from trioagents.protocol import VideoGrants, mint_token
from trioagents.rtc import ParticipantDisconnected, Room, open_room


async def user_track(room: Room) -> str:
    while True:
        user = room.remote_participants.get("user")
        if user is not None:
            for publication in user.tracks.values():
                if publication.kind == "audio":
                    return publication.sid
        await room.wait_state_changed()


async def hear_user(room: Room, result: dict[str, object]) -> np.ndarray:
    """One second of the user's loud audio, following the user's current track.

    A subscription ends when its track is unpublished: the Rust SDK republishes
    (new sids) when it reconnects, which a loaded machine can provoke. Each ended
    subscription is counted in ``result["track_changes"]`` with the room's joins.
    """
    chunks: list[np.ndarray] = []
    ended: list[dict[str, object]] = []
    result["track_changes"] = ended
    while sum(map(len, chunks)) < 48000:
        sid = await user_track(room)
        if ended and ended[-1]["sid"] == sid:
            raise RuntimeError(f"the subscription to {sid} ended while it was still published")
        async with room.subscribe_audio(sid, sample_rate=48000) as stream:
            async for frame in stream:
                if np.abs(frame.data).max() > 1000:
                    chunks.append(frame.data[:, 0])
                if sum(map(len, chunks)) >= 48000:
                    break
            else:
                heard = sum(map(len, chunks))
                ended.append({"sid": sid, "heard": heard, "joins": room.statistics().joins})
    return np.concatenate(chunks)


async def call(url: str, token: str, result: dict[str, object]) -> None:
    async with open_room(url, token) as room, room.publish_audio() as source:
        result["connected"] = True
        async with trio.open_nursery() as nursery:

            async def speak() -> None:
                signal = tone(660.0, 60.0)
                for start in range(0, len(signal), 960):
                    await source.capture_frame(
                        AudioFrame.from_mono(signal[start : start + 960], 48000)
                    )

            nursery.start_soon(speak)
            await room.set_attributes({"lk.agent.state": "speaking"})
            while "user" not in room.remote_participants:
                await room.wait_state_changed()
            topic = "lk.transcription"
            await room.send_text("what the user said", topic=topic, sender_identity="user")
            await room.send_text("what the agent said", topic=topic)
            audio = await hear_user(room, result)
            result["heard_hz"] = dominant_frequency(audio, 48000)
            result["rms"] = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
            await room.set_attributes({"interop.heard": "1"})  # the user may hang up now
            async for event in room.events():  # stay until the user hung up
                if isinstance(event, ParticipantDisconnected) and event.identity == "user":
                    break
            nursery.cancel_scope.cancel()


async def main() -> None:
    url, key, secret, room_name = sys.argv[1:5]
    grants = VideoGrants(room_join=True, room=room_name, can_update_own_metadata=True, agent=True)
    token = mint_token(key, secret, identity="agent", video=grants)
    result: dict[str, object] = {}
    try:
        with trio.fail_after(60):
            await call(url, token, result)
    except Exception as exc:  # report; the test decides
        result["error"] = {"type": type(exc).__name__, "text": str(exc)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    trio.run(main)
