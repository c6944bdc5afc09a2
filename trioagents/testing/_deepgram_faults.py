"""What the fake Deepgram server does wrong, one connection at a time.

Each :data:`DeepgramFault` applies to *one* connection (queued with
:meth:`~trioagents.testing.FakeDeepgramServer.script`): the websocket faults of
:mod:`._websocket_faults`, shared with the other fake websocket servers, plus
Deepgram's in-band ``Error`` message. Mid-stream faults fire on the first audio
message that brings the connection's received audio to ``after`` seconds; that
message is not answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeAlias

from ._openai_server_faults import Healthy
from ._websocket_faults import (
    CloseAfter,
    MalformedAfter,
    RefuseUpgrade,
    ResetStreamAfter,
    StallStreamAfter,
    refused_websocket_url,
)

__all__ = [
    "DeepgramFault",
    "ReportErrorAfter",
    "deepgram_rate_limited",
    "deepgram_unauthorized",
    "deepgram_unavailable",
    "refused_deepgram_url",
]


@dataclass(frozen=True, slots=True)
class ReportErrorAfter:
    """Send an ``Error`` message, then close with 1011."""

    after: float
    variant: str = "NET-0000"
    description: str = "an internal error occurred"


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
    return refused_websocket_url("/v1/listen")
