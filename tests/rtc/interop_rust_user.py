"""Runs in the interop venv (PyPI ``livekit``, the Rust SDK) as the human side of a call
with our agent: joins as ``user``, publishes a 440 Hz tone, subscribes to ``agent`` and
reports the frequency it hears and the ``lk.transcription`` lines it received with
their sender identities. Prints one JSON line.

Usage: python interop_rust_user.py URL API_KEY API_SECRET ROOM
Data for tests/rtc/test_interop_rust.py, not imported by the test suite.
"""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np
from livekit import api, rtc

RATE = 48000
FRAME = 480


def dominant(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


async def play(source: rtc.AudioSource, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        t = (np.arange(FRAME) + n) / RATE
        n += FRAME
        samples = (0.4 * 32767 * np.sin(2 * np.pi * 440.0 * t)).astype(np.int16)
        await source.capture_frame(rtc.AudioFrame(samples.tobytes(), RATE, 1, FRAME))


async def call(url: str, token: str, result: dict) -> None:
    room = rtc.Room()
    agent_track: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @room.on("track_subscribed")
    def on_track(track: rtc.Track, pub: object, who: rtc.RemoteParticipant) -> None:
        if who.identity == "agent" and not agent_track.done():
            agent_track.set_result(track)

    transcripts: list[dict] = []
    result["transcripts"] = transcripts
    two_lines = asyncio.Event()

    async def read_transcript(reader: rtc.TextStreamReader, identity: str) -> None:
        text = await reader.read_all()
        transcripts.append({"text": text, "identity": identity})
        if len(transcripts) >= 2:
            two_lines.set()

    readers: set[asyncio.Task[None]] = set()

    def on_transcript(reader: rtc.TextStreamReader, identity: str) -> None:
        task = asyncio.ensure_future(read_transcript(reader, identity))
        readers.add(task)
        task.add_done_callback(readers.discard)

    room.register_text_stream_handler("lk.transcription", on_transcript)
    await room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))
    result["connected"] = True
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await room.local_participant.publish_track(track, options)
    stop = asyncio.Event()
    player = asyncio.create_task(play(source, stop))
    try:
        remote = await asyncio.wait_for(agent_track, 20)
        stream = rtc.AudioStream(remote, sample_rate=RATE, num_channels=1)
        chunks, total = [], 0
        async for event in stream:
            data = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            if np.abs(data).max() > 1000:
                chunks.append(data)
                total += len(data)
            if total >= RATE:
                break
        audio = np.concatenate(chunks)
        result["heard_hz"] = dominant(audio)
        result["rms"] = float(np.sqrt(np.mean(audio**2)))
        await stream.aclose()
        result["agent_state"] = await asyncio.wait_for(agent_attribute(room, "lk.agent.state"), 10)
        await asyncio.wait_for(two_lines.wait(), 10)
        # stay (and keep sending our tone) until the agent says it heard us
        await asyncio.wait_for(agent_attribute(room, "interop.heard"), 40)
    finally:
        stop.set()
        await player
        await room.disconnect()


async def agent_attribute(room: rtc.Room, key: str) -> str:
    while True:
        agent = room.remote_participants.get("agent")
        if agent is not None and agent.attributes.get(key):
            return agent.attributes[key]
        await asyncio.sleep(0.05)


async def main() -> None:
    url, key, secret, room_name = sys.argv[1:5]
    grants = api.VideoGrants(room_join=True, room=room_name)
    token = api.AccessToken(key, secret).with_identity("user").with_grants(grants).to_jwt()
    result: dict = {}
    try:
        await asyncio.wait_for(call(url, token, result), 80)
    except Exception as exc:  # report; the test decides
        result["error"] = {"type": type(exc).__name__, "text": str(exc)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
