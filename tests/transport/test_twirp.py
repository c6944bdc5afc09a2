"""LiveKitAPI against the tiny Twirp server on 127.0.0.1 (real HTTP through httpx)."""

from __future__ import annotations

import socket
import time
from functools import partial

import httpx
import pytest
import trio
from livekit.protocol import agent_dispatch as dispatch_pb

from trioagents.core import ConnectError, ConnectionClosedError, RemoteProtocolError
from trioagents.protocol import verify_token
from trioagents.transport import LiveKitAPI, LiveKitAPIError, open_livekit_api

from .test_twirp_server import API_KEY, API_SECRET, FakeLiveKit, start_fake_livekit


@pytest.fixture
async def fake_livekit(nursery: trio.Nursery) -> FakeLiveKit:
    return await start_fake_livekit(nursery)


async def test_room_service_round_trip(fake_livekit: FakeLiveKit) -> None:
    async with open_livekit_api(fake_livekit.url, API_KEY, API_SECRET) as api:
        room = await api.create_room("lobby", metadata="m")
        assert (room.name, room.metadata) == ("lobby", "m")
        await api.create_room("kitchen")
        assert [r.name for r in await api.list_rooms()] == ["kitchen", "lobby"]
        assert [r.name for r in await api.list_rooms(["lobby"])] == ["lobby"]
        fake_livekit.add_participant("lobby", "alice")
        fake_livekit.add_participant("lobby", "agent-1", agent=True)
        people = await api.list_participants("lobby")
        assert [p.identity for p in people] == ["alice", "agent-1"]
        await api.remove_participant("lobby", "alice")
        assert [p.identity for p in await api.list_participants("lobby")] == ["agent-1"]
        await api.delete_room("kitchen")
        assert [r.name for r in await api.list_rooms()] == ["lobby"]
    methods = [c.method for c in fake_livekit.calls]
    assert methods[:2] == ["CreateRoom", "CreateRoom"]
    assert "DeleteRoom" in methods


async def test_dispatch_service_round_trip(fake_livekit: FakeLiveKit) -> None:
    async with open_livekit_api(fake_livekit.url.replace("http", "ws"), API_KEY, API_SECRET) as api:
        created = await api.create_dispatch("lobby", "support", metadata='{"k":1}')
        assert created.id.startswith("AD_")
        assert (created.agent_name, created.room, created.metadata) == (
            "support",
            "lobby",
            '{"k":1}',
        )
        listed = await api.list_dispatch("lobby")
        assert [d.id for d in listed] == [created.id]
        assert await api.list_dispatch("lobby", dispatch_id="AD_nope") == []
        deleted = await api.delete_dispatch("lobby", created.id)
        assert deleted.id == created.id
        assert await api.list_dispatch("lobby") == []


async def test_each_call_gets_a_fresh_token_with_only_its_grant() -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        claims = verify_token(token, {API_KEY: API_SECRET})
        grants = {k: v for k, v in vars_of(claims.video).items() if v is not None}
        seen.append((request.url.path, grants))
        assert request.headers["content-type"] == "application/protobuf"
        assert claims.expires_at <= time.time() + 601  # short-lived: ten minutes
        return httpx.Response(200, content=b"")

    async with open_livekit_api(
        "http://lk.test", API_KEY, API_SECRET, transport=httpx.MockTransport(handler)
    ) as api:
        await api.list_rooms()
        await api.create_room("r")
        await api.list_participants("r")
        await api.create_dispatch("r", "a")
    assert seen == [
        ("/twirp/livekit.RoomService/ListRooms", {"room_list": True}),
        ("/twirp/livekit.RoomService/CreateRoom", {"room_create": True}),
        ("/twirp/livekit.RoomService/ListParticipants", {"room_admin": True, "room": "r"}),
        ("/twirp/livekit.AgentDispatchService/CreateDispatch", {"room_admin": True, "room": "r"}),
    ]


def vars_of(grants: object) -> dict[str, object]:
    return {name: getattr(grants, name) for name in grants.__slots__}  # type: ignore[attr-defined]


async def test_twirp_error_body_is_mapped(fake_livekit: FakeLiveKit) -> None:
    async with open_livekit_api(fake_livekit.url, API_KEY, API_SECRET) as api:
        with pytest.raises(LiveKitAPIError) as info:
            await api.delete_room("missing")
        assert (info.value.code, info.value.status, info.value.method) == (
            "not_found",
            404,
            "DeleteRoom",
        )
        assert info.value.server_message == "room not found"
        assert "room not found" not in str(info.value)
        fake_livekit.fail_next("ListRooms", 503, b"<html>upstream down</html>")
        with pytest.raises(LiveKitAPIError) as info:
            await api.list_rooms()
        assert (info.value.code, info.value.status) == ("unavailable", 503)


async def test_wrong_secret_is_unauthenticated(fake_livekit: FakeLiveKit) -> None:
    async with open_livekit_api(fake_livekit.url, API_KEY, "not-the-secret") as api:
        with pytest.raises(LiveKitAPIError) as info:
            await api.list_rooms()
    assert (info.value.code, info.value.status) == ("unauthenticated", 401)


async def test_refused_connection_is_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with open_livekit_api(f"http://127.0.0.1:{port}", API_KEY, API_SECRET) as api:
        with pytest.raises(ConnectError):
            await api.list_rooms()


async def test_broken_connection_and_bad_body_are_mapped() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("reset", request=request)

    async with open_livekit_api(
        "http://lk.test", API_KEY, API_SECRET, transport=httpx.MockTransport(broken)
    ) as api:
        with pytest.raises(ConnectionClosedError):
            await api.list_rooms()

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"\xff\xff\xff")

    async with open_livekit_api(
        "http://lk.test", API_KEY, API_SECRET, transport=httpx.MockTransport(garbage)
    ) as api:
        with pytest.raises(RemoteProtocolError) as info:
            await api.list_rooms()
    assert info.value.payload == b"\xff\xff\xff"


async def test_cancellation_aborts_a_hanging_call() -> None:
    never = trio.Event()

    async def hang(stream: trio.SocketStream) -> None:
        await never.wait()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, hang, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        async with open_livekit_api(f"http://127.0.0.1:{port}", API_KEY, API_SECRET) as api:
            with trio.move_on_after(0.2) as scope:
                await api.list_rooms()
        assert scope.cancelled_caught
        nursery.cancel_scope.cancel()


async def test_an_existing_http_client_and_ws_urls() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, content=b"")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        api = LiveKitAPI("wss://lk.example/", API_KEY, API_SECRET, http=http)
        await api.list_rooms()
        api = LiveKitAPI("ws://127.0.0.1:7880", API_KEY, API_SECRET, http=http)
        await api.delete_room("r")
    assert urls == [
        "https://lk.example/twirp/livekit.RoomService/ListRooms",
        "http://127.0.0.1:7880/twirp/livekit.RoomService/DeleteRoom",
    ]


async def test_create_room_sends_agent_dispatches(fake_livekit: FakeLiveKit) -> None:
    async with open_livekit_api(fake_livekit.url, API_KEY, API_SECRET) as api:
        agents = [dispatch_pb.RoomAgentDispatch(agent_name="support", metadata="m")]
        await api.create_room("lobby", empty_timeout=30, agents=agents)
    request = fake_livekit.calls[0].request
    assert request.empty_timeout == 30  # type: ignore[attr-defined]
    assert [(a.agent_name, a.metadata) for a in request.agents] == [("support", "m")]  # type: ignore[attr-defined]
    assert fake_livekit.calls[0].identity == "trioagents-api"
