"""Decoding LiveKit protobuf envelopes from untrusted bytes.

Every websocket message on ``/rtc`` and ``/agent`` is one protobuf envelope with a
``oneof message``. Decoding rules, shared by the client (rtc, worker) and the dev
server:

* a message larger than ``max_size`` is refused before parsing;
* bytes that do not parse, or parse to an envelope with no ``message`` set, raise
  :class:`~trioagents.core.RemoteProtocolError` (the raw bytes, truncated, are kept
  in ``payload`` for debugging, never in the message);
* nothing else escapes: protobuf's own exceptions are translated here.

A oneof that is not set still reads as a default message (``message.register`` of a
ping is an empty ``RegisterWorkerRequest``), so code that expects one kind asks
``WhichOneof`` first: :func:`decode_worker_registration` does that for the first
message of an ``/agent`` connection.

Unknown fields are kept by protobuf and ignored, as the protocol intends for
forward compatibility.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import DecodeError, Message
from livekit.protocol import agent, rtc

from ..core import RemoteProtocolError

__all__ = [
    "MAX_MESSAGE_SIZE",
    "decode_envelope",
    "decode_server_message",
    "decode_signal_request",
    "decode_signal_response",
    "decode_worker_message",
    "decode_worker_registration",
]

MAX_MESSAGE_SIZE = 1 << 20  # 1 MiB: far above any legitimate signal message
_PAYLOAD_KEEP = 256

M = TypeVar("M", bound=Message)


def decode_envelope(kind: type[M], data: bytes, *, max_size: int = MAX_MESSAGE_SIZE) -> M:
    """Parse ``data`` as ``kind`` and require its ``message`` oneof to be set."""
    name = kind.DESCRIPTOR.name
    if not isinstance(data, bytes | bytearray | memoryview):
        raise RemoteProtocolError(f"{name}: expected a binary frame, got {type(data).__name__}")
    if len(data) > max_size:
        raise RemoteProtocolError(
            f"{name}: message of {len(data)} bytes exceeds the {max_size}-byte limit",
            payload=bytes(data[:_PAYLOAD_KEEP]),
        )
    message = kind()
    try:
        message.ParseFromString(bytes(data))
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise RemoteProtocolError(
            f"{name}: malformed protobuf", payload=bytes(data[:_PAYLOAD_KEEP])
        ) from exc
    if message.WhichOneof("message") is None:
        raise RemoteProtocolError(
            f"{name}: empty envelope (no message set)", payload=bytes(data[:_PAYLOAD_KEEP])
        )
    return message


def decode_signal_request(data: bytes) -> rtc.SignalRequest:
    return decode_envelope(rtc.SignalRequest, data)


def decode_signal_response(data: bytes) -> rtc.SignalResponse:
    return decode_envelope(rtc.SignalResponse, data)


def decode_worker_message(data: bytes) -> agent.WorkerMessage:
    return decode_envelope(agent.WorkerMessage, data)


def decode_server_message(data: bytes) -> agent.ServerMessage:
    return decode_envelope(agent.ServerMessage, data)


def decode_worker_registration(data: bytes) -> agent.RegisterWorkerRequest:
    """The first message of an ``/agent`` connection, which must be ``register``.

    Raises :class:`RemoteProtocolError` for any other kind (a ping, an availability
    answer): read through the unset oneof it would pass for an empty registration.
    """
    message = decode_worker_message(data)
    kind = message.WhichOneof("message")
    if kind != "register":
        raise RemoteProtocolError(f"WorkerMessage: the first message must be register, not {kind}")
    return message.register
