"""What the fake TTS servers do wrong, one connection at a time.

The websocket faults every fake of the kit understands (:mod:`._websocket_faults`:
refuse the upgrade, close, reset, stall, a malformed message) plus the TTS servers'
in-band error. For the fake TTS servers a mid-stream fault's ``after`` counts the
audio the server has *sent* on the connection: the fault fires just before the
audio message that would pass it (``after=0``: before any audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from ._openai_server_faults import Healthy
from ._websocket_faults import (
    CloseAfter,
    MalformedAfter,
    RefuseUpgrade,
    ResetStreamAfter,
    StallStreamAfter,
)

__all__ = ["TTSErrorAfter", "TTSFault"]


@dataclass(frozen=True, slots=True)
class TTSErrorAfter:
    """Send the provider's error message: ElevenLabs ``{"error": code, "message":
    ...}`` (with ``code: status`` when set), then a 1011 close; Cartesia ``{"type":
    "error", "status_code": status or 500, "error_code": code, ...}``, which ends
    the utterance (the socket stays)."""

    after: float
    code: str = "internal_error"
    message: str = "an internal error occurred"
    status: int | None = None


TTSFault: TypeAlias = (
    RefuseUpgrade
    | CloseAfter
    | ResetStreamAfter
    | StallStreamAfter
    | MalformedAfter
    | TTSErrorAfter
    | Healthy
)
"""One connection's fault; :class:`~trioagents.testing.Healthy` answers normally."""
