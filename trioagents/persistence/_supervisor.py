r"""Re-dispatch supervisor: give a room its agent back when the agent's worker died.

LiveKit Cloud re-dispatches a job whose worker vanished; a self-hosted server does
not (livekit/agents#1472): the dispatch stays, its job is dead, the caller waits in
silence. :func:`serve_redispatch_supervisor` polls RoomService (ListRooms, then
ListParticipants per room) and, for a *watched* room whose agent participant has
been gone longer than a grace period while other participants remain, creates one
new dispatch through AgentDispatchService. The new job resumes from the journal
(same affinity key, same agent, same context).

"Never two dispatches for one vanish" holds even when CreateDispatch fails
ambiguously (the connection broke after the server acted): before each retry the
supervisor lists the room's dispatches and counts a new one for our agent, absent
from the list taken before the first attempt, as success.

The decisions live in :class:`RedispatchPlanner` (pure); this module does the I/O.
Time is Trio's clock. Poll failures are reported and retried on the next poll; they
never stop the supervisor. Several supervisors may run for one agent name when they
share a ``lease`` store (the journal stores are :class:`LeaseStore`\ s): only the
one holding the lease polls and dispatches, the others stand by and take over
within ``lease_ttl`` when it stops renewing. Without a lease, two supervisors could
both dispatch for one vanish (the duplicate job then loses the journal's
optimistic-concurrency race and stops).

Rejected alternative: webhooks. They need an HTTP endpoint reachable from the
server and lose events while the receiver restarts; polling is self-healing.
A webhook receiver can still feed the same planner later.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import trio
from livekit.protocol import agent_dispatch as dispatch_pb
from livekit.protocol import models as models_pb

from ..core import TransportError, short_id
from ..transport import LiveKitAPIError
from ._errors import JournalStoreError
from ._journal import affinity_key
from ._redispatch_plan import RedispatchPlanner
from ._store import JournalStore, LeaseStore

__all__ = [
    "RedispatchCreated",
    "RedispatchFailed",
    "RoomAdminAPI",
    "RoomWatch",
    "SupervisorEvent",
    "SupervisorLeaseChanged",
    "SupervisorOptions",
    "SupervisorPollFailed",
    "serve_redispatch_supervisor",
    "watch_journaled_rooms",
    "watch_marked_rooms",
]

_RELEASE_GRACE = 2.0  # seconds to give the lease back on exit


class RoomAdminAPI(Protocol):
    """The calls the supervisor makes (:class:`~trioagents.transport.LiveKitAPI` fits)."""

    async def list_rooms(self) -> list[models_pb.Room]: ...

    async def list_participants(self, room: str) -> list[models_pb.ParticipantInfo]: ...

    async def list_dispatch(self, room: str) -> list[dispatch_pb.AgentDispatch]: ...

    async def create_dispatch(
        self, room: str, agent_name: str, *, metadata: str = ""
    ) -> dispatch_pb.AgentDispatch: ...


RoomWatch: TypeAlias = Callable[
    [models_pb.Room, Sequence[models_pb.ParticipantInfo]], Awaitable[bool]
]
"""Decides whether a room is supervised, given the room and its non-agent participants."""


def _is_agent(participant: models_pb.ParticipantInfo) -> bool:
    return bool(participant.kind == models_pb.ParticipantInfo.Kind.AGENT)


@dataclass(frozen=True, slots=True)
class SupervisorOptions:
    """``poll_interval``/``grace_period``/retry delays in seconds of Trio's clock.

    ``is_own_agent`` recognises our agent's participant (default: any participant of
    kind AGENT); ``dispatch_metadata`` is passed to CreateDispatch.
    """

    poll_interval: float = 5.0
    grace_period: float = 15.0
    retry_initial: float = 2.0
    retry_max: float = 120.0
    dispatch_metadata: str = ""
    is_own_agent: Callable[[models_pb.ParticipantInfo], bool] = _is_agent
    lease_ttl: float | None = None  # None: three poll intervals


@dataclass(frozen=True, slots=True)
class RedispatchCreated:
    room: str
    agent_name: str
    dispatch_id: str
    absent_for: float
    recovered: bool = False  # True: found the dispatch an ambiguous failure had created


@dataclass(frozen=True, slots=True)
class RedispatchFailed:
    room: str
    agent_name: str
    error: Exception
    retry_in: float


@dataclass(frozen=True, slots=True)
class SupervisorPollFailed:
    error: Exception
    room: str | None = None


@dataclass(frozen=True, slots=True)
class SupervisorLeaseChanged:
    """This supervisor became the active one (``active``) or a standby."""

    active: bool
    holder: str


SupervisorEvent: TypeAlias = (
    RedispatchCreated | RedispatchFailed | SupervisorPollFailed | SupervisorLeaseChanged
)


def watch_journaled_rooms(store: JournalStore, agent_name: str) -> RoomWatch:
    """Watch rooms where a remaining participant has a journal for ``agent_name``."""

    async def watch(room: models_pb.Room, people: Sequence[models_pb.ParticipantInfo]) -> bool:
        for person in people:
            key = affinity_key(room.name, person.identity, agent_name)
            if await store.load_latest(key) is not None:
                return True
        return False

    return watch


def watch_marked_rooms(marker: str) -> RoomWatch:
    """Watch rooms whose metadata is a JSON object with a truthy ``marker`` key."""

    async def watch(room: models_pb.Room, people: Sequence[models_pb.ParticipantInfo]) -> bool:
        try:
            metadata: Any = json.loads(room.metadata or "{}")
        except ValueError:
            return False
        return isinstance(metadata, dict) and bool(metadata.get(marker))

    return watch


async def serve_redispatch_supervisor(
    api: RoomAdminAPI,
    agent_name: str,
    *,
    watch: RoomWatch,
    options: SupervisorOptions = SupervisorOptions(),  # frozen, shared safely
    events: trio.MemorySendChannel[SupervisorEvent] | None = None,
    lease: LeaseStore | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Poll forever (until cancelled); reports readiness after the first poll.

    With ``lease``, only the supervisor holding the lease for ``agent_name`` polls
    (see the module docstring); the lease is released, shielded and bounded, on exit.

    Cancellation stops it at any checkpoint (a poll in progress is abandoned; a
    dispatch whose request was sent may or may not exist, and a restarted
    supervisor's baseline check does not know about it). ``events`` receives
    :data:`SupervisorEvent` records; sending to it is awaited (backpressure).
    Raises only what ``watch`` raises outside our error tree.
    """
    supervisor = _Supervisor(api, agent_name, watch, options, _planner(options), events)
    holding = _Holding(lease, agent_name, options)
    try:
        await holding.step(supervisor)
        task_status.started()
        while True:
            await trio.sleep(options.poll_interval)
            await holding.step(supervisor)
    finally:
        await holding.release()


