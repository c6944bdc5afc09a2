"""Small test clients for the dev server: raw /rtc and /agent websockets, Twirp over httpx."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
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
    url = f"{server.url}/rtc?{urlencode(query)}"
    async with trio_websocket.open_websocket_url(url, extra_headers=headers) as ws:
        yield ws


@asynccontextmanager
async def open_agent(
    server: DevServer, token: str | None = None
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    token = token or mint_token(
        server.api_key, server.api_secret, identity="", video=VideoGrants(agent=True)
    )
    headers = [(b"authorization", f"Bearer {token}".encode())]
    async with trio_websocket.open_websocket_url(
        f"{server.url}/agent", extra_headers=headers
    ) as ws:
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
