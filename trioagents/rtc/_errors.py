"""Errors of the rtc layer (all under :class:`~trioagents.core.TrioAgentsError`)."""

from __future__ import annotations

from ..core import TrioAgentsError

__all__ = ["JoinRefusedError", "RequestRefusedError", "RoomClosedError"]


class RequestRefusedError(TrioAgentsError):
    """The server refused a request (``reason``: a RequestResponse reason name)."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} refused by the server ({reason})")
        self.reason = reason


class RoomClosedError(TrioAgentsError):
    """The room is disconnected for good; nothing can be sent any more."""


class JoinRefusedError(TrioAgentsError):
    """The server answered the join with a leave; ``reason`` is the DisconnectReason name."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"join refused by the server ({reason})")
        self.reason = reason
