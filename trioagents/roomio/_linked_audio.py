"""The linked participant's audio as one :class:`AudioInput` that survives republishing.

A participant's audio track can end while the call goes on: the client republished
after a reconnect (a new track sid), switched microphones, or muted by unpublishing.
:class:`LinkedAudioInput` follows the participant, not a track: a pump task (in the
room IO block's nursery) waits for the participant's first audio track, forwards its
frames, and when that track ends waits for the next one. The session's listening
therefore never stops for good because one track went away. The input ends when the
room is over.

Frames go through a small channel with backpressure into the track's own
:class:`~trioagents.rtc.AudioStream` buffer, which drops new frames when the session
falls behind (counted in ``dropped``).
"""

from __future__ import annotations

import trio

from ..core import AudioFrame
from ..rtc import Room

__all__ = ["LinkedAudioInput", "follow_participant_audio"]

_HANDOFF_BUFFER = 10  # frames between the pump and the session


class LinkedAudioInput:
    """Frames of ``identity``'s current audio track (see the module docstring)."""

    def __init__(self, identity: str, frames: trio.MemoryReceiveChannel[AudioFrame]) -> None:
        self.identity = identity
        self.track_sid = ""  # the track being heard; "" while the participant has none
        self.tracks_followed = 0
        self.dropped = 0
        self._frames = frames

    def __aiter__(self) -> LinkedAudioInput:
        return self

    async def __anext__(self) -> AudioFrame:
        try:
            return await self._frames.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None


def _audio_track(room: Room, identity: str) -> str | None:
    participants = room.remote_participants.values()
    participant = next((p for p in participants if p.identity == identity), None)
    if participant is None:
        return None
    return next((t.sid for t in participant.tracks.values() if t.kind == "audio"), None)


async def follow_participant_audio(
    room: Room,
    audio: LinkedAudioInput,
    frames: trio.MemorySendChannel[AudioFrame],
    *,
    sample_rate: int,
    num_channels: int,
) -> None:
    """The pump: subscribe to each audio track ``audio.identity`` publishes, in turn."""
    async with frames:
        while not room.closed:
            sid = _audio_track(room, audio.identity)
            if sid is None:
                await room.wait_state_changed()
                continue
            audio.track_sid = sid
            audio.tracks_followed += 1
            async with room.subscribe_audio(
                sid, sample_rate=sample_rate, num_channels=num_channels
            ) as stream:
                async for frame in stream:
                    await frames.send(frame)
                audio.dropped += stream.dropped
            audio.track_sid = ""
            if _audio_track(room, audio.identity) == sid:  # ended, yet still listed
                await room.wait_state_changed()  # do not spin on it
