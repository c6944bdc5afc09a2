"""Small test clients for the dev server: raw /rtc and /agent websockets, Twirp over httpx."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import trio
import trio_websocket
from google.protobuf.message import Message
from livekit.protocol import agent, rtc

from trioagents.devserver import DevServer
from trioagents.protocol import VideoGrants, mint_token


def join_token(server: DevServer, identity: str, room: str = "room", **extra: Any) -> str:
    grants = extra.pop("video", None) or VideoGrants(room_join=True, room=room)
    return mint_token(server.api_key, server.api_secret, identity=identity, video=grants, **extra)


def admin_token(server: DevServer, room: str | None = None, **grants: bool) -> str:
    video = VideoGrants(room=room, **grants)
    return mint_token(server.api_key, server.api_secret, identity="admin", video=video)


@asynccontextmanager
async def open_rtc(
    server: DevServer,
    token: str,
    *,
    header: bool = True,
    params: Mapping[str, str] | None = None,
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    query = {"protocol": "17", "sdk": "python", "auto_subscribe": "1", **(params or {})}
    headers: list[tuple[bytes, bytes]] = []
    if header:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    else:
        query["access_token"] = token
    async with _open_ws(server, f"/rtc?{urlencode(query)}", headers) as ws:
        yield ws


@asynccontextmanager
async def _open_ws(
    server: DevServer, resource: str, headers: list[tuple[bytes, bytes]]
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A client websocket over a TCP stream this helper owns and always closes.

    (trio-websocket's client never closes its stream when the server closes first,
    which ``-W error`` reports as an unclosed socket.)
    """
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    async with stream, trio.open_nursery() as nursery:
        ws = await trio_websocket.wrap_client_stream(
            nursery, stream, "127.0.0.1", resource, extra_headers=headers
        )
        try:
            yield ws
        finally:
            await ws.aclose()


@asynccontextmanager
async def open_agent(
    server: DevServer, token: str | None = None
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    token = token or mint_token(
        server.api_key, server.api_secret, identity="", video=VideoGrants(agent=True)
    )
    headers = [(b"authorization", f"Bearer {token}".encode())]
    async with _open_ws(server, "/agent", headers) as ws:
        yield ws


async def send(ws: trio_websocket.WebSocketConnection, message: Message) -> None:
    await ws.send_message(message.SerializeToString())


async def recv_signal(ws: trio_websocket.WebSocketConnection) -> rtc.SignalResponse:
    response = rtc.SignalResponse()
    response.ParseFromString(await ws.get_message())
    return response


async def recv_server(ws: trio_websocket.WebSocketConnection) -> agent.ServerMessage:
    message = agent.ServerMessage()
    message.ParseFromString(await ws.get_message())
    return message


async def recv_until(ws: trio_websocket.WebSocketConnection, which: str) -> rtc.SignalResponse:
    """Skip signal responses until one of kind ``which`` arrives."""
    while True:
        response = await recv_signal(ws)
        if response.WhichOneof("message") == which:
            return response


async def twirp(
    server: DevServer,
    method: str,
    message: Message,
    token: str,
    *,
    as_json: bool = False,
) -> httpx.Response:
    from google.protobuf import json_format

    if as_json:
        body = json_format.MessageToJson(message).encode()
        content_type = "application/json"
    else:
        body = message.SerializeToString()
        content_type = "application/protobuf"
    headers = {"authorization": f"Bearer {token}", "content-type": content_type}
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{server.http_url}/twirp/livekit.{method}", content=body, headers=headers
        )


async def http_get(
    server: DevServer, path: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{server.http_url}{path}", headers=dict(headers or {}))


def expired_token(server: DevServer) -> str:
    return mint_token(
        server.api_key,
        server.api_secret,
        identity="late",
        video=VideoGrants(room_join=True, room="room"),
        now=lambda: time.time() - 7200,
        ttl=60,
    )


async def settle() -> None:
    await trio.sleep(0.05)


async def raw_upgrade(
    server: DevServer,
    target: str,
    headers: Mapping[str, str] | None = None,
    *,
    omit: tuple[str, ...] = (),
) -> tuple[int, str]:
    """Send a websocket upgrade request by hand; return the refusal's status and body.

    ``headers`` replace or add to a valid handshake; ``omit`` names headers to leave
    out. (trio-websocket leaks the socket of a rejected handshake, which -W error
    reports.)
    """
    response = await raw_upgrade_response(server, target, headers, omit=omit)
    return response.status, response.body


@dataclass
class RawResponse:
    status: int
    body: str
    headers: dict[str, str]


async def raw_upgrade_response(
    server: DevServer,
    target: str,
    headers: Mapping[str, str] | None = None,
    *,
    omit: tuple[str, ...] = (),
) -> RawResponse:
    """Like :func:`raw_upgrade`, with the response headers too."""
    import h11

    conn = h11.Connection(h11.CLIENT)
    wanted = {
        "host": f"127.0.0.1:{server.port}",
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        **(headers or {}),
    }
    request_headers = [(k, v) for k, v in wanted.items() if k not in omit]
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    async with stream:
        await stream.send_all(
            conn.send(h11.Request(method="GET", target=target, headers=request_headers))
        )
        response = RawResponse(0, "", {})
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response | h11.InformationalResponse):
                response.status = event.status_code
                response.headers = {k.decode().lower(): v.decode() for k, v in event.headers}
                if response.status == 101:
                    return response
            elif isinstance(event, h11.Data):
                body += event.data
            else:
                response.body = body.decode()
                return response


async def drain_until_closed(ws: trio_websocket.WebSocketConnection) -> None:
    """Read and discard messages until the connection closes (raises ConnectionClosed)."""
    while True:
        await ws.get_message()
