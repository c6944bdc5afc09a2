"""Runs in the interop venv (PyPI ``livekit``, the Rust SDK): two participants publish a
tone each and must hear the other's tone. Prints one JSON line with the result.

Usage: python rust_sdk_client.py URL API_KEY API_SECRET ROOM
This file is data for tests/interop/test_rust_sdk.py, not imported by the test suite.
"""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np
from livekit import api, rtc

RATE = 48000
FRAME = 480  # 10 ms


def token(key: str, secret: str, identity: str, room: str) -> str:
    grants = api.VideoGrants(room_join=True, room=room, can_update_own_metadata=True)
    return api.AccessToken(key, secret).with_identity(identity).with_grants(grants).to_jwt()


async def play_tone(source: rtc.AudioSource, freq: float, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        t = (np.arange(FRAME) + n) / RATE
        samples = (0.4 * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
        n += FRAME
        frame = rtc.AudioFrame(samples.tobytes(), RATE, 1, FRAME)
        await source.capture_frame(frame)


def dominant(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


async def participant(
    url: str, tok: str, freq: float, peer: str, result: dict, stop: asyncio.Event
) -> None:
    room = rtc.Room()
    got_track: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @room.on("track_subscribed")
    def on_track(
        track: rtc.Track, pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant
    ) -> None:
        if who.identity == peer and not got_track.done():
            got_track.set_result(track)

    await room.connect(url, tok, rtc.RoomOptions(auto_subscribe=True))
    result["connected"] = True
    result["server_version"] = room.remote_participants is not None
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    publication = await room.local_participant.publish_track(track, options)
    result["published"] = publication.sid
    player = asyncio.create_task(play_tone(source, freq, stop))
    try:
        await room.local_participant.set_attributes({"tone": str(freq)})
        result["attributes_ok"] = True
        remote = await asyncio.wait_for(got_track, 20)
        stream = rtc.AudioStream(remote, sample_rate=RATE, num_channels=1)
        chunks: list[np.ndarray] = []
        total = 0
        async for event in stream:
            data = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            if np.abs(data).max() > 1000:  # skip the silent start
                chunks.append(data)
                total += len(data)
            if total >= RATE:  # one second of audio
                break
        audio = np.concatenate(chunks)
        result["heard_hz"] = dominant(audio)
        result["rms"] = float(np.sqrt(np.mean(audio**2)))
        await stream.aclose()
    finally:
        stop.set()
        await player
        await room.disconnect()


async def main() -> None:
    url, key, secret, room_name = sys.argv[1:5]
    results: dict[str, dict] = {"alice": {}, "bob": {}}
    stops = [asyncio.Event(), asyncio.Event()]
    try:
        await asyncio.wait_for(
            asyncio.gather(
                participant(
                    url,
                    token(key, secret, "alice", room_name),
                    440.0,
                    "bob",
                    results["alice"],
                    stops[0],
                ),
                participant(
                    url,
                    token(key, secret, "bob", room_name),
                    660.0,
                    "alice",
                    results["bob"],
                    stops[1],
                ),
            ),
            60,
        )
    except Exception as exc:  # report, the test decides
        results["error"] = {"type": type(exc).__name__, "text": str(exc)}
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
