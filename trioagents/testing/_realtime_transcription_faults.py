"""What the fake OpenAI realtime transcription server does wrong, one connection at a time.

Each :data:`RealtimeTranscriptionFault` applies to *one* connection (queued with
:meth:`~trioagents.testing.FakeRealtimeTranscriptionServer.script`): the websocket
faults shared by the kit's fake servers (:mod:`._websocket_faults`: refuse the
upgrade, close, reset, stall, malformed message) and two of OpenAI's own: an
``error`` event (:class:`ReportRealtimeErrorAfter`) and an item whose
transcription fails (:class:`FailTranscriptionAfter`). Mid-stream faults fire on
the first client message at which the connection's received audio reaches
``after`` seconds (with ``after=0``: the first message, usually the
``session.update``); that message is not answered.
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
    "FailTranscriptionAfter",
    "RealtimeTranscriptionFault",
    "ReportRealtimeErrorAfter",
    "realtime_rate_limited",
    "realtime_unauthorized",
    "realtime_unavailable",
    "refused_realtime_base_url",
]


@dataclass(frozen=True, slots=True)
class ReportRealtimeErrorAfter:
    """Send an ``error`` event (``error.type`` = ``kind``), then carry on as the real
    server does for most errors."""

    after: float
    kind: str = "server_error"
    code: str | None = None
    message: str = "The server had an error while processing your request."


@dataclass(frozen=True, slots=True)
class FailTranscriptionAfter:
    """The next item to complete fails instead
    (``conversation.item.input_audio_transcription.failed``)."""

    after: float
    kind: str = "server_error"
    code: str | None = None
    message: str = "Input transcription failed."


RealtimeTranscriptionFault: TypeAlias = (
    RefuseUpgrade
    | CloseAfter
    | ResetStreamAfter
    | StallStreamAfter
    | MalformedAfter
    | ReportRealtimeErrorAfter
    | FailTranscriptionAfter
    | Healthy
)
"""One connection's fault; :class:`~trioagents.testing.Healthy` answers normally."""


def _error_body(kind: str, code: str, message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": code}}).encode()


def realtime_unauthorized() -> RefuseUpgrade:
    """A bad key refused at the upgrade (401, OpenAI's error document)."""
    body = _error_body("invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
    return RefuseUpgrade(401, body, (("content-type", "application/json"),))


def realtime_rate_limited(retry_after: float = 1.0) -> RefuseUpgrade:
    """Too many sessions (429) with ``Retry-After``."""
    body = _error_body("requests", "rate_limit_exceeded", "Rate limit reached.")
    headers = (("content-type", "application/json"), ("retry-after", f"{retry_after:g}"))
    return RefuseUpgrade(429, body, headers)


def realtime_unavailable(status: int = 503) -> RefuseUpgrade:
    return RefuseUpgrade(status, _error_body("server_error", "unavailable", "Try again later."))


def refused_realtime_base_url() -> str:
    """A loopback API base URL (``http://127.0.0.1:<port>/v1``) with no listener."""
    return refused_websocket_url("/v1").replace("ws://", "http://", 1)
