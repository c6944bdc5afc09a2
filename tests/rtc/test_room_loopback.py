"""Room against a real loopback peer (aiortc both sides, real clock, bounded)."""

from __future__ import annotations

import numpy as np
import pytest
import trio

from trioagents.core import AudioFrame
from trioagents.rtc import (
    DataReceived,
    ParticipantConnected,
    RemoteTrackPublished,
    RoomOptions,
    open_room,
)

from .fake_server import BOT_TONE_HZ, dominant_frequency, make_token, open_fake_server, tone

pytestmark = pytest.mark.slow


async def next_event(room, kind):  # type: ignore[no-untyped-def]
    async for event in room.events():
        if isinstance(event, kind):
            return event
    raise AssertionError("event channel closed")


async def test_join_media_both_ways() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server, open_room(server.url, make_token()) as room:
            assert room.name == "room"
            assert room.local_participant.identity == "agent"
            assert room.local_participant.sid.startswith("PA_")
            assert "bot" in room.remote_participants
            assert "TR_bot" in room.remote_participants["bot"].tracks
            assert server.auth_headers == [True]
            connected = await next_event(room, ParticipantConnected)
            assert connected.identity == "bot"
            published = await next_event(room, RemoteTrackPublished)
            assert published.track_sid == "TR_bot"

            # incoming: the bot's 660 Hz tone, resampled to 16 kHz mono
            received = []
            async with room.subscribe_audio("TR_bot", sample_rate=16000) as stream:
                async for frame in stream:
                    assert frame.sample_rate == 16000
                    assert frame.num_channels == 1
                    received.append(frame.data[:, 0])
                    if sum(map(len, received)) >= 16000:
                        break
            samples = np.concatenate(received)[4000:]  # skip the start-up
            assert abs(dominant_frequency(samples, 16000) - BOT_TONE_HZ) < 5

            # outgoing: a 440 Hz tone from 24 kHz frames, checked on the server
            async with room.publish_audio(sample_rate=24000, name="agent-voice") as source:
                await source.wait_for_subscription()
                assert source.track_sid.startswith("TR_agent")
                signal = tone(440.0, 1.0, rate=24000)
                for start in range(0, len(signal), 480):
                    await source.capture_frame(
                        AudioFrame.from_mono(signal[start : start + 480], 24000)
                    )
                    assert source.queued_duration <= 0.2 + 0.021
                source.flush()
                await source.wait_for_playout()
                stats = source.statistics()
                assert stats.queued == 0
                assert stats.played == pytest.approx(1.0, abs=0.001)
            await trio.sleep(0.2)
            heard = np.concatenate(server.received_audio)
            loud = heard[np.abs(heard) > 1000]
            assert len(loud) > 24000  # about half a second or more of tone arrived
            nonzero = heard[np.flatnonzero(np.abs(heard) > 1000)[0] :][:24000]
            assert abs(dominant_frequency(nonzero, 48000) - 440.0) < 5
        assert server.leaves == [1]  # CLIENT_INITIATED


async def test_data_rpc_text_streams_attributes() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server, open_room(server.url, make_token()) as room:
            await room.send_data(b"hello", topic="chat", destination_identities=["bot"])
            event = await next_event(room, DataReceived)
            assert (event.payload, event.topic, event.sender_identity) == (
                b"hello",
                "echo:chat",
                "bot",
            )
            assert "hello" not in repr(event)
            sent = [p for p in server.received_packets if p.WhichOneof("value") == "user"]
            assert sent[0].sequence == 1
            assert list(sent[0].destination_identities) == ["bot"]

            assert await room.perform_rpc("bot", "shout", "hi there") == "HI THERE"
            from trioagents.rtc import RpcError

            with pytest.raises(RpcError) as info:
                await room.perform_rpc("bot", "fail", "x")
            assert info.value.code == 1500

            got: list[tuple[str, str, dict[str, str]]] = []
            done = trio.Event()

            async def on_stream(reader):  # type: ignore[no-untyped-def]
                text = await reader.read_all()
                got.append((reader.info.topic, text, reader.final_attributes))
                done.set()

            room.register_text_stream_handler("echo:lk.transcription", on_stream)
            async with room.open_text_stream(
                "lk.transcription", attributes={"lk.segment_id": "S1"}
            ) as writer:
                await writer.write("Hello ")
                await writer.write("wörld" * 4000)  # > 15 kB: split on UTF-8 boundaries
            await done.wait()
            assert got[0][0] == "echo:lk.transcription"
            assert got[0][1] == "Hello " + "wörld" * 4000
            assert got[0][2]["lk.segment_id"] == "S1"

            await room.set_attributes({"lk.agent.state": "listening"})
            assert room.local_participant.attributes["lk.agent.state"] == "listening"
            assert server.attribute_updates == [{"lk.agent.state": "listening"}]


