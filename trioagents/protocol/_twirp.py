"""Twirp request/response codec for LiveKit's server APIs, sans-I/O.

Twirp is "protobuf over HTTP POST": ``POST /twirp/livekit.<Service>/<Method>`` with a
body that is the request message, either binary protobuf
(``application/protobuf``) or protobuf-JSON (``application/json``). A success is 200
with the response in the same encoding; a failure is a non-2xx status with the JSON
body ``{"code": ..., "msg": ...}``.

This module knows the methods the dev server serves (:data:`TWIRP_METHODS`) and turns
``(path, content type, body)`` into a decoded request or a :class:`TwirpError`, and
responses back into bytes. It does no I/O and holds no state.

Rejected alternative: generating a server from the service descriptors that ship in
``livekit-protocol``. They list dozens of methods the dev server does not implement;
an explicit table keeps "404 bad_route" honest for everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.protocol import agent_dispatch, models, room

from ..core import ProtocolError

__all__ = [
    "TWIRP_METHODS",
    "TwirpError",
    "TwirpMethod",
    "TwirpRequest",
    "decode_twirp_request",
    "encode_twirp_error",
    "encode_twirp_response",
]

TWIRP_PREFIX = "/twirp/"
MAX_TWIRP_BODY = 1 << 20

_STATUS_BY_CODE = {
    "invalid_argument": 400,
    "malformed": 400,
    "bad_route": 404,
    "not_found": 404,
    "unauthenticated": 401,
    "permission_denied": 403,
    "already_exists": 409,
    "resource_exhausted": 429,
    "internal": 500,
    "unavailable": 503,
}


class TwirpError(ProtocolError):
    """A Twirp failure: ``code`` is the Twirp error code, ``status`` its HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = _STATUS_BY_CODE.get(code, 500)


@dataclass(frozen=True, slots=True)
class TwirpMethod:
    service: str
    method: str
    request_type: type[Message]
    response_type: type[Message]


def _table(*methods: TwirpMethod) -> dict[str, TwirpMethod]:
    return {f"livekit.{m.service}/{m.method}": m for m in methods}


TWIRP_METHODS: dict[str, TwirpMethod] = _table(
    TwirpMethod("RoomService", "CreateRoom", room.CreateRoomRequest, models.Room),
    TwirpMethod("RoomService", "ListRooms", room.ListRoomsRequest, room.ListRoomsResponse),
    TwirpMethod("RoomService", "DeleteRoom", room.DeleteRoomRequest, room.DeleteRoomResponse),
    TwirpMethod(
        "RoomService",
        "ListParticipants",
        room.ListParticipantsRequest,
        room.ListParticipantsResponse,
    ),
    TwirpMethod(
        "RoomService", "GetParticipant", room.RoomParticipantIdentity, models.ParticipantInfo
    ),
    TwirpMethod(
        "RoomService",
        "RemoveParticipant",
        room.RoomParticipantIdentity,
        room.RemoveParticipantResponse,
    ),
    TwirpMethod(
        "AgentDispatchService",
        "CreateDispatch",
        agent_dispatch.CreateAgentDispatchRequest,
        agent_dispatch.AgentDispatch,
    ),
    TwirpMethod(
        "AgentDispatchService",
        "ListDispatch",
        agent_dispatch.ListAgentDispatchRequest,
        agent_dispatch.ListAgentDispatchResponse,
    ),
    TwirpMethod(
        "AgentDispatchService",
        "DeleteDispatch",
        agent_dispatch.DeleteAgentDispatchRequest,
        agent_dispatch.AgentDispatch,
    ),
)


@dataclass(frozen=True, slots=True)
class TwirpRequest:
    """A decoded call; ``json`` says which encoding the response must use."""

    method: TwirpMethod
    message: Message
    json: bool


def _content_kind(content_type: str) -> bool:
    """True for JSON, False for protobuf; TwirpError for anything else."""
    base = content_type.split(";", 1)[0].strip().lower()
    if base == "application/json":
        return True
    if base in ("application/protobuf", "application/x-protobuf"):
        return False
    raise TwirpError("bad_route", "unsupported content type; use application/protobuf or json")


def decode_twirp_request(path: str, content_type: str, body: bytes) -> TwirpRequest:
    """Route ``path`` and decode ``body``; raise :class:`TwirpError` on any problem."""
    if not path.startswith(TWIRP_PREFIX):
        raise TwirpError("bad_route", "not a Twirp path")
    method = TWIRP_METHODS.get(path[len(TWIRP_PREFIX) :])
    if method is None:
        raise TwirpError("bad_route", "no such Twirp method on this server")
    is_json = _content_kind(content_type)
    if len(body) > MAX_TWIRP_BODY:
        raise TwirpError("malformed", "request body too large")
    message = method.request_type()
    try:
        if is_json:
            json_format.Parse(body.decode("utf-8") or "{}", message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, ValueError) as exc:
        raise TwirpError("malformed", "request body does not decode as the method's type") from exc
    except RecursionError as exc:
        raise TwirpError("malformed", "request body nested too deeply") from exc
    return TwirpRequest(method=method, message=message, json=is_json)


def encode_twirp_response(message: Message, *, as_json: bool) -> tuple[bytes, str]:
    """Return ``(body, content type)`` for a successful reply."""
    if as_json:
        text = json_format.MessageToJson(message, preserving_proto_field_name=False)
        return text.encode("utf-8"), "application/json"
    return message.SerializeToString(), "application/protobuf"


def encode_twirp_error(error: TwirpError) -> bytes:
    """The JSON body of a failed call (message only: never request content)."""
    return json.dumps({"code": error.code, "msg": str(error)}).encode("utf-8")
