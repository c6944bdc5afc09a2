"""Participants registry: ``ParticipantInfo`` records in, room events out (pure logic).

Invariants: a participant is known by sid; an update with a lower ``version`` than
the one held is ignored (the protocol's rule); state DISCONNECTED removes the
participant. :meth:`ParticipantRegistry.reset` replaces the whole set after a
(re)join and reports the differences, so a rejoin does not duplicate events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from livekit.protocol import models

from ._events import (
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    RemoteTrackPublished,
    RemoteTrackUnpublished,
    RoomEvent,
)

__all__ = ["ParticipantRegistry", "RemoteParticipant", "TrackPublication"]

_KINDS = {models.TrackType.AUDIO: "audio", models.TrackType.VIDEO: "video"}


@dataclass(frozen=True, slots=True)
class TrackPublication:
    sid: str
    kind: str
    name: str
    muted: bool


@dataclass(slots=True)
class RemoteParticipant:
    """A snapshot updated in place by the registry; read it, do not change it."""

    sid: str
    identity: str
    name: str
    kind: int
    version: int
    attributes: dict[str, str] = field(default_factory=dict)
    tracks: dict[str, TrackPublication] = field(default_factory=dict)


def _publications(info: Any) -> dict[str, TrackPublication]:
    return {
        t.sid: TrackPublication(t.sid, _KINDS.get(t.type, "data"), t.name, t.muted)
        for t in info.tracks
    }


class ParticipantRegistry:
    """Remote participants by sid; the local participant's sid is skipped."""

    def __init__(self, local_sid: str = "") -> None:
        self.local_sid = local_sid
        self.participants: dict[str, RemoteParticipant] = {}
        # identity -> models.DisconnectReason of its last departure (until it returns)
        self.departed: dict[str, int] = {}

    def by_identity(self, identity: str) -> RemoteParticipant | None:
        for participant in self.participants.values():
            if participant.identity == identity:
                return participant
        return None

    def apply(self, infos: Iterable[Any]) -> list[RoomEvent]:
        events: list[RoomEvent] = []
        for info in infos:
            if info.sid == self.local_sid or not info.sid:
                continue
            if info.state == models.ParticipantInfo.DISCONNECTED:
                events.extend(self._remove(info.sid, info.disconnect_reason))
            else:
                events.extend(self._upsert(info))
        return events

    def reset(self, local_sid: str, infos: Iterable[Any]) -> list[RoomEvent]:
        """Replace the set after a join; events only for what actually changed."""
        self.local_sid = local_sid
        infos = [i for i in infos if i.sid != local_sid]
        present = {i.sid for i in infos}
        events: list[RoomEvent] = []
        for sid in [s for s in self.participants if s not in present]:
            events.extend(self._remove(sid))
        events.extend(self.apply(infos))
        return events

    def _remove(self, sid: str, reason: int = 0) -> list[RoomEvent]:
        gone = self.participants.pop(sid, None)
        if gone is None:
            return []
        self.departed[gone.identity] = reason
        events: list[RoomEvent] = [RemoteTrackUnpublished(gone.identity, t) for t in gone.tracks]
        events.append(ParticipantDisconnected(gone.identity, gone.sid, reason))
        return events

    def _upsert(self, info: Any) -> list[RoomEvent]:
        known = self.participants.get(info.sid)
        if known is None:
            known = RemoteParticipant(info.sid, info.identity, info.name, info.kind, info.version)
            self.participants[info.sid] = known
            self.departed.pop(info.identity, None)
            events: list[RoomEvent] = [ParticipantConnected(info.identity, info.sid)]
        elif info.version and info.version < known.version:
            return []
        else:
            events = []
        known.version, known.name = info.version, info.name
        events.extend(self._diff_attributes(known, dict(info.attributes)))
        events.extend(self._diff_tracks(known, _publications(info)))
        return events

    @staticmethod
    def _diff_attributes(known: RemoteParticipant, new: Mapping[str, str]) -> list[RoomEvent]:
        changed = {k: v for k, v in new.items() if known.attributes.get(k) != v}
        changed.update({k: "" for k in known.attributes if k not in new})
        known.attributes = dict(new)
        return [ParticipantAttributesChanged(known.identity, changed)] if changed else []

    @staticmethod
    def _diff_tracks(known: RemoteParticipant, new: dict[str, TrackPublication]) -> list[RoomEvent]:
        events: list[RoomEvent] = [
            RemoteTrackPublished(known.identity, p.sid, p.kind, p.name)
            for sid, p in new.items()
            if sid not in known.tracks
        ]
        events += [RemoteTrackUnpublished(known.identity, s) for s in known.tracks if s not in new]
        known.tracks = new
        return events
