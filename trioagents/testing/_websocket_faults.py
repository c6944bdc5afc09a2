"""What a fake websocket provider does wrong, one connection at a time.

The faults every fake websocket server of the kit understands (the fake Deepgram
and the fake OpenAI realtime transcription); each server adds its own in-band
error message. A fault applies to *one* connection (queued with the server's
``script``). Mid-stream faults fire on the first client message that brings the
connection's received audio to ``after`` seconds; that message is not answered.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

__all__ = [
    "CloseAfter",
    "MalformedAfter",
    "RefuseUpgrade",
    "ResetStreamAfter",
    "StallStreamAfter",
    "refused_websocket_url",
]


@dataclass(frozen=True, slots=True)
class RefuseUpgrade:
    """Answer the upgrade with ``status`` (no websocket)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CloseAfter:
    """Close the websocket with ``code``/``reason`` (Deepgram's NET-0000 by default)."""

    after: float
    code: int = 1011
    reason: str = "NET-0000"


@dataclass(frozen=True, slots=True)
class ResetStreamAfter:
    """Drop the TCP connection (RST, no close frame)."""

    after: float


@dataclass(frozen=True, slots=True)
class StallStreamAfter:
    """Go silent: keep reading, answer nothing (not even a closing request)."""

    after: float


@dataclass(frozen=True, slots=True)
class MalformedAfter:
    """Send ``payload`` as a text message (not JSON by default), then carry on."""

    after: float
    payload: str = '{"type": "Results", "channel": '


def refused_websocket_url(path: str) -> str:
    """A loopback websocket URL with ``path`` whose port has no listener (refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}{path}"
