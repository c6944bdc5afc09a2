"""Resource limits of a running dev server: name lengths, open connections, the
``/agent`` register timeout (real sockets on loopback)."""

from __future__ import annotations

import json
import logging

import pytest
import trio
import trio.testing
import trio_websocket
from livekit.protocol import agent_dispatch, room

from trioagents.core import ConfigurationError
from trioagents.devserver import DevServer, DevServerOptions, open_devserver

from ._client import (
    admin_token,
    drain_until_closed,
    http_get,
    join_token,
    open_agent,
    raw_upgrade,
    twirp,
)

pytestmark = pytest.mark.slow

ROOM_LIMIT_TEXT = "room name length exceeds limits: max length 256"


async def create_room(server: DevServer, name: str) -> tuple[int, dict[str, str]]:
    token = admin_token(server, room_create=True)
    response = await twirp(
        server, "RoomService/CreateRoom", room.CreateRoomRequest(name=name), token
    )
    body = json.loads(response.content) if response.status_code != 200 else {}
    return response.status_code, body


def _refusals(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


async def test_a_900_kb_room_name_is_refused_on_create_room(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Seen in an attack run: CreateRoom accepted a 900 KB room name and kept it.
    with trio.fail_after(10):
        async with open_devserver() as server:
            status, body = await create_room(server, "r" * 900_000)
            assert status == 400
            assert body == {"code": "invalid_argument", "msg": ROOM_LIMIT_TEXT}
            assert server.statistics().rooms == 0
            assert len(_refusals(caplog, ROOM_LIMIT_TEXT)) == 1
            assert "rrrr" not in caplog.text  # the name itself is not logged


async def test_the_room_name_limit_counts_utf8_bytes_like_livekit_server() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            assert (await create_room(server, "r" * 256))[0] == 200
            assert (await create_room(server, "r" * 257))[0] == 400
            assert (await create_room(server, "é" * 128))[0] == 200  # 256 bytes
            assert (await create_room(server, "é" * 129))[0] == 400  # 129 chars, 258 bytes
            assert server.statistics().rooms == 2


async def test_create_dispatch_refuses_a_room_name_over_the_limit() -> None:
    with trio.fail_after(10):
        async with open_devserver(DevServerOptions(max_room_name_length=8)) as server:
            name = "123456789"
            request = agent_dispatch.CreateAgentDispatchRequest(room=name, agent_name="a")
            token = admin_token(server, room=name, room_admin=True)
            response = await twirp(server, "AgentDispatchService/CreateDispatch", request, token)
            assert response.status_code == 400
            assert json.loads(response.content)["msg"] == (
                "room name length exceeds limits: max length 8"
            )
            assert server.statistics().rooms == 0


async def test_rtc_refuses_a_room_name_or_identity_over_the_limit_with_400(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            long_room = join_token(server, "alice", room="r" * 257)
            auth = {"authorization": f"Bearer {long_room}"}
            assert await raw_upgrade(server, "/rtc?protocol=17", auth) == (400, ROOM_LIMIT_TEXT)
            validate = await http_get(server, "/rtc/validate", auth)
            assert (validate.status_code, validate.text) == (400, ROOM_LIMIT_TEXT)
            long_identity = join_token(server, "i" * 257)
            auth = {"authorization": f"Bearer {long_identity}"}
            assert await raw_upgrade(server, "/rtc?protocol=17", auth) == (
                400,
                "participant identity length exceeds limits: max length 256",
            )
            assert server.statistics().rooms == 0
            assert len(_refusals(caplog, "refusing /rtc connection")) == 3
            fine = {"authorization": f"Bearer {join_token(server, 'i' * 256, room='r' * 256)}"}
            assert (await raw_upgrade(server, "/rtc?protocol=17", fine))[0] == 101


async def _http_get_raw(server: DevServer) -> tuple[int, bytes]:
    """One ``GET /`` over its own TCP connection; (status, body) once the server closed."""
    import h11

    client = h11.Connection(h11.CLIENT)
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    async with stream:
        request = h11.Request(method="GET", target="/", headers=[("host", "x")])
        await stream.send_all(client.send(request) + client.send(h11.EndOfMessage()))
        status, body = 0, b""
        while (data := await stream.receive_some(65536)) != b"":
            client.receive_data(data)
            while (event := client.next_event()) is not h11.NEED_DATA:
                if isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
        return status, body


async def test_connections_over_max_connections_get_503_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusal = "too many connections: max_connections 2"
    with trio.fail_after(10):
        async with open_devserver(DevServerOptions(max_connections=2)) as server:
            # two connections that have not sent their request yet hold both places
            idle = [await trio.open_tcp_stream("127.0.0.1", server.port) for _ in range(2)]
            try:
                await trio.testing.wait_all_tasks_blocked()
                assert server.statistics().connections == 2
                assert await _http_get_raw(server) == (503, refusal.encode())
                headers = {"authorization": f"Bearer {join_token(server, 'alice')}"}
                assert await raw_upgrade(server, "/rtc?protocol=17", headers) == (503, refusal)
                agent_token = {"authorization": f"Bearer {admin_token(server, agent=True)}"}
                assert await raw_upgrade(server, "/agent", agent_token) == (503, refusal)
                stats = server.statistics()
                assert (stats.connections, stats.connections_refused) == (2, 3)
                assert len(_refusals(caplog, "connection limit reached")) == 1  # not one each
                await idle.pop().aclose()
                await trio.testing.wait_all_tasks_blocked()
                assert server.statistics().connections == 1
                assert await _http_get_raw(server) == (200, b"OK")
            finally:
                for stream in idle:
                    await stream.aclose()


async def test_an_agent_connection_that_never_registers_is_closed_with_the_limit_named(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_devserver(DevServerOptions(register_timeout=2.5)) as server:
        async with open_agent(server) as ws:
            start = trio.current_time()
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await drain_until_closed(ws)
            waited = trio.current_time() - start
        assert 2.5 <= waited < 3.0
        reason = info.value.reason
        assert (reason.code, reason.reason) == (1008, "register_timeout: no register within 2.5 s")
        assert len(_refusals(caplog, "register_timeout")) == 1
        assert server.statistics().workers == 0


def test_limit_options_are_checked() -> None:
    assert DevServerOptions().max_room_name_length == 256  # livekit-server's default
    assert (DevServerOptions().max_connections, DevServerOptions().register_timeout) == (1000, 10)
    for bad in ({"max_room_name_length": 0}, {"max_connections": 0}, {"max_identity_length": -1}):
        with pytest.raises(ConfigurationError, match="must be >= 1"):
            DevServerOptions(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="register_timeout"):
        DevServerOptions(register_timeout=0)
