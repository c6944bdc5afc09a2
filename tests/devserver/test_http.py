"""Request reading: whole or byte by byte, upgrades keep their raw bytes, bad input
raises our protocol error."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.core import RemoteProtocolError
from trioagents.devserver._http import read_request

UPGRADE = (
    b"GET /rtc?access_token=abc&protocol=17 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer tok\r\n\r\n"
)
POST = (
    b"POST /twirp/livekit.RoomService/ListRooms HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)


async def feed(data: bytes, chunk: int) -> trio.testing.MemoryReceiveStream:
    client, server = trio.testing.memory_stream_pair()
    for start in range(0, len(data), chunk):
        await client.send_all(data[start : start + chunk])
    await client.aclose()
    return server  # type: ignore[return-value]


@pytest.mark.parametrize("chunk", [1, 7, 100_000])
async def test_upgrade_request_whole_or_byte_by_byte(chunk: int) -> None:
    request = await read_request(await feed(UPGRADE, chunk))
    assert request.is_websocket
    assert request.path == "/rtc"
    assert request.param("protocol") == "17"
    assert request.bearer_token() == "tok"  # the header wins over access_token
    assert request.raw == UPGRADE  # replayed into wsproto


@pytest.mark.parametrize("chunk", [1, 100_000])
async def test_post_body_is_read(chunk: int) -> None:
    request = await read_request(await feed(POST, chunk))
    assert (request.method, request.body, request.is_websocket) == ("POST", b"{}", False)
    assert request.headers["content-type"] == "application/json"


async def test_query_token_is_the_fallback() -> None:
    request = await read_request(
        await feed(b"GET /rtc?access_token=q HTTP/1.1\r\nHost: x\r\n\r\n", 5)
    )
    assert request.bearer_token() == "q"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GET / HTTP/1.1\r\n",
        b"\x00\x01garbage\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
)
async def test_bad_or_truncated_requests_raise_protocol_errors(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        await read_request(await feed(data, 3))


async def test_oversized_body_is_refused() -> None:
    head = b"POST /twirp/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:

        async def send() -> None:
            await client.send_all(head)
            for _ in range(40):
                await client.send_all(b"x" * 50_000)
            await client.aclose()

        nursery.start_soon(send)
        with pytest.raises(RemoteProtocolError, match="too large"):
            await read_request(server)
        nursery.cancel_scope.cancel()
