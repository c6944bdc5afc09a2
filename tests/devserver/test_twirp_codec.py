"""Twirp routing and body decoding, sans-I/O."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st
from livekit.protocol import agent_dispatch, room

from trioagents.protocol._twirp import (
    TwirpError,
    decode_twirp_request,
    encode_twirp_error,
    encode_twirp_response,
)

CREATE = "/twirp/livekit.RoomService/CreateRoom"


def test_protobuf_body_decodes_and_round_trips() -> None:
    body = room.CreateRoomRequest(name="r", empty_timeout=7).SerializeToString()
    call = decode_twirp_request(CREATE, "application/protobuf", body)
    assert call.method.method == "CreateRoom" and not call.json
    assert call.message == room.CreateRoomRequest(name="r", empty_timeout=7)
    data, content_type = encode_twirp_response(call.message, as_json=False)
    assert content_type == "application/protobuf"
    assert room.CreateRoomRequest.FromString(data).name == "r"


def test_json_body_decodes_camel_case_and_answers_json() -> None:
    path = "/twirp/livekit.AgentDispatchService/CreateDispatch"
    call = decode_twirp_request(
        path, "application/json; charset=utf-8", b'{"agentName":"a","room":"r"}'
    )
    assert call.json
    assert call.message == agent_dispatch.CreateAgentDispatchRequest(agent_name="a", room="r")
    data, content_type = encode_twirp_response(call.message, as_json=True)
    assert content_type == "application/json"
    parsed = json_format.Parse(data, agent_dispatch.CreateAgentDispatchRequest())
    assert parsed.agent_name == "a"


def test_empty_json_body_is_an_empty_request() -> None:
    call = decode_twirp_request("/twirp/livekit.RoomService/ListRooms", "application/json", b"")
    assert call.message == room.ListRoomsRequest()


@pytest.mark.parametrize(
    ("path", "content_type", "body", "code", "status"),
    [
        ("/twirp/livekit.RoomService/Nope", "application/json", b"{}", "bad_route", 404),
        ("/other", "application/json", b"{}", "bad_route", 404),
        (CREATE, "text/plain", b"{}", "bad_route", 404),
        (CREATE, "application/json", b"{not json", "malformed", 400),
        (CREATE, "application/json", b'{"name": 5}', "malformed", 400),
        (CREATE, "application/json", b"\xff\xfe", "malformed", 400),
        (CREATE, "application/protobuf", b"\x0a\xff", "malformed", 400),
    ],
)
def test_bad_requests_raise_twirp_errors(
    path: str, content_type: str, body: bytes, code: str, status: int
) -> None:
    with pytest.raises(TwirpError) as info:
        decode_twirp_request(path, content_type, body)
    assert info.value.code == code and info.value.status == status
    assert json.loads(encode_twirp_error(info.value)) == {"code": code, "msg": str(info.value)}


@given(body=st.binary(max_size=512), as_json=st.booleans())
def test_any_body_decodes_or_raises_twirp_error(body: bytes, as_json: bool) -> None:
    content_type = "application/json" if as_json else "application/protobuf"
    try:
        decode_twirp_request(CREATE, content_type, body)
    except TwirpError:
        pass
