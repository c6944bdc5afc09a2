"""What connects the participants of a room: published tracks and data packets.

The hub owns the registry, the map of live signal sessions and the published media
(track sid → :class:`RelayedTrack`). Sessions call it synchronously; it never awaits,
so a decision such as "send the TrackInfo, then queue the offer that carries it" cannot
be interleaved with another session's change.

Data packets follow livekit-server's routing: the sender must have
``can_publish_data``; the server stamps ``participant_sid``/``participant_identity``
(also inside ``user`` packets; empty identity for hidden senders); ``transcription``
packets are forwarded only from agents, ``metrics`` not at all; destinations are
matched by identity; the sequence number is left untouched.

Publishing on behalf of someone (livekit-server's ``handleReceivedDataMessage``):
an agent's ``chat_message`` or *text* ``stream_header`` that names an identity other
than the agent's own keeps that identity and is marked ``generated``; this is how
livekit-agents attributes user transcripts to the user. Every other packet, an
agent's own lines included, gets the sender's identity, whatever it said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from google.protobuf.message import DecodeError
from livekit.protocol import models, rtc

from ._media import RelayedTrack
from ._registry import ParticipantRecord, Registry

__all__ = ["HubStatistics", "SessionPort", "SignalHub"]

log = logging.getLogger("trioagents.devserver.hub")


class SessionPort(Protocol):
    """What the hub needs from a live ``/rtc`` session (implemented by SignalSession)."""

    participant: ParticipantRecord
    auto_subscribe: bool

    def subscribe(self, track: RelayedTrack) -> None: ...

    def unsubscribe(self, track_sid: str) -> None: ...

    def deliver_data(self, data: bytes, *, reliable: bool) -> None: ...

    async def hand_over(self, websocket: Any) -> bool: ...


@dataclass(slots=True)
class HubStatistics:
    data_forwarded: int = 0
    data_dropped: int = 0
    tracks_published: int = 0
    subscriptions: int = 0


@dataclass(slots=True)
class SignalHub:
    registry: Registry
    bridge: Any
    relay: Any
    server_info: Callable[[], models.ServerInfo]
    wall_clock: Callable[[], float]
    sessions: dict[str, SessionPort] = field(default_factory=dict)
    published: dict[str, RelayedTrack] = field(default_factory=dict)
    subscribers: dict[str, set[str]] = field(default_factory=dict)
    stats: HubStatistics = field(default_factory=HubStatistics)

    def session_to_resume(self, room: str, identity: str, sid: str) -> SessionPort | None:
        """The live session a ``reconnect=1`` request may take over (found by identity,
        as livekit-server does; a given ``sid`` must match), or None."""
        record = self.registry.rooms.get(room)
        participant = record.participants.get(identity) if record is not None else None
        if participant is None or (sid and participant.sid != sid):
            return None
        return self.sessions.get(participant.sid)

    def room_sessions(self, participant: ParticipantRecord) -> list[SessionPort]:
        return [
            s
            for s in self.sessions.values()
            if s.participant.room is participant.room and s.participant is not participant
        ]

    def tracks_for(self, session: SessionPort) -> list[RelayedTrack]:
        """Published tracks of others that ``session`` should receive at join."""
        me = session.participant
        if not (session.auto_subscribe and me.info.permission.can_subscribe):
            return []
        room = me.room
        return [
            t
            for t in self.published.values()
            if t.publisher_sid != me.sid and room.by_sid(t.publisher_sid) is not None
        ]

    def track_published(self, publisher: ParticipantRecord, track: RelayedTrack) -> None:
        self.published[track.track_sid] = track
        self.stats.tracks_published += 1
        for session in self.room_sessions(publisher):
            me = session.participant
            if session.auto_subscribe and me.info.permission.can_subscribe:
                session.subscribe(track)

    def track_unpublished(self, publisher: ParticipantRecord, track_sid: str) -> None:
        """Stop relaying an unpublished track to every subscriber."""
        self.published.pop(track_sid, None)
        self.subscribers.pop(track_sid, None)
        for session in self.room_sessions(publisher):
            session.unsubscribe(track_sid)

    def subscribed(self, subscriber: ParticipantRecord, track_sid: str) -> None:
        """The subscriber answered an offer carrying ``track_sid``: tell the publisher once."""
        track = self.published.get(track_sid)
        if track is None:
            return
        seen = self.subscribers.setdefault(track_sid, set())
        first = not seen and not subscriber.hidden
        seen.add(subscriber.sid)
        self.stats.subscriptions += 1
        publisher = self.sessions.get(track.publisher_sid)
        if first and publisher is not None:
            publisher.participant.send(
                rtc.SignalResponse(track_subscribed=rtc.TrackSubscribed(track_sid=track_sid))
            )

    def participant_gone(self, participant: ParticipantRecord) -> None:
        """Forget a participant's session and stop relaying its tracks to others."""
        self.sessions.pop(participant.sid, None)
        gone = [sid for sid, t in self.published.items() if t.publisher_sid == participant.sid]
        for track_sid in gone:
            del self.published[track_sid]
            self.subscribers.pop(track_sid, None)
            for session in self.room_sessions(participant):
                session.unsubscribe(track_sid)
        for seen in self.subscribers.values():
            seen.discard(participant.sid)

    def route_data(self, sender: ParticipantRecord, data: bytes, *, reliable: bool) -> None:
        """Stamp and forward one data packet from ``sender``. Never raises."""
        packet = models.DataPacket()
        try:
            packet.ParseFromString(data)
        except (DecodeError, RuntimeError, ValueError):
            self.stats.data_dropped += 1
            return
        which = packet.WhichOneof("value")
        perm = sender.info.permission
        from_agent = perm.agent or sender.info.kind == models.ParticipantInfo.AGENT
        if (
            not perm.can_publish_data
            or which in (None, "metrics")
            or (which == "transcription" and not from_agent)
        ):
            self.stats.data_dropped += 1
            return
        identity = "" if sender.hidden else sender.identity
        packet.participant_sid = sender.sid
        if not (from_agent and _on_behalf(packet, which, sender.identity)):
            packet.participant_identity = identity
        destinations = set(packet.destination_identities)
        if which == "user":
            packet.user.participant_sid = sender.sid
            packet.user.participant_identity = identity
            destinations |= set(packet.user.destination_identities)
        packet.kind = models.DataPacket.RELIABLE if reliable else models.DataPacket.LOSSY
        out = packet.SerializeToString()
        for session in self.room_sessions(sender):
            if destinations and session.participant.identity not in destinations:
                continue
            if not session.participant.info.permission.can_subscribe:
                continue
            session.deliver_data(out, reliable=reliable)
            self.stats.data_forwarded += 1


def _on_behalf(packet: models.DataPacket, which: str | None, own: str) -> bool:
    """An agent's packet attributed to someone else: keep the identity, mark it generated."""
    claimed = packet.participant_identity
    if not claimed or claimed == own:
        return False
    if which == "chat_message":
        packet.chat_message.generated = True
        return True
    if which == "stream_header" and packet.stream_header.WhichOneof("content_header") == (
        "text_header"
    ):
        packet.stream_header.text_header.generated = True
        return True
    return False
