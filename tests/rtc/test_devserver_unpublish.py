"""Leaving ``publish_audio`` unpublishes the track for the other participants.

Real peer connections on loopback against the embedded dev server, real clock,
each test bounded by ``fail_after``.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.devserver import open_devserver
from trioagents.rtc import (
    RemoteTrackPublished,
    RemoteTrackUnpublished,
    RoomEvent,
    open_room,
)

from .test_devserver_room import heard_frequency, speaking, token, wait_for_audio_track

pytestmark = pytest.mark.slow


async def next_track_event(events: trio.MemoryReceiveChannel[RoomEvent]) -> RoomEvent:
    async for event in events:
        if isinstance(event, RemoteTrackPublished | RemoteTrackUnpublished):
            return event
    raise AssertionError("the room ended")


async def test_leaving_publish_audio_unpublishes_the_track() -> None:
    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "user")) as user,
            open_room(server.url, token(server, "agent")) as agent,
        ):
            events = user.events()
            async with speaking(agent, 660.0):
                sid = await wait_for_audio_track(user, "agent")
                assert await next_track_event(events) == RemoteTrackPublished(
                    "agent", sid, "audio", "agent_audio"
                )
                async with user.subscribe_audio(sid, sample_rate=16000) as stream:
                    async for _ in stream:
                        break
            # the block is left: the user sees the track go, and its stream ends
            assert await next_track_event(events) == RemoteTrackUnpublished("agent", sid)
            assert sid not in user.remote_participants["agent"].tracks
            async with user.subscribe_audio(sid, sample_rate=16000) as stream:
                assert [frame async for frame in stream] == []

            # a later publication on the same connection still negotiates and plays
            async with speaking(agent, 440.0):
                while (second := await wait_for_audio_track(user, "agent")) == sid:
                    await user.wait_state_changed()
                assert abs(await heard_frequency(user, second) - 440.0) < 10
            assert await next_track_event(events) == RemoteTrackPublished(
                "agent", second, "audio", "agent_audio"
            )
            assert await next_track_event(events) == RemoteTrackUnpublished("agent", second)
            assert user.remote_participants["agent"].tracks == {}
