from __future__ import annotations

import pytest
import trio
import trio_websocket

from trioagents.core import ConnectError, ConnectionClosedError, RemoteProtocolError
from trioagents.transport import open_websocket_client

pytestmark = pytest.mark.slow


async def serve(nursery: trio.Nursery, handler: object) -> int:
    server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
    return int(server.port)


async def test_round_trip_headers_and_close_reason() -> None:
    seen: list[object] = []

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        seen.append(dict(request.headers).get(b"authorization"))
        ws = await request.accept()
        message = await ws.get_message()
        await ws.send_message(b"echo:" + message)
        await ws.send_message("text frame")
        await ws.aclose(code=4001, reason="bye")

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, handler)
            async with open_websocket_client(
                f"ws://127.0.0.1:{port}/rtc", extra_headers=[(b"Authorization", b"Bearer t")]
            ) as ws:
                await ws.send(b"hi")
                assert await ws.receive() == b"echo:hi"
                with pytest.raises(RemoteProtocolError):
                    await ws.receive()
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.receive()
                assert (info.value.code, info.value.reason) == (4001, "bye")
            nursery.cancel_scope.cancel()
    assert seen == [b"Bearer t"]


async def test_rejected_upgrade_has_status() -> None:
    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        await request.reject(401, body=b"no")

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, handler)
            with pytest.raises(ConnectError) as info:
                async with open_websocket_client(f"ws://127.0.0.1:{port}/rtc"):
                    pass
            assert info.value.status == 401
            nursery.cancel_scope.cancel()


async def test_refused_connection() -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with trio.fail_after(5), pytest.raises(ConnectError):
        async with open_websocket_client(f"ws://127.0.0.1:{port}/rtc"):
            pass


async def test_text_messages_both_ways() -> None:
    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        text = await ws.get_message()
        await ws.send_message(f"echo:{text}")
        await ws.send_message(b"\x00binary")

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, handler)
            async with open_websocket_client(f"ws://127.0.0.1:{port}/listen") as ws:
                await ws.send_text('{"type": "KeepAlive"}')
                assert await ws.receive_message() == 'echo:{"type": "KeepAlive"}'
                assert await ws.receive_message() == b"\x00binary"
                with pytest.raises(ConnectionClosedError):
                    await ws.receive_message()
            nursery.cancel_scope.cancel()


async def test_rejected_upgrade_keeps_headers_and_body() -> None:
    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        await request.reject(429, extra_headers=[(b"Retry-After", b"3")], body=b'{"err":1}')

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, handler)
            with pytest.raises(ConnectError) as info:
                async with open_websocket_client(f"ws://127.0.0.1:{port}/listen"):
                    pass
            assert info.value.status == 429
            assert ("retry-after", "3") in info.value.headers
            assert info.value.body == b'{"err":1}'
            assert str(info.value) == "websocket upgrade rejected"
            nursery.cancel_scope.cancel()
