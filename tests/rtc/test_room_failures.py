"""Reconnect and bad-server behaviour against the loopback peer (real clock, bounded)."""

from __future__ import annotations

import pytest
import trio
from livekit.protocol import models, rtc

from trioagents.core import AudioFrame, ConnectError, RemoteProtocolError
from trioagents.rtc import (
    AudioSource,
    ConnectionLost,
    ConnectionResumed,
    JoinRefusedError,
    ReconnectPolicy,
    RoomClosedError,
    RoomDisconnected,
    RoomOptions,
    open_room,
)

from .fake_server import make_token, open_fake_server, tone

pytestmark = pytest.mark.slow

FAST = RoomOptions(reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=0.2), seed=1)


async def next_event(room, kind):  # type: ignore[no-untyped-def]
    async for event in room.events():
        if isinstance(event, kind):
            return event
    raise AssertionError("event channel closed")


async def frames_from(stream, count: int) -> int:  # type: ignore[no-untyped-def]
    got = 0
    async for _ in stream:
        got += 1
        if got == count:
            break
    return got


async def play_tone(source: AudioSource, freq: float, seconds: float) -> None:
    """Play a tone through ``source`` in 20 ms frames and wait until it played out."""
    signal = tone(freq, seconds)
    for start in range(0, len(signal), 960):
        await source.capture_frame(AudioFrame.from_mono(signal[start : start + 960], 48000))
    await source.wait_for_playout()


async def test_signal_drop_rejoins_and_media_resumes() -> None:
    with trio.fail_after(15):
        async with open_fake_server() as server, open_room(server.url, make_token(), FAST) as room:
            async with room.subscribe_audio("TR_bot") as stream, room.publish_audio() as source:
                assert await frames_from(stream, 10) == 10
                first_sid = source.track_sid
                await server.drop_signal()
                lost = await next_event(room, ConnectionLost)
                assert lost.attempt == 1
                resumed = await next_event(room, ConnectionResumed)
                assert resumed.attempts == 1
                assert server.resumes_refused == 1  # resume first; refused: a full rejoin
                assert server.joins == 2
                # the same stream object keeps delivering from the new peer connection
                assert await frames_from(stream, 10) == 10
                # the source was re-published on the new connection and still plays
                assert source.track_sid != first_sid
                server.received_audio.clear()
                await play_tone(source, 440.0, 0.3)
                await room.send_data(b"after", topic="t")
            assert room.statistics().joins == 2


async def test_a_drop_between_offer_and_answer_does_not_hang_a_publish() -> None:
    """The publish waits for the rejoin, which publishes the source; it never hangs."""
    with trio.fail_after(15):
        async with open_fake_server() as server, open_room(server.url, make_token(), FAST) as room:
            server.drop_on_next_offer = True  # the publish's renegotiation gets no answer
            async with room.publish_audio() as source:
                assert source.track_sid  # published by the second join
                assert room.statistics().joins == 2
                server.received_audio.clear()
                await play_tone(source, 440.0, 0.3)


async def test_leave_with_reconnect_action_rejoins() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server, open_room(server.url, make_token(), FAST) as room:
            await server.send_leave(rtc.LeaveRequest.RECONNECT)
            await next_event(room, ConnectionResumed)
            assert server.joins == 2


async def test_leave_with_disconnect_closes_the_room() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server, open_room(server.url, make_token(), FAST) as room:
            await server.send_leave(rtc.LeaveRequest.DISCONNECT, models.ROOM_DELETED)
            event = await next_event(room, RoomDisconnected)
            assert event.reason == "ROOM_DELETED"
            assert [e async for e in room.events()] == []  # the channel ends
            with pytest.raises(RoomClosedError):
                await room.send_data(b"x")
            assert server.joins == 1


async def test_malformed_message_gives_protocol_error_and_clean_leave() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server:

            async def join_then_receive_garbage() -> None:
                async with open_room(server.url, make_token(), FAST):
                    await server.send_raw(b"\x0a\xff\xff\xff")  # truncated field
                    await trio.sleep_forever()

            with pytest.raises(RemoteProtocolError):
                await join_then_receive_garbage()
            while not server.leaves:
                await server.changed.wait()
            assert server.leaves == [models.STATE_MISMATCH]


async def test_malformed_first_message() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server:
            server.next_join = "garbage"
            with pytest.raises(RemoteProtocolError):
                async with open_room(server.url, make_token()):
                    pass
            assert server.leaves == [models.JOIN_FAILURE]


async def test_join_refused() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server:
            server.next_join = "refuse"
            with pytest.raises(JoinRefusedError) as info:
                async with open_room(server.url, make_token()):
                    pass
            assert info.value.reason == "JOIN_FAILURE"


async def test_bad_token_is_a_connect_error_with_status() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server:
            with pytest.raises(ConnectError) as info:
                async with open_room(server.url, "not-a-token"):
                    pass
            assert info.value.status == 401


async def test_silent_server_triggers_rejoin_after_ping_timeout() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server:
            server.ping = (1, 1)
            async with open_room(server.url, make_token(), FAST) as room:
                server.silent = True
                lost = await next_event(room, ConnectionLost)
                assert "ping timeout" in lost.reason
                server.silent = False
                await next_event(room, ConnectionResumed)


async def test_reconnect_attempts_exhausted() -> None:
    options = RoomOptions(
        reconnect=ReconnectPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
    )
    with trio.fail_after(10):
        async with (
            open_fake_server() as server,
            open_room(server.url, make_token(), options) as room,
        ):
            server.next_join = "refuse"
            await server.drop_signal()
            event = await next_event(room, RoomDisconnected)
            assert event.reason == "reconnect attempts exhausted"
            assert server.joins == 3


async def test_unusable_subscriber_offer_gives_protocol_error_and_clean_leave() -> None:
    offer = rtc.SessionDescription(type="offer", sdp="v=0\r\nm=audio 9 RTP/AVP 0\r\n", id=9)
    with trio.fail_after(10):
        async with open_fake_server() as server:

            async def join_then_receive_bad_offer() -> None:
                async with open_room(server.url, make_token(), FAST):
                    await server.send_raw(rtc.SignalResponse(offer=offer).SerializeToString())
                    await trio.sleep_forever()

            with pytest.raises(RemoteProtocolError, match="cannot be applied"):
                await join_then_receive_bad_offer()
            while not server.leaves:
                await server.changed.wait()
            assert server.leaves == [models.STATE_MISMATCH]


async def test_join_timeout_is_a_connect_error() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server:
            server.next_join = "mute"  # accepts the socket, never answers
            started = trio.current_time()
            with pytest.raises(ConnectError, match="timed out"):
                async with open_room(server.url, make_token(), RoomOptions(join_timeout=0.5)):
                    pass
            assert trio.current_time() - started < 3
