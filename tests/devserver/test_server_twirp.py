"""Twirp RoomService and AgentDispatchService over HTTP, protobuf and JSON."""

from __future__ import annotations

import pytest
import trio
from google.protobuf import json_format
from livekit.protocol import agent_dispatch, models, room

from trioagents.devserver import open_devserver

from ._client import admin_token, join_token, open_rtc, recv_signal, recv_until, twirp

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("as_json", [False, True])
async def test_create_list_delete_rooms(as_json: bool) -> None:
    def parse(response: object, kind: type) -> object:
        assert response.status_code == 200, response.text  # type: ignore[attr-defined]
        if as_json:
            return json_format.Parse(response.text, kind())  # type: ignore[attr-defined]
        return kind.FromString(response.content)  # type: ignore[attr-defined]

    with trio.fail_after(10):
        async with open_devserver() as server:
            create = admin_token(server, room_create=True)
            made = parse(
                await twirp(
                    server,
                    "RoomService/CreateRoom",
                    room.CreateRoomRequest(name="a", metadata="m"),
                    create,
                    as_json=as_json,
                ),
                models.Room,
            )
            assert made.sid.startswith("RM_")
            assert made.metadata == "m"
            await twirp(
                server,
                "RoomService/CreateRoom",
                room.CreateRoomRequest(name="b"),
                create,
                as_json=as_json,
            )
            lister = admin_token(server, room_list=True)
            listed = parse(
                await twirp(
                    server,
                    "RoomService/ListRooms",
                    room.ListRoomsRequest(),
                    lister,
                    as_json=as_json,
                ),
                room.ListRoomsResponse,
            )
            assert sorted(r.name for r in listed.rooms) == ["a", "b"]  # type: ignore[attr-defined]
            only = parse(
                await twirp(
                    server,
                    "RoomService/ListRooms",
                    room.ListRoomsRequest(names=["b"]),
                    lister,
                    as_json=as_json,
                ),
                room.ListRoomsResponse,
            )
            assert [r.name for r in only.rooms] == ["b"]  # type: ignore[attr-defined]
            deleted = await twirp(
                server,
                "RoomService/DeleteRoom",
                room.DeleteRoomRequest(room="a"),
                create,
                as_json=as_json,
            )
            assert deleted.status_code == 200
            again = await twirp(
                server,
                "RoomService/DeleteRoom",
                room.DeleteRoomRequest(room="a"),
                create,
                as_json=as_json,
            )
            assert again.status_code == 404
            assert again.json()["code"] == "not_found"
            assert sorted(server.registry.rooms) == ["b"]


async def test_grants_are_checked_with_twirp_error_codes() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            request = room.CreateRoomRequest(name="a")
            denied = await twirp(
                server, "RoomService/CreateRoom", request, admin_token(server, room_list=True)
            )
            assert denied.status_code == 403
            assert denied.json()["code"] == "permission_denied"
            assert "roomCreate" in denied.json()["msg"]
            garbage = await twirp(server, "RoomService/CreateRoom", request, "garbage")
            assert garbage.status_code == 401
            assert garbage.json()["code"] == "unauthenticated"
            other_room = admin_token(server, room="x", room_admin=True)
            wrong = await twirp(
                server,
                "RoomService/ListParticipants",
                room.ListParticipantsRequest(room="y"),
                other_room,
            )
            assert wrong.status_code == 403
            assert "different room" in wrong.json()["msg"]
            roomless = admin_token(server, room_admin=True)
            for method, request_for_room in (
                ("RoomService/ListParticipants", room.ListParticipantsRequest(room="y")),
                ("AgentDispatchService/CreateDispatch", _dispatch_request("y")),
            ):
                nowhere = await twirp(server, method, request_for_room, roomless)
                assert nowhere.status_code == 403, method
                assert "video.room" in nowhere.json()["msg"]
            assert "y" not in server.registry.rooms
            unknown = await twirp(server, "RoomService/Nope", request, "garbage")
            assert unknown.status_code == 404
            assert unknown.json()["code"] == "bad_route"


def _dispatch_request(room_name: str) -> agent_dispatch.CreateAgentDispatchRequest:
    return agent_dispatch.CreateAgentDispatchRequest(room=room_name, agent_name="a")


async def test_list_and_remove_participants() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            admin = admin_token(server, room="room", room_admin=True)
            async with open_rtc(server, join_token(server, "alice")) as ws:
                await recv_signal(ws)
                listed = await twirp(
                    server,
                    "RoomService/ListParticipants",
                    room.ListParticipantsRequest(room="room"),
                    admin,
                )
                identities = [
                    p.identity
                    for p in room.ListParticipantsResponse.FromString(listed.content).participants
                ]
                assert identities == ["alice"]
                got = await twirp(
                    server,
                    "RoomService/GetParticipant",
                    room.RoomParticipantIdentity(room="room", identity="alice"),
                    admin,
                )
                assert models.ParticipantInfo.FromString(got.content).identity == "alice"
                removed = await twirp(
                    server,
                    "RoomService/RemoveParticipant",
                    room.RoomParticipantIdentity(room="room", identity="alice"),
                    admin,
                )
                assert removed.status_code == 200
                leave = await recv_until(ws, "leave")
                assert leave.leave.reason == models.DisconnectReason.PARTICIPANT_REMOVED
            missing = await twirp(
                server,
                "RoomService/GetParticipant",
                room.RoomParticipantIdentity(room="room", identity="alice"),
                admin,
            )
            assert missing.status_code == 404


async def test_dispatch_create_list_delete() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            admin = admin_token(server, room="r", room_admin=True)
            created = await twirp(
                server,
                "AgentDispatchService/CreateDispatch",
                agent_dispatch.CreateAgentDispatchRequest(
                    agent_name="helper", room="r", metadata="md"
                ),
                admin,
                as_json=True,
            )
            assert created.status_code == 200, created.text
            dispatch = json_format.Parse(created.text, agent_dispatch.AgentDispatch())
            assert dispatch.id.startswith("AD_")
            assert dispatch.agent_name == "helper"
            assert "r" in server.registry.rooms  # created on demand
            listed = await twirp(
                server,
                "AgentDispatchService/ListDispatch",
                agent_dispatch.ListAgentDispatchRequest(room="r"),
                admin,
            )
            found = agent_dispatch.ListAgentDispatchResponse.FromString(
                listed.content
            ).agent_dispatches
            assert [(d.id, d.metadata) for d in found] == [(dispatch.id, "md")]
            deleted = await twirp(
                server,
                "AgentDispatchService/DeleteDispatch",
                agent_dispatch.DeleteAgentDispatchRequest(dispatch_id=dispatch.id, room="r"),
                admin,
            )
            assert deleted.status_code == 200
            assert agent_dispatch.AgentDispatch.FromString(deleted.content).state.deleted_at > 0
            gone = await twirp(
                server,
                "AgentDispatchService/DeleteDispatch",
                agent_dispatch.DeleteAgentDispatchRequest(dispatch_id=dispatch.id, room="r"),
                admin,
            )
            assert gone.status_code == 404
