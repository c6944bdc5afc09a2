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
        assert packet.user.participant_identity == "alice"
        assert packet.user.payload == b"hi"
        assert packet.sequence == 7
        assert packet.kind == models.DataPacket.RELIABLE
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
    assert hub.stats.data_dropped == 5
    assert hub.stats.data_forwarded == 0
    hub.route_data(s["bot"].participant, transcription, reliable=True)
    assert len(received(s["bob"])) == 1


def _text_header(claimed: str, *, text: bool = True) -> models.DataPacket:
    header = models.DataStream.Header(stream_id="s", topic="lk.transcription")
    if text:
        header.text_header.SetInParent()
    else:
        header.byte_header.name = "f"
    return models.DataPacket(participant_identity=claimed, stream_header=header)


def test_an_agent_may_attribute_text_streams_and_chat_to_someone_else() -> None:
    """livekit-server keeps an agent's claimed identity (user transcripts) and marks
    the content generated; the agent's own lines get the agent's identity."""
    hub, s, _ = make_hub()
    bot = s["bot"].participant
    chat = models.DataPacket(participant_identity="alice", chat_message=models.ChatMessage(id="c"))
    for packet in (_text_header("alice"), chat, _text_header(""), _text_header("bot")):
        hub.route_data(bot, packet.SerializeToString(), reliable=True)
    on_behalf, chat_line, unnamed, own = received(s["alice"])
    assert on_behalf.participant_identity == "alice"
    assert on_behalf.stream_header.text_header.generated
    assert chat_line.participant_identity == "alice"
    assert chat_line.chat_message.generated
    for packet in (unnamed, own):
        assert packet.participant_identity == "bot"
        assert not packet.stream_header.text_header.generated
    assert {p.participant_sid for p in received(s["alice"])} == {bot.sid}


def test_only_agents_publish_on_behalf_and_only_text_headers() -> None:
    hub, s, _ = make_hub()
    hub.route_data(s["alice"].participant, _text_header("bob").SerializeToString(), reliable=True)
    byte_stream = _text_header("alice", text=False).SerializeToString()
    hub.route_data(s["bot"].participant, byte_stream, reliable=True)
    chunk = models.DataPacket(
        participant_identity="alice", stream_chunk=models.DataStream.Chunk(stream_id="s")
    )
    hub.route_data(s["bot"].participant, chunk.SerializeToString(), reliable=True)
    forged, byte_header, chunk_packet = received(s["carol"])
    assert forged.participant_identity == "alice"  # a standard participant cannot forge
    assert not forged.stream_header.text_header.generated
    assert byte_header.participant_identity == "bot"
    assert chunk_packet.participant_identity == "bot"


def test_publication_subscribes_others_and_first_subscriber_tells_publisher() -> None:
    hub, s, sent = make_hub()
    alice = s["alice"].participant
    track = RelayedTrack(object(), alice.sid, "TR_AX")
    hub.track_published(alice, track)
    assert s["bob"].subscribed == ["TR_AX"]
    assert s["alice"].subscribed == []
    sent.clear()
    hub.subscribed(s["bob"].participant, "TR_AX")
    hub.subscribed(s["carol"].participant, "TR_AX")
    notes = [m for m in sent if m.HasField("track_subscribed")]
    assert [m.track_subscribed.track_sid for m in notes] == ["TR_AX"]
    assert hub.tracks_for(s["carol"]) == [track]
    hub.participant_gone(alice)
    assert s["bob"].unsubscribed == ["TR_AX"]
    assert "TR_AX" not in hub.published
