"""What the fake Deepgram server does wrong, one connection at a time.

Each :data:`DeepgramFault` applies to *one* connection (queued with
:meth:`~trioagents.testing.FakeDeepgramServer.script`). Mid-stream faults fire on
the first audio message that brings the connection's received audio to ``after``
seconds; that message is not answered.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import TypeAlias

from ._openai_server_faults import Healthy

__all__ = [
    "CloseAfter",
    "DeepgramFault",
    "MalformedAfter",
    "RefuseUpgrade",
    "ReportErrorAfter",
    "ResetStreamAfter",
    "StallStreamAfter",
    "deepgram_rate_limited",
    "deepgram_unauthorized",
    "deepgram_unavailable",
    "refused_deepgram_url",
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
class ReportErrorAfter:
    """Send an ``Error`` message, then close with 1011."""

    after: float
    variant: str = "NET-0000"
    description: str = "an internal error occurred"


@dataclass(frozen=True, slots=True)
class StallStreamAfter:
    """Go silent: keep reading, answer nothing (not even CloseStream)."""

    after: float


@dataclass(frozen=True, slots=True)
class MalformedAfter:
    """Send ``payload`` as a text message (not JSON by default), then carry on."""

    after: float
    payload: str = '{"type": "Results", "channel": '


DeepgramFault: TypeAlias = (
    RefuseUpgrade
    | CloseAfter
    | ResetStreamAfter
    | ReportErrorAfter
    | StallStreamAfter
    | MalformedAfter
    | Healthy
)
"""One connection's fault; :class:`~trioagents.testing.Healthy` (shared with the
OpenAI server) answers normally, for a passing connection in a sequence."""


def _json_body(err_code: str, err_msg: str) -> bytes:
    return json.dumps(
        {"err_code": err_code, "err_msg": err_msg, "request_id": "fake-request"}
    ).encode()


def deepgram_unauthorized() -> RefuseUpgrade:
    """Deepgram's answer to a bad key."""
    body = _json_body("INVALID_AUTH", "Invalid credentials.")
    return RefuseUpgrade(401, body, (("content-type", "application/json"),))


def deepgram_rate_limited(retry_after: float = 1.0) -> RefuseUpgrade:
    """Too many concurrent streams (429) with ``Retry-After``."""
    body = _json_body("TOO_MANY_REQUESTS", "Too many requests.")
    headers = (("content-type", "application/json"), ("retry-after", f"{retry_after:g}"))
    return RefuseUpgrade(429, body, headers)


def deepgram_unavailable(status: int = 503) -> RefuseUpgrade:
    return RefuseUpgrade(status, _json_body("SERVICE_UNAVAILABLE", "Try again later."))


def refused_deepgram_url() -> str:
    """A loopback listen URL whose port has no listener (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/v1/listen"
