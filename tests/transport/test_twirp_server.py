"""A tiny LiveKit Twirp server (h11 on a Trio socket) for client and supervisor tests.

It keeps rooms, participants and dispatches in memory, checks tokens and grants like
the reference server, answers protobuf, and can be told to fail calls. Tests of the
server itself are at the bottom (a fake that cannot fail is no fake).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import h11
import trio
from google.protobuf.message import DecodeError, Message
from livekit.protocol import agent_dispatch as dispatch_pb
from livekit.protocol import models as models_pb
from livekit.protocol import room as room_pb

from trioagents.protocol import AuthError, authorize_grant, verify_token

API_KEY = "devkey"
API_SECRET = "secret"


@dataclass
class Call:
    method: str
    request: Message
    identity: str


@dataclass
class FakeLiveKit:
    rooms: dict[str, models_pb.Room] = field(default_factory=dict)
    participants: dict[str, list[models_pb.ParticipantInfo]] = field(default_factory=dict)
    dispatches: dict[str, list[dispatch_pb.AgentDispatch]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, method: str, status: int = 500, body: bytes | None = None) -> None:
        payload = (
            body if body is not None else json.dumps({"code": "internal", "msg": "boom"}).encode()
        )
        self.failures.setdefault(method, []).append((status, payload))

    def add_participant(self, room: str, identity: str, *, agent: bool = False) -> None:
        self.rooms.setdefault(room, models_pb.Room(name=room, sid=f"RM_{room}"))
        kind = (
            models_pb.ParticipantInfo.Kind.AGENT
            if agent
            else models_pb.ParticipantInfo.Kind.STANDARD
        )
        info = models_pb.ParticipantInfo(identity=identity, sid=f"PA_{identity}", kind=kind)
        self.participants.setdefault(room, []).append(info)

    def remove(self, room: str, identity: str) -> None:
        self.participants[room] = [
            p for p in self.participants.get(room, []) if p.identity != identity
        ]

    # request handling

    def handle(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        prefix = "/twirp/livekit."
        if not target.startswith(prefix) or "/" not in target[len(prefix) :]:
            return _error(404, "bad_route", "no such method")
        method = target[len(prefix) :].split("/", 1)[1]
        route = _ROUTES.get(method)
        if route is None:
            return _error(404, "bad_route", "no such method")
        request_type, grant, handler = route
        request = request_type()
        try:
            request.ParseFromString(body)
        except DecodeError:
            return _error(400, "malformed", "bad protobuf")
        token = headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = verify_token(token, {API_KEY: API_SECRET})
            authorize_grant(
                claims, grant, getattr(request, "room", None) if grant == "room_admin" else None
            )
        except AuthError as exc:
            status, code = (
                (401, "unauthenticated")
                if exc.reason != "missing_grant" and exc.reason != "wrong_room"
                else (403, "permission_denied")
            )
            return _error(status, code, str(exc))
        self.calls.append(Call(method, request, claims.identity))
        if self.failures.get(method):
            return self.failures[method].pop(0)
        return handler(self, request)

    def _create_room(self, request: Any) -> tuple[int, bytes]:
        room = self.rooms.setdefault(
            request.name, models_pb.Room(name=request.name, sid=f"RM_{request.name}")
        )
        room.metadata = request.metadata
        return 200, room.SerializeToString()

    def _list_rooms(self, request: Any) -> tuple[int, bytes]:
        rooms = [
            r for n, r in sorted(self.rooms.items()) if not request.names or n in request.names
        ]
        return 200, room_pb.ListRoomsResponse(rooms=rooms).SerializeToString()

    def _delete_room(self, request: Any) -> tuple[int, bytes]:
        if self.rooms.pop(request.room, None) is None:
            return _error(404, "not_found", "room not found")
        self.participants.pop(request.room, None)
        self.dispatches.pop(request.room, None)
        return 200, b""

    def _list_participants(self, request: Any) -> tuple[int, bytes]:
        if request.room not in self.rooms:
            return _error(404, "not_found", "room not found")
        found = self.participants.get(request.room, [])
        return 200, room_pb.ListParticipantsResponse(participants=found).SerializeToString()

    def _remove_participant(self, request: Any) -> tuple[int, bytes]:
        before = len(self.participants.get(request.room, []))
        self.remove(request.room, request.identity)
        if len(self.participants.get(request.room, [])) == before:
            return _error(404, "not_found", "participant not found")
        return 200, b""

    def _create_dispatch(self, request: Any) -> tuple[int, bytes]:
        self.rooms.setdefault(
            request.room, models_pb.Room(name=request.room, sid=f"RM_{request.room}")
        )
        found = self.dispatches.setdefault(request.room, [])
        dispatch = dispatch_pb.AgentDispatch(
            id=f"AD_{len(found)}",
            agent_name=request.agent_name,
            room=request.room,
            metadata=request.metadata,
        )
        found.append(dispatch)
        return 200, dispatch.SerializeToString()

    def _list_dispatch(self, request: Any) -> tuple[int, bytes]:
        found = [
            d
            for d in self.dispatches.get(request.room, [])
            if not request.dispatch_id or d.id == request.dispatch_id
        ]
        return 200, dispatch_pb.ListAgentDispatchResponse(
            agent_dispatches=found
        ).SerializeToString()

    def _delete_dispatch(self, request: Any) -> tuple[int, bytes]:
        found = self.dispatches.get(request.room, [])
        for dispatch in found:
            if dispatch.id == request.dispatch_id:
                found.remove(dispatch)
                return 200, dispatch.SerializeToString()
        return _error(404, "not_found", "dispatch not found")


Handler = Callable[[FakeLiveKit, Any], tuple[int, bytes]]
_ROUTES: dict[str, tuple[type[Message], str, Handler]] = {
    "CreateRoom": (room_pb.CreateRoomRequest, "room_create", FakeLiveKit._create_room),
    "ListRooms": (room_pb.ListRoomsRequest, "room_list", FakeLiveKit._list_rooms),
    "DeleteRoom": (room_pb.DeleteRoomRequest, "room_create", FakeLiveKit._delete_room),
    "ListParticipants": (
        room_pb.ListParticipantsRequest,
        "room_admin",
        FakeLiveKit._list_participants,
    ),
    "RemoveParticipant": (
        room_pb.RoomParticipantIdentity,
        "room_admin",
        FakeLiveKit._remove_participant,
    ),
    "CreateDispatch": (
        dispatch_pb.CreateAgentDispatchRequest,
        "room_admin",
        FakeLiveKit._create_dispatch,
    ),
    "ListDispatch": (
        dispatch_pb.ListAgentDispatchRequest,
        "room_admin",
        FakeLiveKit._list_dispatch,
    ),
    "DeleteDispatch": (
        dispatch_pb.DeleteAgentDispatchRequest,
        "room_admin",
        FakeLiveKit._delete_dispatch,
    ),
}


def _error(status: int, code: str, msg: str) -> tuple[int, bytes]:
    return status, json.dumps({"code": code, "msg": msg}).encode()


async def _serve_connection(fake: FakeLiveKit, stream: trio.SocketStream) -> None:
    connection = h11.Connection(h11.SERVER)
    while True:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                if not data and connection.their_state is h11.IDLE:
                    return
                connection.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return
        assert request is not None
        headers = {k.decode().lower(): v.decode() for k, v in request.headers}
        status, payload = fake.handle(request.target.decode(), headers, bytes(body))
        content_type = b"application/protobuf" if status == 200 else b"application/json"
        for event_out in (
            h11.Response(
                status_code=status,
                headers=[
                    (b"content-type", content_type),
                    (b"content-length", str(len(payload)).encode()),
                ],
            ),
            h11.Data(data=payload),
            h11.EndOfMessage(),
        ):
            await stream.send_all(connection.send(event_out) or b"")
        if connection.our_state is h11.MUST_CLOSE:
            return
        connection.start_next_cycle()


async def start_fake_livekit(nursery: trio.Nursery, fake: FakeLiveKit | None = None) -> FakeLiveKit:
    """Serve ``fake`` on 127.0.0.1 (random port) in ``nursery``; returns it with ``port`` set."""
    fake = fake or FakeLiveKit()

    async def handler(stream: trio.SocketStream) -> None:
        async with stream:
            await _serve_connection(fake, stream)

    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    fake.port = listeners[0].socket.getsockname()[1]
    return fake


# The fake's own behaviour (the client tests rely on it rejecting bad tokens).


def test_fake_rejects_missing_and_wrong_grants() -> None:
    fake = FakeLiveKit()
    status, body = fake.handle("/twirp/livekit.RoomService/ListRooms", {}, b"")
    assert (status, json.loads(body)["code"]) == (401, "unauthenticated")
    from trioagents.protocol import VideoGrants, mint_token

    token = mint_token(API_KEY, API_SECRET, identity="x", video=VideoGrants(room_create=True))
    status, body = fake.handle(
        "/twirp/livekit.RoomService/ListRooms", {"authorization": f"Bearer {token}"}, b""
    )
    assert (status, json.loads(body)["code"]) == (403, "permission_denied")
    assert fake.calls == []


def test_fake_unknown_route() -> None:
    status, body = FakeLiveKit().handle("/twirp/livekit.RoomService/Nope", {}, b"")
    assert (status, json.loads(body)["code"]) == (404, "bad_route")