async def test_rpc_handler_called_by_peer() -> None:
    from trioagents.rtc import RpcInvocation

    calls: list[RpcInvocation] = []

    async def handler(invocation: RpcInvocation) -> str:
        calls.append(invocation)
        return invocation.payload[::-1]

    with trio.fail_after(10):
        async with open_fake_server() as server, open_room(server.url, make_token()) as room:
            room.register_rpc_method("reverse", handler)
            await room.send_data(b"open", destination_identities=["bot"])  # data channels up
            await next_event(room, DataReceived)
            server.call_client("reverse", "abc")
            server.call_client("nope", "abc", request_id="req-2")
            while sum(p.WhichOneof("value") == "rpc_response" for p in server.received_packets) < 2:
                await server.changed.wait()
            responses = {
                p.rpc_response.request_id: p.rpc_response
                for p in server.received_packets
                if p.WhichOneof("value") == "rpc_response"
            }
            assert responses["req-1"].payload == "cba"
            assert responses["req-2"].error.code == 1400
            acks = [p for p in server.received_packets if p.WhichOneof("value") == "rpc_ack"]
            assert len(acks) == 2
            assert calls[0].caller_identity == "bot"


async def test_token_in_query_and_options() -> None:
    with trio.fail_after(10):
        async with open_fake_server() as server:
            options = RoomOptions(token_in_query=True)
            async with open_room(server.url, make_token(), options):
                pass
            assert server.auth_headers == [False]


async def test_nothing_survives_the_room_scope() -> None:
    """With an explicit bridge: after the room's block no asyncio task is left on it."""
    import asyncio

    from trioagents.core import LocalProtocolError
    from trioagents.transport import open_asyncio_bridge

    async def tasks_left() -> int:
        return len(asyncio.all_tasks()) - 1  # minus this one

    with trio.fail_after(10):
        async with open_fake_server() as server, open_asyncio_bridge() as bridge:
            async with (
                open_room(server.url, make_token(), bridge=bridge) as room,
                room.subscribe_audio("TR_bot") as stream,
                room.publish_audio() as source,
            ):
                async for _ in stream:
                    break
                await source.capture_frame(AudioFrame.from_mono(tone(440.0, 0.02), 48000))
                with pytest.raises(LocalProtocolError):
                    await room.send_data(b"x" * 15_001)
                assert await bridge.run(tasks_left) > 0
            assert await bridge.run(tasks_left) == 0
        assert bridge.statistics().leftover_tasks == 0
        assert bridge.statistics().joined


async def test_late_subscriber_gets_fresh_audio_not_a_backlog() -> None:
    """Unread tracks are drained from arrival: subscribing later yields real-time frames."""
    with trio.fail_after(10):
        async with open_fake_server() as server, open_room(server.url, make_token()) as room:
            await trio.sleep(1.5)  # the bot's tone has been arriving all along
            assert room.statistics().audio_frames_discarded > 25
            async with room.subscribe_audio("TR_bot") as stream:
                count = 0
                with trio.move_on_after(0.5):
                    async for _ in stream:
                        count += 1
            assert 10 <= count <= 35  # ~25 frames of 20 ms, not 1.5 s of backlog at once


@pytest.mark.parametrize("cancel_after", [0.0, 0.01, 0.03, 0.06, 0.3])
async def test_cancelling_at_any_point_leaves_nothing_behind(cancel_after: float) -> None:
    """Cancel the room's owner during connect, negotiation, ICE/DTLS or streaming."""
    import asyncio

    from trioagents.transport import open_asyncio_bridge

    async def tasks_left() -> list[str]:
        me = asyncio.current_task()
        return [repr(t.get_coro())[:150] for t in asyncio.all_tasks() if t is not me]

    with trio.fail_after(10):
        async with open_fake_server() as server, open_asyncio_bridge() as bridge:
            with trio.move_on_after(cancel_after):
                async with (
                    open_room(server.url, make_token(), bridge=bridge) as room,
                    room.publish_audio() as source,
                    room.subscribe_audio("TR_bot") as stream,
                ):
                    await source.capture_frame(AudioFrame.from_mono(tone(440.0, 0.02), 48000))
                    async for _ in stream:
                        pass
            started = trio.current_time()
            assert await bridge.run(tasks_left) == []
            assert trio.current_time() - started < 1


async def test_a_track_offered_while_the_subscriber_connects_is_heard() -> None:
    """livekit-server renegotiates the subscriber PC when a track appears while we
    join; answered during the first DTLS handshake, aiortc would never start that
    track's receiver (silence for the whole call). The room answers it once the
    subscriber PC is up, and hears the track."""
    with trio.fail_after(15):
        async with open_fake_server() as server:
            server.late_track = True
            async with open_room(server.url, make_token()) as room:
                received = []
                async with room.subscribe_audio("TR_bot", sample_rate=16000) as stream:
                    async for frame in stream:
                        received.append(frame.data[:, 0])
                        if sum(map(len, received)) >= 16000:
                            break
                assert server.subscriber_answers == 2
    samples = np.concatenate(received)[4000:]
    assert np.abs(samples).max() > 1000
    assert abs(dominant_frequency(samples, 16000) - BOT_TONE_HZ) < 5
