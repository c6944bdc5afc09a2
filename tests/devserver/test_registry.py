"""Room/participant/track/dispatch state, sans-I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livekit.protocol import agent_dispatch, models, rtc

from trioagents.devserver._registry import (
    DispatchAdded,
    DispatchDeleted,
    ParticipantPublished,
    ParticipantRecord,
    Registry,
    RoomCreated,
    RoomDeleted,
)
from trioagents.protocol import TokenClaims, VideoGrants


@dataclass
class Inbox:
    messages: list[rtc.SignalResponse] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)

    def kinds(self) -> list[str | None]:
        return [m.WhichOneof("message") for m in self.messages]

    def updates(self) -> list[models.ParticipantInfo]:
        return [p for m in self.messages if m.HasField("update") for p in m.update.participants]


class World:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.registry = Registry(on_event=self.events.append, wall_clock=lambda: 1_700_000_000.0)

    def join(
        self, identity: str, room: str = "r", **claims: Any
    ) -> tuple[ParticipantRecord, Inbox]:
        video = claims.pop("video", None) or VideoGrants(room_join=True, room=room)
        token = TokenClaims(api_key="k", identity=identity, video=video, **claims)
        inbox = Inbox()
        record = self.registry.join(
            token, models.ClientInfo(), inbox.messages.append, inbox.closed.append
        )
        return record, inbox


def test_first_join_creates_room_with_implicit_dispatch() -> None:
    world = World()
    alice, _ = world.join("alice")
    room = world.registry.rooms["r"]
    assert room.info.sid.startswith("RM_") and alice.sid.startswith("PA_")
    assert [d.agent_name for d in room.dispatches.values()] == [""]
    assert [type(e) for e in world.events] == [RoomCreated]


def test_token_room_config_names_the_agents() -> None:
    world = World()
    world.join("alice", room_config={"agents": [{"agentName": "helper", "metadata": "m"}]})
    dispatches = list(world.registry.rooms["r"].dispatches.values())
    assert [(d.agent_name, d.metadata) for d in dispatches] == [("helper", "m")]


def test_duplicate_identity_evicts_the_first_with_a_reason() -> None:
    world = World()
    first, first_inbox = world.join("alice")
    bob, bob_inbox = world.join("bob")
    second, _ = world.join("alice")
    assert first_inbox.messages[-1].leave.reason == models.DisconnectReason.DUPLICATE_IDENTITY
    assert first_inbox.closed == [models.DisconnectReason.DUPLICATE_IDENTITY]
    assert world.registry.rooms["r"].participants["alice"] is second
    gone = [p for p in bob_inbox.updates() if p.sid == first.sid]
    assert gone[-1].state == models.ParticipantInfo.DISCONNECTED


def test_versions_strictly_increase_and_updates_reach_others() -> None:
    world = World()
    alice, _ = world.join(
        "alice", video=VideoGrants(room_join=True, room="r", can_update_own_metadata=True)
    )
    _, bob_inbox = world.join("bob")
    versions = [alice.info.version]
    world.registry.set_state(alice, models.ParticipantInfo.JOINED)
    versions.append(alice.info.version)
    world.registry.update_metadata(alice, rtc.UpdateParticipantMetadata(attributes={"a": "1"}))
    versions.append(alice.info.version)
    world.registry.update_metadata(alice, rtc.UpdateParticipantMetadata(attributes={"a": ""}))
    versions.append(alice.info.version)
    assert versions == sorted(set(versions))
    seen = [p for p in bob_inbox.updates() if p.sid == alice.sid]
    assert [p.version for p in seen] == versions[1:]
    assert dict(seen[1].attributes) == {"a": "1"} and dict(seen[2].attributes) == {}


def test_hidden_participants_are_never_described_to_others() -> None:
    world = World()
    _, alice_inbox = world.join("alice")
    ghost, _ = world.join("ghost", video=VideoGrants(room_join=True, room="r", hidden=True))
    world.registry.set_state(ghost, models.ParticipantInfo.ACTIVE)
    world.registry.leave(ghost, models.DisconnectReason.CLIENT_INITIATED)
    assert all(p.identity != "ghost" for p in alice_inbox.updates())
    assert world.registry.rooms["r"].visible_infos() == [
        world.registry.rooms["r"].participants["alice"].info
    ]


def test_publication_pairs_by_cid_then_by_kind() -> None:
    world = World()
    alice, _ = world.join("alice")
    mic = world.registry.add_track(
        alice, rtc.AddTrackRequest(cid="mic", type=models.AUDIO, source=models.MICROPHONE)
    )
    other = world.registry.add_track(alice, rtc.AddTrackRequest(cid="x", type=models.AUDIO))
    assert mic.sid.startswith("TR_")
    assert world.registry.publish_track(alice, "mic", models.AUDIO, "1") is mic
    assert world.registry.publish_track(alice, "unknown-msid", models.AUDIO, "2") is other
    assert world.registry.publish_track(alice, "more", models.AUDIO, "3") is None
    assert [t.sid for t in alice.info.tracks] == [mic.sid, other.sid]
    assert mic.mime_type == "audio/opus" and mic.mid == "1"
    published = [e for e in world.events if isinstance(e, ParticipantPublished)]
    assert len(published) == 1  # first publication only


def test_agents_do_not_trigger_publisher_jobs() -> None:
    world = World()
    bot, _ = world.join(
        "bot", kind="agent", video=VideoGrants(room_join=True, room="r", agent=True)
    )
    world.registry.add_track(bot, rtc.AddTrackRequest(cid="c", type=models.AUDIO))
    world.registry.publish_track(bot, "c", models.AUDIO, "0")
    assert bot.info.kind == models.ParticipantInfo.AGENT
    assert not any(isinstance(e, ParticipantPublished) for e in world.events)


def test_dispatch_add_delete_and_room_delete_emit_events_and_close_everyone() -> None:
    world = World()
    _, inbox = world.join("alice")
    room = world.registry.rooms["r"]
    dispatch = world.registry.add_dispatch(room, "helper", "meta")
    assert dispatch.id.startswith("AD_")
    assert world.registry.delete_dispatch(room, dispatch.id) is dispatch
    assert world.registry.delete_dispatch(room, dispatch.id) is None
    assert world.registry.delete_room("r") is room
    assert world.registry.delete_room("r") is None
    assert inbox.messages[-1].leave.reason == models.DisconnectReason.ROOM_DELETED
    assert inbox.closed == [models.DisconnectReason.ROOM_DELETED]
    kinds = [type(e) for e in world.events]
    assert kinds == [RoomCreated, DispatchAdded, DispatchDeleted, RoomDeleted]


def test_create_room_with_explicit_agents_has_no_implicit_dispatch() -> None:
    world = World()
    room, created = world.registry.create_room(
        "x", agents=[agent_dispatch.RoomAgentDispatch(agent_name="a")]
    )
    again, created_again = world.registry.create_room("x")
    assert created and not created_again and again is room
    assert [d.agent_name for d in room.dispatches.values()] == ["a"]
