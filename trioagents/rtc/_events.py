"""Room events: frozen, slotted, past tense; delivered on ``room.events()``.

The channel is bounded; a consumer that does not keep up loses the oldest events
(counted in ``Room.statistics().events_dropped``), never stalls the room.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ConnectionLost",
    "ConnectionResumed",
    "DataReceived",
    "ParticipantAttributesChanged",
    "ParticipantConnected",
    "ParticipantDisconnected",
    "RemoteTrackPublished",
    "RemoteTrackSubscribed",
    "RemoteTrackUnpublished",
    "RoomDisconnected",
    "RoomEvent",
]


@dataclass(frozen=True, slots=True)
class ParticipantConnected:
    identity: str
    sid: str


@dataclass(frozen=True, slots=True)
class ParticipantDisconnected:
    """``reason``: the server's ``models.DisconnectReason`` (0: unknown, e.g. gone
    from the participant list after our own rejoin)."""

    identity: str
    sid: str
    reason: int = 0


@dataclass(frozen=True, slots=True)
class ParticipantAttributesChanged:
    """``changed`` maps keys to their new value ("" for a deleted key)."""

    identity: str
    changed: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RemoteTrackPublished:
    identity: str
    track_sid: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class RemoteTrackUnpublished:
    identity: str
    track_sid: str


@dataclass(frozen=True, slots=True)
class RemoteTrackSubscribed:
    """Media of a remote track reached us (it can now be read with ``subscribe_audio``)."""

    identity: str
    track_sid: str


@dataclass(frozen=True, slots=True)
class DataReceived:
    """A user data packet; ``payload`` stays out of ``repr``."""

    payload: bytes
    topic: str
    sender_identity: str
    reliable: bool

    def __repr__(self) -> str:
        return (
            f"DataReceived(topic={self.topic!r}, sender_identity={self.sender_identity!r}, "
            f"reliable={self.reliable}, size={len(self.payload)})"
        )


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The signal connection dropped (or the server asked for a rejoin); rejoining."""

    reason: str
    attempt: int


@dataclass(frozen=True, slots=True)
class ConnectionResumed:
    """Rejoined after :class:`ConnectionLost`; tracks are being re-established."""

    attempts: int


@dataclass(frozen=True, slots=True)
class RoomDisconnected:
    """The room ended for good (server leave, or reconnect attempts exhausted)."""

    reason: str


RoomEvent = (
    ParticipantConnected
    | ParticipantDisconnected
    | ParticipantAttributesChanged
    | RemoteTrackPublished
    | RemoteTrackUnpublished
    | RemoteTrackSubscribed
    | DataReceived
    | ConnectionLost
    | ConnectionResumed
    | RoomDisconnected
)
