"""Re-dispatch supervisor: the planner's rules, the loop under autojump_clock with a
fake API, and end to end over HTTP against the tiny Twirp server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio.testing
from livekit.protocol import agent_dispatch as dispatch_pb
from livekit.protocol import models as models_pb

from trioagents.core import ConnectError, ConnectionClosedError
from trioagents.persistence import (
    JournalEntry,
    RedispatchCreated,
    RedispatchFailed,
    RedispatchPlanner,
    SqliteJournalStore,
    SupervisorEvent,
    SupervisorLeaseChanged,
    SupervisorOptions,
    SupervisorPollFailed,
    affinity_key,
    serve_redispatch_supervisor,
    watch_journaled_rooms,
    watch_marked_rooms,
)
from trioagents.transport import LiveKitAPIError, open_livekit_api

from ..transport.test_twirp_server import API_KEY, API_SECRET, start_fake_livekit

AGENT = models_pb.ParticipantInfo.Kind.AGENT
STANDARD = models_pb.ParticipantInfo.Kind.STANDARD


# The planner (pure rules).


def planner() -> RedispatchPlanner:
    return RedispatchPlanner(grace_period=10, retry_initial=1, retry_max=4)


def test_planner_waits_for_grace_and_answers_once() -> None:
    plan = planner()
    seen = {"watched": True, "agent_present": False, "humans_present": True}
    assert not plan.observe("r", 0, **seen)
    assert not plan.observe("r", 9.9, **seen)
    assert plan.observe("r", 10, **seen)
    assert not plan.observe("r", 11, **seen)  # in flight
    plan.dispatch_succeeded("r")
    assert not any(plan.observe("r", t, **seen) for t in range(12, 100))


def test_planner_backoff_doubles_and_caps() -> None:
    plan = planner()
    seen = {"watched": True, "agent_present": False, "humans_present": True}
    plan.observe("r", 0, **seen)
    assert plan.observe("r", 10, **seen)
    delays = []
    now = 10.0
    for _ in range(5):
        delays.append(plan.dispatch_failed("r", now))
        assert not plan.observe("r", now + delays[-1] - 0.01, **seen)
        now += delays[-1]
        assert plan.observe("r", now, **seen)
    assert delays == [1, 2, 4, 4, 4]


def test_planner_resets_on_return_and_pauses_without_humans() -> None:
    plan = planner()
    gone = {"watched": True, "agent_present": False, "humans_present": True}
    plan.observe("r", 0, **gone)
    assert not plan.observe("r", 5, watched=True, agent_present=False, humans_present=False)
    assert not plan.observe("r", 12, **gone)  # the absence clock restarted at 12
    assert plan.observe("r", 22, **gone)
    plan.dispatch_succeeded("r")
    assert not plan.observe("r", 30, watched=True, agent_present=True, humans_present=True)
    assert not plan.observe("r", 31, **gone)  # a new vanish
    assert plan.observe("r", 41, **gone)
    assert plan.absent_for("r", 45) == 14
    assert not plan.observe("other", 100, watched=False, agent_present=False, humans_present=True)
    plan.forget_except(["other"])
    assert plan.baseline("r") is None
    assert plan.absent_for("r", 50) == 0.0


# The loop, with a fake API under autojump_clock.


@dataclass
class FakeAPI:
    rooms: dict[str, list[models_pb.ParticipantInfo]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    dispatches: list[dispatch_pb.AgentDispatch] = field(default_factory=list)
    create_failures: list[Exception] = field(default_factory=list)
    apply_then_fail: bool = False
    list_failures: list[Exception] = field(default_factory=list)

    def join(self, room: str, identity: str, kind: int = STANDARD) -> None:
        self.rooms.setdefault(room, []).append(
            models_pb.ParticipantInfo(identity=identity, kind=kind)  # type: ignore[arg-type]  # protobuf enums are ints
        )

    def leave(self, room: str, identity: str) -> None:
        self.rooms[room] = [p for p in self.rooms[room] if p.identity != identity]

    async def list_rooms(self) -> list[models_pb.Room]:
        await trio.lowlevel.checkpoint()
        if self.list_failures:
            raise self.list_failures.pop(0)
        return [models_pb.Room(name=n, metadata=self.metadata.get(n, "")) for n in self.rooms]

    async def list_participants(self, room: str) -> list[models_pb.ParticipantInfo]:
        await trio.lowlevel.checkpoint()
        return list(self.rooms[room])

    async def list_dispatch(self, room: str) -> list[dispatch_pb.AgentDispatch]:
        await trio.lowlevel.checkpoint()
        return [d for d in self.dispatches if d.room == room]

    async def create_dispatch(
        self, room: str, agent_name: str, *, metadata: str = ""
    ) -> dispatch_pb.AgentDispatch:
        await trio.lowlevel.checkpoint()
        if self.create_failures:
            error = self.create_failures.pop(0)
            if self.apply_then_fail:
                self.dispatches.append(self._dispatch(room, agent_name, metadata))
            raise error
        dispatch = self._dispatch(room, agent_name, metadata)
        self.dispatches.append(dispatch)
        return dispatch

    def _dispatch(self, room: str, agent_name: str, metadata: str) -> dispatch_pb.AgentDispatch:
        return dispatch_pb.AgentDispatch(
            id=f"AD_{len(self.dispatches)}", room=room, agent_name=agent_name, metadata=metadata
        )


async def always(room: models_pb.Room, people: Sequence[models_pb.ParticipantInfo]) -> bool:
    return True


OPTIONS = SupervisorOptions(poll_interval=1, grace_period=5, retry_initial=2, retry_max=8)


async def run_for(api: FakeAPI, seconds: float, **kwargs: object) -> list[SupervisorEvent]:
    send, receive = trio.open_memory_channel[SupervisorEvent](100)
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: serve_redispatch_supervisor(
                api,
                "support",
                events=send,
                task_status=task_status,
                **{"watch": always, "options": OPTIONS, **kwargs},  # type: ignore[arg-type]
            )
        )
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    send.close()
    return [event async for event in receive]


async def test_vanished_agent_gets_one_dispatch_after_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api = FakeAPI()
    api.join("call-1", "caller")
    api.join("call-1", "agent-A", AGENT)
    api.join("quiet", "agent-B", AGENT)  # nobody to serve

    async def worker_dies() -> None:
        await trio.sleep(3)
        api.leave("call-1", "agent-A")
        api.leave("quiet", "agent-B")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(worker_dies)
        events = await run_for(api, 60)
    assert [(d.room, d.agent_name) for d in api.dispatches] == [("call-1", "support")]
    (created,) = events
    assert isinstance(created, RedispatchCreated)
    assert created.dispatch_id == "AD_0"
    assert 5 <= created.absent_for <= 6


async def test_failed_dispatch_backs_off_then_succeeds_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api = FakeAPI(
        create_failures=[
            LiveKitAPIError("x", code="internal", status=500, method="CreateDispatch"),
            ConnectError("down"),
        ]
    )
    api.join("call-1", "caller")
    events = await run_for(api, 60)
    failed = [e for e in events if isinstance(e, RedispatchFailed)]
    assert [e.retry_in for e in failed] == [2, 4]
    assert [type(e) for e in events] == [RedispatchFailed, RedispatchFailed, RedispatchCreated]
    assert len(api.dispatches) == 1


async def test_ambiguous_failure_is_not_dispatched_twice(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api = FakeAPI(create_failures=[ConnectionClosedError("reset")], apply_then_fail=True)
    api.dispatches.append(
        dispatch_pb.AgentDispatch(id="AD_old", room="call-1", agent_name="support")
    )
    api.join("call-1", "caller")
    events = await run_for(api, 60)
    assert [d.id for d in api.dispatches] == ["AD_old", "AD_1"]
    assert isinstance(events[0], RedispatchFailed)
    created = events[1]
    assert isinstance(created, RedispatchCreated)
    assert (created.dispatch_id, created.recovered) == ("AD_1", True)
    assert len(events) == 2


async def test_poll_errors_are_reported_and_polling_continues(
    autojump_clock: trio.testing.MockClock,
) -> None:
    api = FakeAPI(list_failures=[ConnectError("down"), ConnectError("down")])
    api.join("call-1", "caller")
    events = await run_for(api, 30)
    assert [type(e) for e in events] == [
        SupervisorPollFailed,
        SupervisorPollFailed,
        RedispatchCreated,
    ]


async def test_unwatched_rooms_and_returning_agents(autojump_clock: trio.testing.MockClock) -> None:
    api = FakeAPI()
    api.join("plain", "caller")
    api.join("marked", "caller")
    api.metadata["marked"] = '{"supervise": true}'
    api.metadata["plain"] = "not json"

    async def flap() -> None:
        # The agent of "marked" comes back after the first dispatch, then dies again.
        await trio.sleep(10)
        api.join("marked", "agent-2", AGENT)
        await trio.sleep(10)
        api.leave("marked", "agent-2")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(flap)
        events = await run_for(api, 60, watch=watch_marked_rooms("supervise"))
    assert [d.room for d in api.dispatches] == ["marked", "marked"]
    assert all(isinstance(e, RedispatchCreated) for e in events)


# End to end: HTTP API, tiny Twirp server, SQLite journal.


async def test_end_to_end_with_twirp_server_and_journal(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    fake = await start_fake_livekit(nursery)
    fake.add_participant("call-7", "alice")
    fake.add_participant("call-7", "agent-job-1", agent=True)
    fake.add_participant("call-8", "bob")  # no journal: not ours to supervise
    async with await SqliteJournalStore.open(tmp_path / "j.db") as store:
        key = affinity_key("call-7", "alice", "support")
        await store.append(
            JournalEntry(session_key=key, sequence=0, agent_name="support", written_at=0.0)
        )
        send, receive = trio.open_memory_channel[SupervisorEvent](10)
        async with (
            open_livekit_api(fake.url, API_KEY, API_SECRET) as api,
            trio.open_nursery() as inner,
        ):
            await inner.start(
                lambda task_status: serve_redispatch_supervisor(
                    api,
                    "support",
                    watch=watch_journaled_rooms(store, "support"),
                    options=OPTIONS,
                    events=send,
                    task_status=task_status,
                )
            )
            assert fake.dispatches == {}
            fake.remove("call-7", "agent-job-1")
            event = await receive.receive()
            assert isinstance(event, RedispatchCreated)
            await trio.sleep(30)
            inner.cancel_scope.cancel()
    assert [(d.room, d.agent_name) for ds in fake.dispatches.values() for d in ds] == [
        ("call-7", "support")
    ]
    assert receive.statistics().current_buffer_used == 0


@pytest.mark.parametrize("kind", [AGENT, STANDARD])
async def test_custom_own_agent_predicate(
    kind: int, autojump_clock: trio.testing.MockClock
) -> None:
    api = FakeAPI()
    api.join("r", "caller")
    api.join("r", "other-bot", AGENT)  # an agent, but not ours
    options = SupervisorOptions(
        poll_interval=1, grace_period=5, is_own_agent=lambda p: p.identity.startswith("support-")
    )
    api.join("r", "support-1", kind)
    if kind == STANDARD:
        api.leave("r", "support-1")
    await run_for(api, 20, options=options)
    assert len(api.dispatches) == (0 if kind == AGENT else 1)


class FakeLeases:
    """LeaseStore in memory on Trio's clock (the real backends: test_stores.py; a
    store call in a thread would let the autojump clock run ahead of it)."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[str, float]] = {}

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        await trio.lowlevel.checkpoint()
        now = trio.current_time()
        current = self.held.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self.held[name] = (holder, now + ttl)
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        await trio.lowlevel.checkpoint()
        if self.held.get(name, ("", 0.0))[0] == holder:
            del self.held[name]


