"""What the fake OpenAI Realtime server does wrong, one connection at a time.

Each :data:`RealtimeFault` applies to *one* connection (queued with
:meth:`~trioagents.testing.FakeRealtimeServer.script`). Upgrade refusals
reuse :class:`~trioagents.testing.RefuseUpgrade` (and the OpenAI answers of
:mod:`._realtime_transcription_faults`: ``realtime_unauthorized()``...); the others fire during the
connection's ``reply``-th reply (1-based), once ``after_chunks`` audio deltas of
it were sent (0: before ``response.created``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from ._openai_server_faults import Healthy
from ._websocket_faults import RefuseUpgrade

__all__ = [
    "CloseDuringReply",
    "ErrorForReply",
    "FailReply",
    "MalformedDuringReply",
    "NoSessionCreated",
    "RealtimeFault",
    "ResetDuringReply",
    "StallDuringReply",
]


@dataclass(frozen=True, slots=True)
class CloseDuringReply:
    """Close the websocket with ``code``/``reason``."""

    reply: int = 1
    after_chunks: int = 0
    code: int = 1011
    reason: str = "internal error"


@dataclass(frozen=True, slots=True)
class ResetDuringReply:
    """Drop the TCP connection (RST, no close frame)."""

    reply: int = 1
    after_chunks: int = 0


@dataclass(frozen=True, slots=True)
class ErrorForReply:
    """Answer the ``response.create`` with an ``error`` event (no reply)."""

    reply: int = 1
    error_type: str = "server_error"
    code: str = "server_error"
    after_chunks: int = 0


@dataclass(frozen=True, slots=True)
class FailReply:
    """End the reply with ``response.done`` status ``failed``."""

    reply: int = 1
    after_chunks: int = 0


@dataclass(frozen=True, slots=True)
class StallDuringReply:
    """Go silent: read on, answer nothing more on this connection."""

    reply: int = 1
    after_chunks: int = 0


@dataclass(frozen=True, slots=True)
class MalformedDuringReply:
    """Send ``payload`` (an audio delta of the wrong type by default), then carry on."""

    reply: int = 1
    after_chunks: int = 0
    payload: str = '{"type": "response.output_audio.delta", "item_id": "x", "delta": 5}'


@dataclass(frozen=True, slots=True)
class NoSessionCreated:
    """Accept the upgrade, never send ``session.created``."""


RealtimeFault: TypeAlias = (
    RefuseUpgrade
    | CloseDuringReply
    | ResetDuringReply
    | ErrorForReply
    | FailReply
    | StallDuringReply
    | MalformedDuringReply
    | NoSessionCreated
    | Healthy
)
"""One connection's fault; :class:`~trioagents.testing.Healthy` answers normally."""

ReplyFault: TypeAlias = (
    CloseDuringReply
    | ResetDuringReply
    | ErrorForReply
    | FailReply
    | StallDuringReply
    | MalformedDuringReply
)
