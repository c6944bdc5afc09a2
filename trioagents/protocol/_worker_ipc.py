"""Framing for the worker ↔ job-process pipe: length-prefixed JSON objects.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON
encoding one object with a string ``"type"``. :class:`IpcFrameDecoder` is fed
bytes in any chunking and yields complete messages; :func:`encode_ipc_message`
builds a frame. Anything else (oversized length, bad UTF-8, bad JSON, a
non-object, a missing ``type``) raises
:class:`~trioagents.core.RemoteProtocolError`, and the decoder is then unusable
(the stream is out of sync; the supervisor kills the child).

Rejected alternatives: pickle (executes code from the peer; a crashed or hostile
child must not be able to run code in the worker) and newline-delimited JSON
(a child's stray print must not be parsed as a message; stdout is reserved for
frames and user output goes to stderr anyway, but a length prefix also bounds
memory before parsing).
"""

from __future__ import annotations

import json
from typing import Any

from ..core import LocalProtocolError, RemoteProtocolError

__all__ = ["MAX_IPC_FRAME", "IpcFrameDecoder", "encode_ipc_message"]

MAX_IPC_FRAME = 1 << 20
_HEADER = 4
_PAYLOAD_KEEP = 256


def encode_ipc_message(message: dict[str, Any]) -> bytes:
    """One frame; raises :class:`LocalProtocolError` if it cannot be sent."""
    if not isinstance(message.get("type"), str):
        raise LocalProtocolError("IPC message needs a string 'type'")
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_IPC_FRAME:
        raise LocalProtocolError("IPC message exceeds the frame limit")
    return len(body).to_bytes(_HEADER, "big") + body


class IpcFrameDecoder:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._broken = False

    def feed(self, data: bytes | bytearray) -> list[dict[str, Any]]:
        """Add bytes; return every message now complete (possibly none)."""
        if self._broken:
            raise RemoteProtocolError("IPC stream already failed")
        self._buffer += data
        messages = []
        try:
            while len(self._buffer) >= _HEADER:
                length = int.from_bytes(self._buffer[:_HEADER], "big")
                if length > MAX_IPC_FRAME:
                    raise RemoteProtocolError(
                        "IPC frame exceeds the limit", payload=bytes(self._buffer[:_HEADER])
                    )
                if len(self._buffer) < _HEADER + length:
                    break
                body = bytes(self._buffer[_HEADER : _HEADER + length])
                del self._buffer[: _HEADER + length]
                messages.append(_parse(body))
        except RemoteProtocolError:
            self._broken = True
            raise
        return messages

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame (non-zero at EOF means a truncated stream)."""
        return len(self._buffer)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RemoteProtocolError("IPC frame is not JSON", payload=body[:_PAYLOAD_KEEP]) from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise RemoteProtocolError(
            "IPC frame is not an object with a 'type'", payload=body[:_PAYLOAD_KEEP]
        )
    return message