async def test_two_supervisors_share_a_lease_one_dispatches_the_other_takes_over(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Only the lease holder dispatches; when it stops, the standby takes over."""
    api = FakeAPI()
    api.join("call-1", "caller")
    api.join("call-1", "agent-A", AGENT)
    leases = FakeLeases()
    events: dict[str, list[SupervisorEvent]] = {"first": [], "second": []}

    async def supervise(name: str, *, task_status: trio.TaskStatus[None]) -> None:
        send, receive = trio.open_memory_channel[SupervisorEvent](100)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect, receive, events[name])
            await serve_redispatch_supervisor(
                api, "support", watch=always, options=OPTIONS, events=send, lease=leases,
                task_status=task_status,
            )  # fmt: skip

    async def collect(
        receive: trio.MemoryReceiveChannel[SupervisorEvent], into: list[SupervisorEvent]
    ) -> None:
        async for event in receive:  # one by one: the test reads them while running
            into.append(event)  # noqa: PERF401

    async with trio.open_nursery() as outer:
        async with trio.open_nursery() as first:
            await first.start(supervise, "first")
            await outer.start(supervise, "second")
            api.leave("call-1", "agent-A")  # the worker dies
            await trio.sleep(20)
            assert [d.agent_name for d in api.dispatches] == ["support"]  # once, not twice
            api.join("call-1", "agent-B", AGENT)  # the new job joined
            await trio.sleep(5)
            first.cancel_scope.cancel()  # the active supervisor stops (lease released)
        [first_active] = [e for e in events["first"] if isinstance(e, SupervisorLeaseChanged)]
        held = leases.held.get("redispatch-supervisor:support")
        assert held is None or held[0] != first_active.holder  # given back on exit
        api.leave("call-1", "agent-B")  # and this job's worker dies too
        await trio.sleep(20)
        outer.cancel_scope.cancel()
    assert len(api.dispatches) == 2  # the second vanish answered by the standby
    changes = {
        name: [e.active for e in got if isinstance(e, SupervisorLeaseChanged)]
        for name, got in events.items()
    }
    assert changes == {"first": [True], "second": [False, True]}
    created = {
        name: sum(isinstance(e, RedispatchCreated) for e in got) for name, got in events.items()
    }
    assert created == {"first": 1, "second": 1}
