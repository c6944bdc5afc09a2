"""``/rtc`` signalling against a running dev server, with a raw protobuf client."""

from __future__ import annotations

import pytest
import trio
import trio_websocket
from livekit.protocol import models, rtc

from trioagents.devserver import open_devserver
from trioagents.protocol import VideoGrants

from ._client import drain_until_closed, join_token, open_rtc, recv_signal, recv_until, send

pytestmark = pytest.mark.slow


async def test_join_response_is_first_and_complete_then_a_subscriber_offer() -> None:
    with trio.fail_after(10):
        async with (
            open_devserver() as server,
            open_rtc(server, join_token(server, "alice", name="Alice")) as ws,
        ):
            first = await recv_signal(ws)
            assert first.WhichOneof("message") == "join"
            join = first.join
            assert join.participant.sid.startswith("PA_")
            assert join.participant.name == "Alice"
            assert join.room.sid.startswith("RM_")
            assert join.room.name == "room"
            assert (join.ping_interval, join.ping_timeout) == (5, 15)
            assert join.subscriber_primary
            assert not join.fast_publish
            assert join.server_info.protocol == 17
            assert join.server_version == "1.9.0"
            offer = await recv_until(ws, "offer")
            assert "m=application" in offer.offer.sdp
            assert offer.offer.type == "offer"


async def test_ping_variants_are_answered() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server, open_rtc(server, join_token(server, "a")) as ws:
            await recv_signal(ws)
            await send(ws, rtc.SignalRequest(ping_req=rtc.Ping(timestamp=1234, rtt=5)))
            pong = await recv_until(ws, "pong_resp")
            assert pong.pong_resp.last_ping_timestamp == 1234
            assert pong.pong_resp.timestamp > 0
            await send(ws, rtc.SignalRequest(ping=99))
            assert (await recv_until(ws, "pong")).pong > 0


async def test_others_learn_of_joins_and_leaves() -> None:
    with trio.fail_after(10):
        async with (
            open_devserver() as server,
            open_rtc(server, join_token(server, "alice")) as alice,
        ):
            await recv_signal(alice)
            async with open_rtc(server, join_token(server, "bob")) as bob:
                bob_join = (await recv_signal(bob)).join
                assert [p.identity for p in bob_join.other_participants] == ["alice"]
                update = await recv_until(alice, "update")
                assert update.update.participants[0].identity == "bob"
                await send(
                    bob,
                    rtc.SignalRequest(
                        leave=rtc.LeaveRequest(reason=models.DisconnectReason.CLIENT_INITIATED)
                    ),
                )
                with pytest.raises(trio_websocket.ConnectionClosed):
                    await drain_until_closed(bob)
            while True:
                update = await recv_until(alice, "update")
                bob_info = update.update.participants[0]
                if bob_info.state == models.ParticipantInfo.DISCONNECTED:
                    break
            assert bob_info.identity == "bob"
            assert server.statistics().participants == 1


async def test_duplicate_identity_evicts_the_older_connection() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server, open_rtc(server, join_token(server, "same")) as old:
            await recv_signal(old)
            async with open_rtc(server, join_token(server, "same")) as new:
                await recv_signal(new)
                leave = await recv_until(old, "leave")
                assert leave.leave.reason == models.DisconnectReason.DUPLICATE_IDENTITY
                with pytest.raises(trio_websocket.ConnectionClosed):
                    await drain_until_closed(old)
                assert server.statistics().participants == 1


async def test_metadata_updates_need_the_grant_and_always_get_a_response() -> None:
    allowed = VideoGrants(room_join=True, room="room", can_update_own_metadata=True)
    with trio.fail_after(10):
        async with open_devserver() as server:
            async with open_rtc(server, join_token(server, "yes", video=allowed)) as ws:
                await recv_signal(ws)
                request = rtc.UpdateParticipantMetadata(attributes={"k": "v"}, request_id=7)
                await send(ws, rtc.SignalRequest(update_metadata=request))
                response = await recv_until(ws, "request_response")
                assert response.request_response.request_id == 7
                assert response.request_response.reason == rtc.RequestResponse.OK
                update = await recv_until(ws, "update")
                assert dict(update.update.participants[0].attributes) == {"k": "v"}
            async with open_rtc(server, join_token(server, "no")) as ws:
                await recv_signal(ws)
                await send(
                    ws,
                    rtc.SignalRequest(
                        update_metadata=rtc.UpdateParticipantMetadata(name="x", request_id=8)
                    ),
                )
                response = await recv_until(ws, "request_response")
                assert response.request_response.reason == rtc.RequestResponse.NOT_ALLOWED


async def test_add_track_is_answered_at_once_or_refused() -> None:
    listen_only = VideoGrants(room_join=True, room="room", can_publish=False)
    with trio.fail_after(10):
        async with open_devserver() as server:
            async with open_rtc(server, join_token(server, "pub")) as ws:
                await recv_signal(ws)
                add = rtc.AddTrackRequest(
                    cid="mic-1", name="mic", type=models.AUDIO, source=models.MICROPHONE
                )
                await send(ws, rtc.SignalRequest(add_track=add))
                published = (await recv_until(ws, "track_published")).track_published
                assert published.cid == "mic-1"
                assert published.track.sid.startswith("TR_")
            async with open_rtc(server, join_token(server, "quiet", video=listen_only)) as ws:
                await recv_signal(ws)
                await send(
                    ws, rtc.SignalRequest(add_track=rtc.AddTrackRequest(cid="c", type=models.AUDIO))
                )
                refused = (await recv_until(ws, "request_response")).request_response
                assert refused.reason == rtc.RequestResponse.NOT_ALLOWED


async def test_resume_is_refused_so_clients_rejoin() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            params = {"reconnect": "1", "sid": "PA_old"}
            async with open_rtc(server, join_token(server, "a"), params=params) as ws:
                leave = (await recv_signal(ws)).leave
                assert leave.reason == models.DisconnectReason.STATE_MISMATCH
                assert leave.action == rtc.LeaveRequest.RECONNECT


@pytest.mark.parametrize(
    "frame", [b"\xff\xff\xff", b"", "text frame", rtc.SignalRequest().SerializeToString()]
)
async def test_garbage_closes_the_connection_with_a_protocol_error(frame: bytes | str) -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            async with open_rtc(server, join_token(server, "a")) as ws:
                await recv_signal(ws)
                await ws.send_message(frame)
                with pytest.raises(trio_websocket.ConnectionClosed) as info:
                    await drain_until_closed(ws)
                assert info.value.reason.code == 1002
            assert server.statistics().participants == 0
            async with open_rtc(server, join_token(server, "b")) as ws:  # still serving
                assert (await recv_signal(ws)).join.participant.identity == "b"
