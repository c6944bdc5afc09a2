"""Data packet routing and subscription bookkeeping in the hub (no media)."""

from __future__ import annotations

from typing import Any

from livekit.protocol import metrics as metrics_pb
from livekit.protocol import models

from trioagents.devserver._hub import SignalHub
from trioagents.devserver._media import RelayedTrack
from trioagents.devserver._registry import ParticipantRecord, Registry
from trioagents.protocol import TokenClaims, VideoGrants


class FakeSession:
    def __init__(self, participant: ParticipantRecord, auto_subscribe: bool = True) -> None:
        self.participant = participant
        self.auto_subscribe = auto_subscribe
        self.data: list[tuple[models.DataPacket, bool]] = []
        self.subscribed: list[str] = []
        self.unsubscribed: list[str] = []

    def subscribe(self, track: RelayedTrack) -> None:
        self.subscribed.append(track.track_sid)

    def unsubscribe(self, track_sid: str) -> None:
        self.unsubscribed.append(track_sid)

    def deliver_data(self, data: bytes, *, reliable: bool) -> None:
        self.data.append((models.DataPacket.FromString(data), reliable))


def make_hub() -> tuple[SignalHub, dict[str, FakeSession], list[Any]]:
    registry = Registry(on_event=lambda e: None, wall_clock=lambda: 0.0)
    hub = SignalHub(registry, None, None, models.ServerInfo, lambda: 0.0)
    sent: list[Any] = []
    sessions: dict[str, FakeSession] = {}
    for identity, grants in (
        ("alice", VideoGrants(room_join=True, room="r")),
        ("bob", VideoGrants(room_join=True, room="r")),
        ("carol", VideoGrants(room_join=True, room="r")),
        ("mute", VideoGrants(room_join=True, room="r", can_publish=False)),
        ("bot", VideoGrants(room_join=True, room="r", agent=True)),
    ):
        claims = TokenClaims(api_key="k", identity=identity, video=grants)
        record = registry.join(claims, models.ClientInfo(), sent.append, lambda r: None)
        session = FakeSession(record)
        hub.sessions[record.sid] = session
        sessions[identity] = session
    return hub, sessions, sent


def received(session: FakeSession) -> list[models.DataPacket]:
    return [packet for packet, _ in session.data]


def test_user_packets_are_stamped_and_broadcast() -> None:
    hub, s, _ = make_hub()
    forged = models.DataPacket(
        participant_identity="mallory",
        user=models.UserPacket(payload=b"hi", topic="t", participant_identity="mallory"),
        sequence=7,
    )
    hub.route_data(s["alice"].participant, forged.SerializeToString(), reliable=True)
    for name in ("bob", "carol", "mute", "bot"):
        (packet,) = received(s[name])
        assert packet.participant_identity == "alice"
        assert packet.participant_sid == s["alice"].participant.sid
        assert packet.user.participant_identity == "alice" and packet.user.payload == b"hi"
        assert packet.sequence == 7 and packet.kind == models.DataPacket.RELIABLE
    assert received(s["alice"]) == []


def test_destinations_limit_recipients_and_lossy_stays_lossy() -> None:
    hub, s, _ = make_hub()
    packet = models.DataPacket(destination_identities=["bob"], user=models.UserPacket(payload=b"x"))
    hub.route_data(s["alice"].participant, packet.SerializeToString(), reliable=False)
    assert [(p.user.payload, r) for p, r in s["bob"].data] == [(b"x", False)]
    assert received(s["carol"]) == []
    inner = models.DataPacket(
        user=models.UserPacket(payload=b"y", destination_identities=["carol"])
    )
    hub.route_data(s["alice"].participant, inner.SerializeToString(), reliable=True)
    assert [p.user.payload for p in received(s["carol"])] == [b"y"]
    assert len(received(s["bob"])) == 1


def test_senders_without_data_permission_garbage_and_metrics_are_dropped() -> None:
    hub, s, _ = make_hub()
    ok = models.DataPacket(user=models.UserPacket(payload=b"x")).SerializeToString()
    hub.route_data(s["mute"].participant, ok, reliable=True)
    hub.route_data(s["alice"].participant, b"\xff\xff\xff", reliable=True)
    hub.route_data(s["alice"].participant, b"", reliable=True)
    metrics = models.DataPacket(metrics=metrics_pb.MetricsBatch()).SerializeToString()
    hub.route_data(s["alice"].participant, metrics, reliable=True)
    transcription = models.DataPacket(transcription=models.Transcription()).SerializeToString()
    hub.route_data(s["alice"].participant, transcription, reliable=True)
    assert received(s["bob"]) == []
    assert hub.stats.data_dropped == 5 and hub.stats.data_forwarded == 0
    hub.route_data(s["bot"].participant, transcription, reliable=True)
    assert len(received(s["bob"])) == 1


def test_publication_subscribes_others_and_first_subscriber_tells_publisher() -> None:
    hub, s, sent = make_hub()
    alice = s["alice"].participant
    track = RelayedTrack(object(), alice.sid, "TR_AX")
    hub.track_published(alice, track)
    assert s["bob"].subscribed == ["TR_AX"] and s["alice"].subscribed == []
    sent.clear()
    hub.subscribed(s["bob"].participant, "TR_AX")
    hub.subscribed(s["carol"].participant, "TR_AX")
    notes = [m for m in sent if m.HasField("track_subscribed")]
    assert [m.track_subscribed.track_sid for m in notes] == ["TR_AX"]
    assert hub.tracks_for(s["carol"]) == [track]
    hub.participant_gone(alice)
    assert s["bob"].unsubscribed == ["TR_AX"] and "TR_AX" not in hub.published
