from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from livekit.protocol import agent, rtc

from trioagents.core import RemoteProtocolError
from trioagents.protocol import (
    decode_server_message,
    decode_signal_request,
    decode_signal_response,
    decode_worker_message,
    decode_worker_registration,
)

DECODERS = [
    decode_signal_request,
    decode_signal_response,
    decode_worker_message,
    decode_server_message,
    decode_worker_registration,
]


def test_round_trip() -> None:
    request = rtc.SignalRequest(ping=123)
    assert decode_signal_request(request.SerializeToString()).ping == 123
    message = agent.WorkerMessage(register=agent.RegisterWorkerRequest(agent_name="a"))
    assert decode_worker_message(message.SerializeToString()).register.agent_name == "a"


def test_empty_and_oversized_and_garbage_are_protocol_errors() -> None:
    with pytest.raises(RemoteProtocolError, match="empty envelope"):
        decode_signal_request(b"")
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        decode_signal_request(b"\x00" * (2 << 20))
    with pytest.raises(RemoteProtocolError, match="malformed") as info:
        decode_signal_request(b"\xff\xff\xff")
    assert info.value.payload == b"\xff\xff\xff"


def test_a_registration_must_be_a_register_message() -> None:
    register = agent.WorkerMessage(register=agent.RegisterWorkerRequest(agent_name="a"))
    assert decode_worker_registration(register.SerializeToString()).agent_name == "a"
    others = [
        agent.WorkerMessage(ping=agent.WorkerPing(timestamp=1)),
        agent.WorkerMessage(availability=agent.AvailabilityResponse(job_id="j")),
        agent.WorkerMessage(migrate_job=agent.MigrateJobRequest(job_ids=["j"])),
    ]
    for message in others:
        kind = message.WhichOneof("message")
        with pytest.raises(RemoteProtocolError, match=f"must be register, not {kind}"):
            decode_worker_registration(message.SerializeToString())


@pytest.mark.parametrize("decode", DECODERS)
@given(data=st.binary(max_size=512))
def test_any_bytes_parse_or_raise_protocol_error(decode: object, data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode(data)  # type: ignore[operator]
