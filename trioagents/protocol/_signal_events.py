"""Events produced by the sans-I/O signal client (:mod:`._signal`).

Each is a frozen, slotted dataclass named in the past tense. Protobuf payloads
(``ParticipantInfo``, ``TrackInfo``, ``JoinResponse``) are passed through as they
came off the wire: the rtc layer owns their interpretation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "IceCandidateReceived",
    "JoinAccepted",
    "LeaveRequested",
    "LocalTrackPublished",
    "LocalTrackSubscribed",
    "LocalTrackUnpublished",
    "ParticipantsUpdated",
    "PongReceived",
    "PublisherAnswerReceived",
    "Reconnected",
    "RequestAnswered",
    "RoomUpdated",
    "SignalEvent",
    "SubscriberOfferReceived",
    "TokenRefreshed",
    "TrackMuteRequested",
]


@dataclass(frozen=True, slots=True)
class JoinAccepted:
    """The server accepted the join; ``join`` is the ``livekit.JoinResponse``."""

    join: Any


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The server resumed our participant; ``response`` is the ``livekit.ReconnectResponse``
    (ICE servers, client configuration, ``last_message_seq``)."""

    response: Any


@dataclass(frozen=True, slots=True)
class SubscriberOfferReceived:
    """The server offers (or renegotiates) the subscriber peer connection."""

    sdp: str
    offer_id: int


@dataclass(frozen=True, slots=True)
class PublisherAnswerReceived:
    """The server answered our latest publisher offer."""

    sdp: str
    offer_id: int


@dataclass(frozen=True, slots=True)
class IceCandidateReceived:
    """A trickled remote candidate; ``candidate_init`` is RTCIceCandidateInit JSON.

    ``target`` is ``"publisher"`` or ``"subscriber"`` (the PC it belongs to).
    """

    candidate_init: str
    target: str
    final: bool


@dataclass(frozen=True, slots=True)
class ParticipantsUpdated:
    """Full ``ParticipantInfo`` records for participants that changed (self included)."""

    participants: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class LocalTrackPublished:
    """The server allocated a track for our ``add_track`` request with client id ``cid``."""

    cid: str
    track: Any


@dataclass(frozen=True, slots=True)
class LocalTrackUnpublished:
    track_sid: str


@dataclass(frozen=True, slots=True)
class LocalTrackSubscribed:
    """A first subscriber attached to one of our tracks."""

    track_sid: str


@dataclass(frozen=True, slots=True)
class TrackMuteRequested:
    """The server muted (or unmuted) one of our tracks."""

    track_sid: str
    muted: bool


@dataclass(frozen=True, slots=True)
class RequestAnswered:
    """A ``RequestResponse``; ``reason`` is the enum name (``"OK"``, ``"NOT_ALLOWED"``…)."""

    request_id: int
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class TokenRefreshed:
    """A fresh access token; the secret stays out of ``repr``."""

    token: str

    def __repr__(self) -> str:
        return "TokenRefreshed(token=<redacted>)"


@dataclass(frozen=True, slots=True)
class PongReceived:
    """Reply to our ping; ``rtt_ms`` measured with the caller's clock."""

    rtt_ms: int


@dataclass(frozen=True, slots=True)
class RoomUpdated:
    room: Any


@dataclass(frozen=True, slots=True)
class LeaveRequested:
    """The server asked us to leave.

    ``reason`` is a ``DisconnectReason`` name; ``action`` is ``"disconnect"``,
    ``"resume"`` or ``"reconnect"``.
    """

    reason: str
    action: str


SignalEvent = (
    JoinAccepted
    | Reconnected
    | SubscriberOfferReceived
    | PublisherAnswerReceived
    | IceCandidateReceived
    | ParticipantsUpdated
    | LocalTrackPublished
    | LocalTrackUnpublished
    | LocalTrackSubscribed
    | TrackMuteRequested
    | RequestAnswered
    | TokenRefreshed
    | PongReceived
    | RoomUpdated
    | LeaveRequested
)
