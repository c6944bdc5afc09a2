"""The ``/agent`` endpoint: worker registration, availability, assignment, termination.

Each worker connection is served by :meth:`AgentService.serve_worker` (its reader)
plus an :class:`Outbox` writer. Jobs are launched by registry events
(:class:`RoomCreated` / :class:`DispatchAdded` → JT_ROOM, :class:`ParticipantPublished`
→ JT_PUBLISHER) as tasks in the service's nursery, which belongs to the server's
``async with`` block. A launch tries eligible workers one at a time
(:func:`choose_worker`), waits up to ``AVAILABILITY_TIMEOUT`` for each answer and, on
acceptance, mints the agent's room token and sends the assignment at once (the
Python worker gives up 7.5 s after accepting).

A convenience the reference server lacks: a worker that registers after a room was
created still gets that room's pending JT_ROOM dispatches (tests and demos start the
worker and the user in any order).
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field

import trio
from livekit.protocol import agent, models

from ..core import RemoteProtocolError, short_id
from ..protocol import VideoGrants, decode_worker_message, decode_worker_registration, mint_token
from ._dispatch import WorkerProfile, choose_worker, worker_matches
from ._http import ServerWebSocket
from ._outbox import Outbox
from ._registry import (
    DispatchAdded,
    DispatchDeleted,
    ParticipantPublished,
    RegistryEvent,
    RoomCreated,
    RoomDeleted,
    RoomRecord,
)

__all__ = ["AgentService", "FinishedJob", "JobRecord"]

log = logging.getLogger("trioagents.devserver.agents")

AVAILABILITY_TIMEOUT = 10.0
REGISTER_TIMEOUT = 10.0
AGENT_TOKEN_TTL = 3600.0
_ENDED = (agent.JS_SUCCESS, agent.JS_FAILED, agent.JS_CANCELLED)
FINISHED_JOBS_KEPT = 1000  # the most recent, for tests and `statistics()`


@dataclass(frozen=True, slots=True)
class FinishedJob:
    """How a job ended, as the server saw it.

    ``status``: ``"JS_SUCCESS"``, ``"JS_FAILED"`` or ``"JS_CANCELLED"`` as reported by
    the worker; ``"terminated"`` when the server ended it (room deleted, dispatch
    removed); ``"worker_lost"`` when its worker's connection closed first.
    ``error`` is the worker's error text (empty unless it sent one).
    """

    job_id: str
    room: str
    agent_name: str
    worker_id: str
    status: str
    error: str = ""


@dataclass(slots=True)
class WorkerConnection:
    worker_id: str
    register: agent.RegisterWorkerRequest
    outbox: Outbox
    load: float = 0.0
    available: bool = True
    answers: dict[str, trio.MemorySendChannel[agent.AvailabilityResponse]] = field(
        default_factory=dict
    )

    def profile(self) -> WorkerProfile:
        return WorkerProfile(
            worker_id=self.worker_id,
            agent_name=self.register.agent_name,
            namespace=self.register.namespace,
            job_type=self.register.type,
            load=self.load,
            available=self.available,
        )


@dataclass(slots=True)
class JobRecord:
    job: agent.Job
    worker_id: str


class AgentService:
    """Workers and jobs. Use inside the server's nursery (``nursery`` owns launches)."""

    def __init__(
        self,
        nursery: trio.Nursery,
        *,
        api_key: str,
        api_secret: str,
        server_info: Callable[[], models.ServerInfo],
        rng: random.Random | None = None,
        register_timeout: float = REGISTER_TIMEOUT,
    ) -> None:
        self._nursery = nursery
        self._register_timeout = register_timeout
        self._api_key = api_key
        self._api_secret = api_secret
        self._server_info = server_info
        self._rng = rng or random.Random()
        self.workers: dict[str, WorkerConnection] = {}
        self.jobs: dict[str, JobRecord] = {}
        self.finished: deque[FinishedJob] = deque(maxlen=FINISHED_JOBS_KEPT)
        self._rooms: Mapping[str, RoomRecord] = {}

    def attach_rooms(self, rooms: Mapping[str, RoomRecord]) -> None:
        self._rooms = rooms

    def jobs_of(self, dispatch_id: str) -> list[agent.Job]:
        """The running jobs of a dispatch (their current state), oldest first."""
        return [r.job for r in self.jobs.values() if r.job.dispatch_id == dispatch_id]

    # -- registry events (synchronous, never raise) ---------------------------------

    def on_registry_event(self, event: RegistryEvent) -> None:
        if isinstance(event, RoomCreated):
            for dispatch in list(event.room.dispatches.values()):
                self._start_launch(event.room, dispatch.id, agent.JT_ROOM, None)
        elif isinstance(event, DispatchAdded):
            self._start_launch(event.room, event.dispatch.id, agent.JT_ROOM, None)
        elif isinstance(event, ParticipantPublished):
            for dispatch in list(event.room.dispatches.values()):
                self._start_launch(
                    event.room, dispatch.id, agent.JT_PUBLISHER, event.participant.info
                )
        elif isinstance(event, DispatchDeleted):
            self._terminate(lambda job: job.dispatch_id == event.dispatch.id)
        elif isinstance(event, RoomDeleted):
            self._terminate(lambda job: job.room.name == event.room.name)

    def _start_launch(
        self,
        room: RoomRecord,
        dispatch_id: str,
        job_type: agent.JobType,
        participant: models.ParticipantInfo | None,
    ) -> None:
        self._nursery.start_soon(self._launch, room, dispatch_id, job_type, participant)

    def _finish(self, job_id: str, status: str, error: str = "") -> None:
        """Move a running job to the finished record (bounded, newest last)."""
        record = self.jobs.pop(job_id, None)
        if record is None:
            return
        job = record.job
        self.finished.append(
            FinishedJob(job_id, job.room.name, job.agent_name, record.worker_id, status, error)
        )

    def _terminate(self, matches: Callable[[agent.Job], bool]) -> None:
        for job_id, record in list(self.jobs.items()):
            if matches(record.job):
                self._finish(job_id, "terminated")
                worker = self.workers.get(record.worker_id)
                if worker is not None:
                    worker.outbox.put(
                        agent.ServerMessage(termination=agent.JobTermination(job_id=job_id))
                    )

    # -- launching jobs --------------------------------------------------------------

    def _has_job(self, dispatch_id: str, job_type: int, participant_sid: str) -> bool:
        return any(
            r.job.dispatch_id == dispatch_id
            and r.job.type == job_type
            and r.job.participant.sid == participant_sid
            for r in self.jobs.values()
        )

    async def _launch(
        self,
        room: RoomRecord,
        dispatch_id: str,
        job_type: agent.JobType,
        participant: models.ParticipantInfo | None,
    ) -> None:
        """Offer one job to eligible workers until one accepts (or none is left)."""
        dispatch = room.dispatches.get(dispatch_id)
        sid = participant.sid if participant is not None else ""
        if dispatch is None or self._has_job(dispatch_id, job_type, sid):
            return
        job = agent.Job(
            id=short_id("AJ"),
            dispatch_id=dispatch_id,
            type=job_type,
            room=room.snapshot(),
            metadata=dispatch.metadata,
            agent_name=dispatch.agent_name,
            state=agent.JobState(status=agent.JS_PENDING),
        )
        if participant is not None:
            job.participant.CopyFrom(participant)
        tried: set[str] = set()
        while True:
            candidates = [
                w.profile()
                for w in self.workers.values()
                if w.worker_id not in tried
                and worker_matches(w.profile(), dispatch.agent_name, job_type)
            ]
            chosen = choose_worker(candidates, self._rng)
            if chosen is None:
                log.info("no worker available for job", extra={"job_id": job.id})
                return
            tried.add(chosen.worker_id)
            if await self._offer(self.workers[chosen.worker_id], job, room):
                return

    async def _offer(self, worker: WorkerConnection, job: agent.Job, room: RoomRecord) -> bool:
        """Ask ``worker``; on acceptance assign. True when the job is settled."""
        send, receive = trio.open_memory_channel[agent.AvailabilityResponse](1)
        worker.answers[job.id] = send
        worker.outbox.put(agent.ServerMessage(availability=agent.AvailabilityRequest(job=job)))
        answer: agent.AvailabilityResponse | None = None
        with trio.move_on_after(AVAILABILITY_TIMEOUT):
            answer = await receive.receive()
        worker.answers.pop(job.id, None)
        if answer is None or self.workers.get(worker.worker_id) is not worker:
            return False
        if answer.terminate:
            return True
        if not answer.available:
            return False
        if self._has_job(job.dispatch_id, job.type, job.participant.sid):
            return True  # a concurrent launch won the race
        identity = answer.participant_identity or f"agent-{job.id}"
        job.state.status = agent.JS_RUNNING
        job.state.worker_id = worker.worker_id
        job.state.participant_identity = identity
        token = self._agent_token(worker, job, answer, identity)
        self.jobs[job.id] = JobRecord(job=job, worker_id=worker.worker_id)
        worker.outbox.put(agent.ServerMessage(assignment=agent.JobAssignment(job=job, token=token)))
        del room  # the job carries the room snapshot
        return True

    def _agent_token(
        self,
        worker: WorkerConnection,
        job: agent.Job,
        answer: agent.AvailabilityResponse,
        identity: str,
    ) -> str:
        perms = worker.register.allowed_permissions
        has_perms = worker.register.HasField("allowed_permissions")
        attributes = dict(answer.participant_attributes)
        attributes["lk.agent_name"] = worker.register.agent_name
        grants = VideoGrants(
            room_join=True,
            room=job.room.name,
            agent=True,
            can_publish=perms.can_publish if has_perms else True,
            can_subscribe=perms.can_subscribe if has_perms else True,
            can_publish_data=perms.can_publish_data if has_perms else True,
            can_update_own_metadata=perms.can_update_metadata if has_perms else True,
            hidden=perms.hidden if has_perms else False,
        )
        return mint_token(
            self._api_key,
            self._api_secret,
            identity=identity,
            video=grants,
            ttl=AGENT_TOKEN_TTL,
            name=answer.participant_name,
            metadata=answer.participant_metadata,
            attributes=attributes,
            kind="agent",
        )

    # -- one worker connection -------------------------------------------------------

    async def serve_worker(self, websocket: ServerWebSocket) -> None:
        """Serve one ``/agent`` websocket until it closes.

        A connection that sends no ``register`` within ``register_timeout`` (Trio
        time) is closed here with code 1008 and reason ``register_timeout: ...``.
        Raises :class:`RemoteProtocolError` (after which the caller closes the socket) on
        undecodable messages or a first message that is not ``register``.
        """
        register: agent.RegisterWorkerRequest | None = None
        with trio.move_on_after(self._register_timeout):
            register = decode_worker_registration(_binary(await websocket.receive()))
        if register is None:
            reason = f"register_timeout: no register within {self._register_timeout:g} s"
            log.warning("closing /agent connection: %s", reason)
            await websocket.aclose(1008, reason)
            return
        async with trio.open_nursery() as nursery:
            outbox = Outbox(nursery.cancel_scope)
            worker = WorkerConnection(short_id("AW"), register, outbox)
            self.workers[worker.worker_id] = worker
            try:
                outbox.put(
                    agent.ServerMessage(
                        register=agent.RegisterWorkerResponse(
                            worker_id=worker.worker_id, server_info=self._server_info()
                        )
                    )
                )
                nursery.start_soon(outbox.serve, websocket)
                self._offer_pending_rooms(worker)
                while True:
                    self._handle(worker, self._decode(await websocket.receive()))
            finally:
                self.workers.pop(worker.worker_id, None)
                for job_id, record in list(self.jobs.items()):
                    if record.worker_id == worker.worker_id:
                        self._finish(job_id, "worker_lost")

    @staticmethod
    def _decode(data: bytes | str) -> agent.WorkerMessage:
        return decode_worker_message(_binary(data))

    def _offer_pending_rooms(self, worker: WorkerConnection) -> None:
        if worker.register.type != agent.JT_ROOM:
            return
        for room in list(self._rooms.values()):
            for dispatch in list(room.dispatches.values()):
                if dispatch.agent_name == worker.register.agent_name:
                    self._start_launch(room, dispatch.id, agent.JT_ROOM, None)

    def _handle(self, worker: WorkerConnection, message: agent.WorkerMessage) -> None:
        which = message.WhichOneof("message")
        if which == "register":
            raise RemoteProtocolError("worker registered twice on one connection")
        if which == "availability":
            answer = worker.answers.get(message.availability.job_id)
            if answer is not None:
                with suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                    answer.send_nowait(message.availability)  # duplicates are ignored
        elif which == "update_worker":
            update = message.update_worker
            if update.HasField("status"):
                worker.available = update.status == agent.WS_AVAILABLE
            worker.load = update.load
        elif which == "update_job":
            job_update = message.update_job
            record = self.jobs.get(job_update.job_id)
            if record is not None and record.worker_id == worker.worker_id:
                record.job.state.status = job_update.status
                if job_update.status in _ENDED:
                    status = agent.JobStatus.Name(job_update.status)
                    self._finish(job_update.job_id, status, job_update.error[:1000])
        elif which == "ping":
            now_ms = int(trio.current_time() * 1000)
            pong = agent.WorkerPong(last_timestamp=message.ping.timestamp, timestamp=now_ms)
            worker.outbox.put(agent.ServerMessage(pong=pong))
        elif which == "simulate_job":
            self._simulate(worker, message.simulate_job)

    def _simulate(self, worker: WorkerConnection, request: agent.SimulateJobRequest) -> None:
        room = self._rooms.get(request.room.name)
        if room is None:
            return
        for dispatch in list(room.dispatches.values()):
            if dispatch.agent_name == worker.register.agent_name:
                participant = request.participant if request.HasField("participant") else None
                self._start_launch(room, dispatch.id, request.type, participant)


def _binary(data: bytes | str) -> bytes:
    if isinstance(data, str):
        raise RemoteProtocolError("worker sent a text frame; binary protobuf expected")
    return data
