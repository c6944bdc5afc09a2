"""LiveKit server API client (Twirp over HTTP) on httpx, for Trio.

``POST <base>/twirp/livekit.<Service>/<Method>`` with a protobuf body; 200 carries the
response protobuf, anything else a JSON ``{"code", "msg"}`` error body. Every call
mints a fresh token that lives a few minutes and carries only the grant that method
needs (``roomCreate``, ``roomList``, or ``roomAdmin`` for that one room), so a leaked
header is worth little.

Errors are mapped at this boundary: a Twirp error → :class:`LiveKitAPIError` (``code``,
``status``; the server's message is kept in ``server_message``, never in ours), a
failed connection → :class:`~trioagents.core.ConnectError`, a connection lost
mid-call → :class:`~trioagents.core.ConnectionClosedError`, an undecodable 200 body
→ :class:`~trioagents.core.RemoteProtocolError`.

No timeouts here (the caller owns them: ``with trio.fail_after(5): await api...``);
the client built by :func:`open_livekit_api` has httpx's timeouts disabled.
Cancellation aborts the request; nothing is retried.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import trio
from google.protobuf.message import DecodeError, Message
from livekit.protocol import agent_dispatch as dispatch_pb
from livekit.protocol import models as models_pb
from livekit.protocol import room as room_pb

from ..core import ConnectError, ConnectionClosedError, RemoteProtocolError, TransportError
from ..protocol import VideoGrants, mint_token

__all__ = ["LiveKitAPI", "LiveKitAPIError", "open_livekit_api"]

M = TypeVar("M", bound=Message)
_TOKEN_TTL = 600.0
_IDENTITY = "trioagents-api"


class LiveKitAPIError(TransportError):
    """The server answered a Twirp call with an error.

    ``code`` is the Twirp code (``not_found``, ``permission_denied``, …; derived from
    the HTTP status if the body is not a Twirp error), ``status`` the HTTP status,
    ``server_message`` the server's ``msg``, ``method`` the Twirp method name.
    """

    def __init__(
        self, message: str, *, code: str, status: int, method: str, server_message: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.method = method
        self.server_message = server_message


_CODE_BY_STATUS = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    408: "deadline_exceeded",
    409: "already_exists",
    412: "failed_precondition",
    429: "resource_exhausted",
    501: "unimplemented",
    503: "unavailable",
}


class LiveKitAPI:
    """RoomService and AgentDispatchService calls against one LiveKit server.

    ``http`` is an ``httpx.AsyncClient`` owned by the caller (see
    :func:`open_livekit_api`). ``url`` may be ``ws(s)://`` or ``http(s)://``.
    Every method is a checkpoint and may raise the errors listed in the module doc.
    """

    def __init__(self, url: str, api_key: str, api_secret: str, *, http: httpx.AsyncClient) -> None:
        self._base = _http_base(url)
        self._api_key = api_key
        self._api_secret = api_secret
        self._http = http

    # RoomService

    async def create_room(
        self,
        name: str,
        *,
        empty_timeout: int = 0,
        metadata: str = "",
        agents: Iterable[dispatch_pb.RoomAgentDispatch] = (),
    ) -> models_pb.Room:
        request = room_pb.CreateRoomRequest(
            name=name, empty_timeout=empty_timeout, metadata=metadata, agents=list(agents)
        )
        return await self._call(
            "RoomService", "CreateRoom", request, models_pb.Room, VideoGrants(room_create=True)
        )

    async def list_rooms(self, names: Iterable[str] = ()) -> list[models_pb.Room]:
        request = room_pb.ListRoomsRequest(names=list(names))
        response = await self._call(
            "RoomService",
            "ListRooms",
            request,
            room_pb.ListRoomsResponse,
            VideoGrants(room_list=True),
        )
        return list(response.rooms)

    async def delete_room(self, room: str) -> None:
        request = room_pb.DeleteRoomRequest(room=room)
        await self._call(
            "RoomService",
            "DeleteRoom",
            request,
            room_pb.DeleteRoomResponse,
            VideoGrants(room_create=True),
        )

    async def list_participants(self, room: str) -> list[models_pb.ParticipantInfo]:
        request = room_pb.ListParticipantsRequest(room=room)
        response = await self._call(
            "RoomService",
            "ListParticipants",
            request,
            room_pb.ListParticipantsResponse,
            _admin(room),
        )
        return list(response.participants)

    async def remove_participant(self, room: str, identity: str) -> None:
        request = room_pb.RoomParticipantIdentity(room=room, identity=identity)
        await self._call(
            "RoomService",
            "RemoveParticipant",
            request,
            room_pb.RemoveParticipantResponse,
            _admin(room),
        )

    # AgentDispatchService

    async def create_dispatch(
        self, room: str, agent_name: str, *, metadata: str = ""
    ) -> dispatch_pb.AgentDispatch:
        request = dispatch_pb.CreateAgentDispatchRequest(
            room=room, agent_name=agent_name, metadata=metadata
        )
        return await self._call(
            "AgentDispatchService",
            "CreateDispatch",
            request,
            dispatch_pb.AgentDispatch,
            _admin(room),
        )

    async def list_dispatch(
        self, room: str, *, dispatch_id: str = ""
    ) -> list[dispatch_pb.AgentDispatch]:
        request = dispatch_pb.ListAgentDispatchRequest(room=room, dispatch_id=dispatch_id)
        response = await self._call(
            "AgentDispatchService",
            "ListDispatch",
            request,
            dispatch_pb.ListAgentDispatchResponse,
            _admin(room),
        )
        return list(response.agent_dispatches)

    async def delete_dispatch(self, room: str, dispatch_id: str) -> dispatch_pb.AgentDispatch:
        request = dispatch_pb.DeleteAgentDispatchRequest(room=room, dispatch_id=dispatch_id)
        return await self._call(
            "AgentDispatchService",
            "DeleteDispatch",
            request,
            dispatch_pb.AgentDispatch,
            _admin(room),
        )

    async def _call(
        self,
        service: str,
        method: str,
        request: Message,
        response_type: type[M],
        grant: VideoGrants,
    ) -> M:
        token = mint_token(
            self._api_key, self._api_secret, identity=_IDENTITY, video=grant, ttl=_TOKEN_TTL
        )
        url = f"{self._base}/twirp/livekit.{service}/{method}"
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/protobuf",
            "Accept": "application/protobuf",
        }
        try:
            response = await self._http.post(
                url, content=request.SerializeToString(), headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectError(f"could not connect to the LiveKit API for {method}") from exc
        except httpx.TransportError as exc:
            raise ConnectionClosedError(f"LiveKit API connection failed during {method}") from exc
        if response.status_code != 200:
            raise _twirp_error(method, response)
        message = response_type()
        try:
            message.ParseFromString(response.content)
        except DecodeError as exc:
            raise RemoteProtocolError(
                f"LiveKit API {method} returned an undecodable body", payload=response.content[:256]
            ) from exc
        return message


def _admin(room: str) -> VideoGrants:
    return VideoGrants(room_admin=True, room=room)


def _http_base(url: str) -> str:
    base = url.rstrip("/")
    for old, new in (("wss://", "https://"), ("ws://", "http://")):
        if base.startswith(old):
            return new + base[len(old) :]
    return base


def _twirp_error(method: str, response: httpx.Response) -> LiveKitAPIError:
    code = _CODE_BY_STATUS.get(
        response.status_code, "internal" if response.status_code >= 500 else "unknown"
    )
    server_message = ""
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("code"), str) and body["code"]:
            code = body["code"]
        if isinstance(body.get("msg"), str):
            server_message = body["msg"]
    return LiveKitAPIError(
        f"LiveKit API {method} failed: {code} (HTTP {response.status_code})",
        code=code,
        status=response.status_code,
        method=method,
        server_message=server_message,
    )


@asynccontextmanager
async def open_livekit_api(
    url: str, api_key: str, api_secret: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[LiveKitAPI]:
    """A :class:`LiveKitAPI` with its own HTTP client, closed on exit (shielded).

    ``transport`` replaces the network (``httpx.MockTransport`` in tests).
    """
    http = httpx.AsyncClient(timeout=None, transport=transport)
    try:
        yield LiveKitAPI(url, api_key, api_secret, http=http)
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(5.0):
            await http.aclose()
