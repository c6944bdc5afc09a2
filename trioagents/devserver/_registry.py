"""Rooms, participants, tracks and dispatches: the dev server's state, sans-I/O.

No trio import. Every mutation is a synchronous method; what the outside world must
learn is pushed through two kinds of callbacks that never raise:

* each participant's ``send(SignalResponse)`` (the I/O layer queues it on the
  participant's bounded outbound channel) and ``close(reason)``;
* the registry's ``on_event(event)`` for the agent dispatcher (:class:`RoomCreated`,
  :class:`RoomDeleted`, :class:`DispatchAdded`, :class:`DispatchDeleted`,
  :class:`ParticipantPublished`).

Invariants:

* a room holds at most one participant per identity (a second join evicts the first
  with ``DUPLICATE_IDENTITY``);
* ``ParticipantInfo.version`` strictly increases on every change of a participant,
  so clients never ignore an update;
* hidden participants are never described to others;
* a room always has at least one dispatch unless agents were configured explicitly
  (the implicit empty-name dispatch, as in livekit-server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from livekit.protocol import agent_dispatch, models, rtc

from ..core import short_id
from ..protocol import TokenClaims
from ._claims import participant_kind, permission_from_claims, token_agents

__all__ = [
    "DispatchAdded",
    "DispatchDeleted",
    "ParticipantPublished",
    "ParticipantRecord",
    "Registry",
    "RoomCreated",
    "RoomDeleted",
    "RoomRecord",
]

SendSignal = Callable[[rtc.SignalResponse], None]
CloseParticipant = Callable[["models.DisconnectReason"], None]


@dataclass(frozen=True, slots=True)
class RoomCreated:
    room: RoomRecord


@dataclass(frozen=True, slots=True)
class RoomDeleted:
    room: RoomRecord


@dataclass(frozen=True, slots=True)
class DispatchAdded:
    room: RoomRecord
    dispatch: agent_dispatch.AgentDispatch


@dataclass(frozen=True, slots=True)
class DispatchDeleted:
    room: RoomRecord
    dispatch: agent_dispatch.AgentDispatch


@dataclass(frozen=True, slots=True)
class ParticipantPublished:
    """A non-agent participant published its first track (JT_PUBLISHER jobs start)."""

    room: RoomRecord
    participant: ParticipantRecord


RegistryEvent = RoomCreated | RoomDeleted | DispatchAdded | DispatchDeleted | ParticipantPublished


class ParticipantRecord:
    """One joined participant; ``info`` is the authoritative ParticipantInfo."""

    def __init__(
        self,
        room: RoomRecord,
        info: models.ParticipantInfo,
        send: SendSignal,
        close: CloseParticipant,
    ) -> None:
        self.room = room
        self.info = info
        self.send = send
        self.close = close
        self.pending_tracks: dict[str, models.TrackInfo] = {}
        self.has_published = False

    @property
    def sid(self) -> str:
        return self.info.sid

    @property
    def identity(self) -> str:
        return self.info.identity

    @property
    def hidden(self) -> bool:
        return self.info.permission.hidden

    @property
    def dependent(self) -> bool:
        """Agents and recorders never trigger agent jobs."""
        perm = self.info.permission
        return self.info.kind in (models.ParticipantInfo.AGENT, models.ParticipantInfo.EGRESS) or (
            perm.agent or perm.recorder
        )

    def bump(self) -> None:
        self.info.version += 1

    def track(self, track_sid: str) -> models.TrackInfo | None:
        return next((t for t in self.info.tracks if t.sid == track_sid), None)


class RoomRecord:
    """One room. ``ever_joined`` and ``empty_since`` (Trio time) serve the reaper.

    ``ever_joined`` is set by the first participant that is not dependent (agents,
    egress and recorders neither keep a room alive nor count as having joined it).
    """

    def __init__(self, info: models.Room) -> None:
        self.info = info
        self.participants: dict[str, ParticipantRecord] = {}
        self.dispatches: dict[str, agent_dispatch.AgentDispatch] = {}
        self.ever_joined = False
        self.empty_since: float | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def occupied(self) -> bool:
        """Someone other than agents, egress or recorders is in the room."""
        return any(not p.dependent for p in self.participants.values())

    def by_sid(self, sid: str) -> ParticipantRecord | None:
        return next((p for p in self.participants.values() if p.sid == sid), None)

    def snapshot(self) -> models.Room:
        room = models.Room()
        room.CopyFrom(self.info)
        room.num_participants = sum(1 for p in self.participants.values() if not p.hidden)
        room.num_publishers = sum(1 for p in self.participants.values() if p.info.tracks)
        return room

    def visible_infos(
        self, exclude: ParticipantRecord | None = None
    ) -> list[models.ParticipantInfo]:
        return [p.info for p in self.participants.values() if p is not exclude and not p.hidden]

    def broadcast(self, about: ParticipantRecord, *, include_self: bool = True) -> None:
        """Tell everyone (and ``about`` itself if asked) its current ParticipantInfo."""
        for other in list(self.participants.values()):
            if other is about and not include_self:
                continue
            if about.hidden and other is not about:
                continue
            other.send(rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[about.info])))


class Registry:
    """All rooms by name. ``wall_clock`` gives epoch seconds for ``creation_time``."""

    def __init__(
        self, *, on_event: Callable[[RegistryEvent], None], wall_clock: Callable[[], float]
    ):
        self.rooms: dict[str, RoomRecord] = {}
        self._on_event = on_event
        self._wall_clock = wall_clock

    def create_room(
        self,
        name: str,
        *,
        metadata: str = "",
        empty_timeout: int = 0,
        max_participants: int = 0,
        agents: Sequence[agent_dispatch.RoomAgentDispatch] | None = None,
    ) -> tuple[RoomRecord, bool]:
        """Return the room named ``name``, creating it (and its dispatches) if needed."""
        existing = self.rooms.get(name)
        if existing is not None:
            return existing, False
        now = self._wall_clock()
        info = models.Room(
            sid=short_id("RM"),
            name=name,
            metadata=metadata,
            empty_timeout=empty_timeout,
            max_participants=max_participants,
            creation_time=int(now),
            creation_time_ms=int(now * 1000),
        )
        room = RoomRecord(info)
        self.rooms[name] = room
        for wanted in agents if agents else [agent_dispatch.RoomAgentDispatch()]:
            self._store_dispatch(room, wanted.agent_name, wanted.metadata)
        self._on_event(RoomCreated(room))
        return room, True

    def _store_dispatch(
        self, room: RoomRecord, agent_name: str, metadata: str
    ) -> agent_dispatch.AgentDispatch:
        dispatch = agent_dispatch.AgentDispatch(
            id=short_id("AD"), agent_name=agent_name, room=room.name, metadata=metadata
        )
        dispatch.state.created_at = int(self._wall_clock() * 1e9)
        room.dispatches[dispatch.id] = dispatch
        return dispatch

    def add_dispatch(
        self, room: RoomRecord, agent_name: str, metadata: str
    ) -> agent_dispatch.AgentDispatch:
        dispatch = self._store_dispatch(room, agent_name, metadata)
        self._on_event(DispatchAdded(room, dispatch))
        return dispatch

    def delete_dispatch(
        self, room: RoomRecord, dispatch_id: str
    ) -> agent_dispatch.AgentDispatch | None:
        dispatch = room.dispatches.pop(dispatch_id, None)
        if dispatch is not None:
            dispatch.state.deleted_at = int(self._wall_clock() * 1e9)
            self._on_event(DispatchDeleted(room, dispatch))
        return dispatch

    def delete_room(self, name: str) -> RoomRecord | None:
        """Remove a room; its participants are told ``ROOM_DELETED`` and closed."""
        room = self.rooms.pop(name, None)
        if room is None:
            return None
        for participant in list(room.participants.values()):
            participant.send(_leave(models.DisconnectReason.ROOM_DELETED))
            participant.close(models.DisconnectReason.ROOM_DELETED)
        room.participants.clear()
        self._on_event(RoomDeleted(room))
        return room

    def join(
        self,
        claims: TokenClaims,
        client: models.ClientInfo,
        send: SendSignal,
        close: CloseParticipant,
    ) -> ParticipantRecord:
        """Add a participant for verified ``claims`` (room auto-created, duplicates evicted)."""
        room_name = claims.video.room or ""
        agents = token_agents(claims)
        room, _ = self.create_room(room_name, agents=agents)
        old = room.participants.get(claims.identity)
        if old is not None:
            old.send(_leave(models.DisconnectReason.DUPLICATE_IDENTITY))
            self.leave(old, models.DisconnectReason.DUPLICATE_IDENTITY)
            old.close(models.DisconnectReason.DUPLICATE_IDENTITY)
        now = self._wall_clock()
        info = models.ParticipantInfo(
            sid=short_id("PA"),
            identity=claims.identity,
            name=claims.name,
            metadata=claims.metadata,
            state=models.ParticipantInfo.JOINING,
            kind=participant_kind(claims),
            joined_at=int(now),
            joined_at_ms=int(now * 1000),
            version=1,
            permission=permission_from_claims(claims),
            client_protocol=client.client_protocol,
            attributes=dict(claims.attributes),
        )
        participant = ParticipantRecord(room, info, send, close)
        room.participants[claims.identity] = participant
        room.ever_joined = room.ever_joined or not participant.dependent
        return participant

    def set_state(
        self, participant: ParticipantRecord, state: models.ParticipantInfo.State
    ) -> None:
        if participant.info.state == state:
            return
        participant.info.state = state
        participant.bump()
        if state != models.ParticipantInfo.JOINING:
            participant.room.broadcast(participant, include_self=False)

    def leave(self, participant: ParticipantRecord, reason: models.DisconnectReason) -> None:
        """Remove ``participant`` if still present and tell the others it left."""
        room = participant.room
        if room.participants.get(participant.identity) is not participant:
            return
        del room.participants[participant.identity]
        participant.info.state = models.ParticipantInfo.DISCONNECTED
        participant.info.disconnect_reason = reason
        participant.bump()
        room.broadcast(participant, include_self=False)

    def add_track(
        self, participant: ParticipantRecord, request: rtc.AddTrackRequest
    ) -> models.TrackInfo:
        """Allocate a ``TR_`` sid for a pending publication (paired later with media)."""
        kind = "A" if request.type == models.AUDIO else "V"
        info = models.TrackInfo(
            sid=short_id(f"TR_{kind}"),
            type=request.type,
            name=request.name,
            muted=request.muted,
            width=request.width,
            height=request.height,
            source=request.source,
            disable_dtx=request.disable_dtx,
            stereo=request.stereo,
            disable_red=request.disable_red,
            stream=request.stream,
        )
        participant.pending_tracks[request.cid] = info
        return info

    def publish_track(
        self, participant: ParticipantRecord, cid: str, kind: int, mid: str
    ) -> models.TrackInfo | None:
        """Pair arriving media (``cid`` = its msid track id) with a pending AddTrack.

        Pairs by cid first, else the first pending track of the same kind. Returns the
        now-published TrackInfo (broadcast to the room) or None if nothing is pending.
        """
        key = cid if cid in participant.pending_tracks else None
        if key is None:
            key = next((c for c, t in participant.pending_tracks.items() if t.type == kind), None)
        if key is None:
            return None
        info = participant.pending_tracks.pop(key)
        info.mid = mid
        info.mime_type = "audio/opus" if kind == models.AUDIO else "video/vp8"
        participant.info.tracks.append(info)
        participant.info.is_publisher = True
        participant.bump()
        participant.room.broadcast(participant)
        if not participant.has_published:
            participant.has_published = True
            if not participant.dependent:
                self._on_event(ParticipantPublished(participant.room, participant))
        return info

    def unpublish_track(
        self, participant: ParticipantRecord, track_sid: str
    ) -> models.TrackInfo | None:
        """Remove a published track and broadcast the participant; None if unknown."""
        track = participant.track(track_sid)
        if track is None:
            return None
        participant.info.tracks.remove(track)
        participant.bump()
        participant.room.broadcast(participant)
        return track

    def set_muted(self, participant: ParticipantRecord, track_sid: str, muted: bool) -> bool:
        track = participant.track(track_sid)
        if track is None:
            return False
        track.muted = muted
        participant.bump()
        participant.room.broadcast(participant)
        return True

    def update_metadata(
        self, participant: ParticipantRecord, request: rtc.UpdateParticipantMetadata
    ) -> None:
        info = participant.info
        if request.metadata:
            info.metadata = request.metadata
        if request.name:
            info.name = request.name
        for key, value in request.attributes.items():
            if value:
                info.attributes[key] = value
            else:
                info.attributes.pop(key, None)
        participant.bump()
        participant.room.broadcast(participant)

    def participants(self, room: RoomRecord) -> Iterable[ParticipantRecord]:
        return list(room.participants.values())


def _leave(reason: models.DisconnectReason) -> rtc.SignalResponse:
    return rtc.SignalResponse(
        leave=rtc.LeaveRequest(reason=reason, action=rtc.LeaveRequest.DISCONNECT)
    )
