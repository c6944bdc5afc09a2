"""The console for a job entrypoint: the worker's own path, on loopback, with you as caller.

:func:`run_room_console` starts, in this process and one nursery: the embedded
dev server on a free loopback port, a worker registered with it whose entrypoint
is the user's (unchanged: ``ctx.connect()``, ``start_in_room`` and all), and a
room connection for the person at the terminal (identity ``console``). Joining
creates the room ``console``; the server dispatches the job; the agent joins.

* typed lines go to the agent as ``lk.chat`` text streams (room IO's text input);
  read from a pipe, each line waits for the agent's next line first (the
  greeting, then each reply; at most ``REPLY_WAIT`` seconds), as a person would;
* the agent's transcript (``lk.transcription`` streams naming no track of ours)
  is printed as ``agent: ...``; transcripts of our microphone as ``  you: ...``;
* with audio: the microphone is published as our track, the agent's track is
  played through the speaker (16-bit mono at the speaker's rate, with the
  speaker's backpressure).

Rejected alternative: a fake in-process room handed to the entrypoint (what
LiveKit's console does through special cases in ``AgentSession.start``). Room IO
would need a second implementation of every room feature it uses; the loopback
server costs about a second at start and runs exactly the code production runs.

Leaving (end of input, or cancellation) leaves the room, which ends the job; the
worker gives it its shutdown grace, then the server stops.
"""

from __future__ import annotations

import math
from typing import Any

import trio
from livekit.protocol import models

from ..devserver import DevServerOptions, open_devserver
from ..protocol import VideoGrants, mint_token
from ..rtc import AudioSource, Room, TextStreamReader, open_room
from ..worker import WorkerOptions, open_worker
from ._console_audio import ConsoleAudio
from ._console_prompt import Prompt

__all__ = ["ROOM", "run_room_console"]

ROOM = "console"
IDENTITY = "console"
REPLY_WAIT = 20.0  # piped input: the longest wait for the agent's next line


async def run_room_console(entrypoint: Any, prompt: Prompt, audio: ConsoleAudio | None) -> None:
    """Hold the conversation until end of input (see the module docstring)."""
    async with open_devserver(DevServerOptions(port=0)) as server:
        options = WorkerOptions(
            url=server.url,
            api_key=server.api_key,
            api_secret=server.api_secret,
            load_threshold=math.inf,
            health_port=None,
            shutdown_grace=3.0,
        )
        async with open_worker(options, entrypoint) as worker:
            await worker.wait_registered()
            grants = VideoGrants(room_join=True, room=ROOM)
            token = mint_token(server.api_key, server.api_secret, identity=IDENTITY, video=grants)
            async with open_room(server.url, token) as room:
                await _converse(room, prompt, audio)


class _Replies:
    """How many agent lines arrived; a pipe waits for the next one before its next line."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = trio.Event()

    def add(self) -> None:
        self.count += 1
        self._changed.set()
        self._changed = trio.Event()

    async def wait_beyond(self, count: int) -> None:
        while self.count <= count:
            await self._changed.wait()


async def _converse(room: Room, prompt: Prompt, audio: ConsoleAudio | None) -> None:
    own_track: list[AudioSource] = []  # our microphone's track (its sid changes on a rejoin)
    replies = _Replies()

    async def on_transcription(reader: TextStreamReader) -> None:
        text = await reader.read_all()
        attributes = reader.final_attributes
        if attributes.get("lk.transcription_final") != "true" or not text.strip():
            return
        transcribed = attributes.get("lk.transcribed_track_id", "")
        ours = bool(transcribed) and any(s.track_sid == transcribed for s in own_track)
        prompt.emit(f"  you: {text}" if ours else f"agent: {text}")
        if not ours:
            replies.add()

    room.register_text_stream_handler("lk.transcription", on_transcription)
    async with trio.open_nursery() as nursery:
        if audio is not None:
            source = await nursery.start(_publish_microphone, room, audio)
            own_track.append(source)
            nursery.start_soon(_play_agent, room, audio)
        seen = 0
        while True:
            if not prompt.interactive:  # a pipe: one line per reply, like a person
                with trio.move_on_after(REPLY_WAIT):
                    await replies.wait_beyond(seen)
            seen = replies.count
            line = await prompt.read_line()
            if line is None:
                break
            if line.strip():
                await room.send_text(line.strip(), topic="lk.chat")
        nursery.cancel_scope.cancel()


async def _publish_microphone(
    room: Room, audio: ConsoleAudio, *, task_status: trio.TaskStatus[AudioSource]
) -> None:
    microphone = audio.microphone
    async with room.publish_audio(sample_rate=microphone.sample_rate, name="microphone") as source:
        task_status.started(source)
        async for frame in microphone:
            await source.capture_frame(frame)


async def _agent_track(room: Room) -> str:
    while True:
        for participant in room.remote_participants.values():
            if participant.kind != models.ParticipantInfo.AGENT:
                continue
            for publication in participant.tracks.values():
                if publication.kind == "audio":
                    return str(publication.sid)
        await room.wait_state_changed()


async def _play_agent(room: Room, audio: ConsoleAudio) -> None:
    """The agent's audio track through the speaker, again after a republish."""
    speaker = audio.speaker
    while True:
        track_sid = await _agent_track(room)
        async with room.subscribe_audio(track_sid, sample_rate=speaker.sample_rate) as stream:
            async for frame in stream:
                await speaker.wait_for_capacity()
                speaker.capture_frame(frame)
        await room.wait_state_changed()