def _planner(options: SupervisorOptions) -> RedispatchPlanner:
    return RedispatchPlanner(
        grace_period=options.grace_period,
        retry_initial=options.retry_initial,
        retry_max=options.retry_max,
    )


class _Holding:
    """Whether this supervisor is the active one (always, without a lease store)."""

    def __init__(self, lease: LeaseStore | None, agent_name: str, options: SupervisorOptions):
        self.lease, self.options = lease, options
        self.name = f"redispatch-supervisor:{agent_name}"
        self.holder = short_id("SV")
        self.ttl = options.lease_ttl or 3 * options.poll_interval
        self.active: bool | None = None

    async def step(self, supervisor: _Supervisor) -> None:
        """Renew (or try to take) the lease, then poll if it is ours."""
        held = True
        if self.lease is not None:
            try:
                held = await self.lease.acquire_lease(self.name, self.holder, self.ttl)
            except JournalStoreError as exc:  # unsure: stand by rather than duplicate
                await supervisor.emit(SupervisorPollFailed(exc))
                held = False
        if held != self.active:
            if held:  # what a standby saw is stale: start from fresh observations
                supervisor.planner = _planner(self.options)
            if self.lease is not None:
                await supervisor.emit(SupervisorLeaseChanged(held, self.holder))
            self.active = held
        if held:
            await supervisor.poll()

    async def release(self) -> None:
        if self.lease is None or not self.active:
            return
        with (
            trio.CancelScope(shield=True),
            trio.move_on_after(_RELEASE_GRACE),
            contextlib.suppress(JournalStoreError),  # it expires by itself anyway
        ):
            await self.lease.release_lease(self.name, self.holder)


class _Supervisor:
    def __init__(
        self,
        api: RoomAdminAPI,
        agent_name: str,
        watch: RoomWatch,
        options: SupervisorOptions,
        planner: RedispatchPlanner,
        events: trio.MemorySendChannel[SupervisorEvent] | None,
    ) -> None:
        self.api, self.agent_name, self.watch = api, agent_name, watch
        self.options, self.planner, self.events = options, planner, events

    async def emit(self, event: SupervisorEvent) -> None:
        if self.events is not None:
            await self.events.send(event)

    async def poll(self) -> None:
        try:
            rooms = await self.api.list_rooms()
        except TransportError as exc:
            await self.emit(SupervisorPollFailed(exc))
            return
        self.planner.forget_except(room.name for room in rooms)
        for room in rooms:
            await self.poll_room(room)

    async def poll_room(self, room: models_pb.Room) -> None:
        try:
            participants = await self.api.list_participants(room.name)
        except TransportError as exc:
            if not (isinstance(exc, LiveKitAPIError) and exc.code == "not_found"):
                await self.emit(SupervisorPollFailed(exc, room=room.name))
            return
        agent_present = any(self.options.is_own_agent(p) for p in participants)
        people = [p for p in participants if not _is_agent(p)]
        watched = bool(people) and not agent_present and await self.watch(room, people)
        now = trio.current_time()
        if self.planner.observe(
            room.name,
            now,
            watched=watched,
            agent_present=agent_present,
            humans_present=bool(people),
        ):
            await self.redispatch(room.name, now)

    async def redispatch(self, room: str, now: float) -> None:
        absent_for = self.planner.absent_for(room, now)
        try:
            ours = [
                d.id for d in await self.api.list_dispatch(room) if d.agent_name == self.agent_name
            ]
            baseline = self.planner.baseline(room)
            if baseline is None:
                self.planner.set_baseline(room, ours)
            elif new := [d for d in ours if d not in baseline]:
                self.planner.dispatch_succeeded(room)
                await self.emit(RedispatchCreated(room, self.agent_name, new[0], absent_for, True))
                return
            dispatch = await self.api.create_dispatch(
                room, self.agent_name, metadata=self.options.dispatch_metadata
            )
        except TransportError as exc:
            retry_in = self.planner.dispatch_failed(room, trio.current_time())
            await self.emit(RedispatchFailed(room, self.agent_name, exc, retry_in))
            return
        self.planner.dispatch_succeeded(room)
        await self.emit(RedispatchCreated(room, self.agent_name, dispatch.id, absent_for))
