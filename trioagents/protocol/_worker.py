"""Sans-I/O client core of LiveKit's ``/agent`` websocket (the worker side).

:class:`WorkerProtocol` is the whole protocol as one object per
connection: bytes from the server go in through :meth:`receive_data`, events come
out; each outgoing message is built by a method that checks it is allowed now and
returns the bytes to send. No trio import, no clock, no I/O: the runtime
(``trioagents.worker``) owns sockets, timers and tasks.

Connection states (``WorkerProtocolState``), transitions in :data:`WORKER_CONNECTION_TRANSITIONS`:

* ``IDLE`` → (we send ``register``) → ``REGISTERING`` → (server ``register``) →
  ``REGISTERED``; any message from the server before ``register`` is a
  :class:`RemoteProtocolError`, as is a second ``register``.
* ``CLOSED`` after :meth:`close`; nothing more may be sent or received.

Job states (``WorkerJobPhase``) per job id, transitions in :data:`WORKER_JOB_TRANSITIONS`:
``REQUESTED`` (server asked availability) → ``ACCEPTED`` (we said yes) →
``RUNNING`` (assignment came) → removed when we send a final status. A rejection
or an abandoned assignment (the runtime's 7.5 s timer) removes the job too.

Invariants: a job id is in at most one phase; an ``assignment`` for a job we did not
accept yields :class:`AssignmentIgnored` (the server may have picked another
worker after our timer ran out: that is not an attack and must not kill the
connection, LiveKit's worker also ignores it); a ``termination`` for an unknown
job yields nothing. Running jobs survive a reconnect: build a new state with
``running_jobs=`` and :meth:`migrate_jobs` reports them after re-registration.

Rejected alternative: one state machine that outlives connections. A reconnect
then needs a "reset" transition from every state; a fresh object per connection
with the running set handed over is simpler and makes stale accepted jobs vanish.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from livekit.protocol import agent, models

from ..core import LocalProtocolError, RemoteProtocolError
from ._codec import decode_server_message

__all__ = [
    "WORKER_CONNECTION_TRANSITIONS",
    "WORKER_JOB_TRANSITIONS",
    "AssignmentIgnored",
    "AvailabilityRequested",
    "GoAwayReceived",
    "JobAssigned",
    "JobTerminationRequested",
    "WorkerEvent",
    "WorkerJobPhase",
    "WorkerPongReceived",
    "WorkerProtocol",
    "WorkerProtocolState",
    "WorkerRegistered",
    "WorkerRegistration",
]


class WorkerProtocolState(enum.Enum):
    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    CLOSED = "closed"


class WorkerJobPhase(enum.Enum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    RUNNING = "running"


# (state, message kind) -> next state. Kinds are the oneof names, prefixed with
# "send:" for ours and "recv:" for the server's.
WORKER_CONNECTION_TRANSITIONS: Mapping[tuple[WorkerProtocolState, str], WorkerProtocolState] = {
    (WorkerProtocolState.IDLE, "send:register"): WorkerProtocolState.REGISTERING,
    (WorkerProtocolState.REGISTERING, "recv:register"): WorkerProtocolState.REGISTERED,
    **{
        (WorkerProtocolState.REGISTERED, f"recv:{kind}"): WorkerProtocolState.REGISTERED
        for kind in ("availability", "assignment", "termination", "pong", "go_away")
    },
    **{
        (WorkerProtocolState.REGISTERED, f"send:{kind}"): WorkerProtocolState.REGISTERED
        for kind in ("availability", "update_worker", "update_job", "ping", "migrate_job")
    },
}

# (phase or None for "unknown job", event) -> next phase, or None for "forgotten".
WORKER_JOB_TRANSITIONS: Mapping[tuple[WorkerJobPhase | None, str], WorkerJobPhase | None] = {
    (None, "recv:availability"): WorkerJobPhase.REQUESTED,
    (WorkerJobPhase.REQUESTED, "send:accept"): WorkerJobPhase.ACCEPTED,
    (WorkerJobPhase.REQUESTED, "send:reject"): None,
    (WorkerJobPhase.ACCEPTED, "recv:assignment"): WorkerJobPhase.RUNNING,
    (WorkerJobPhase.ACCEPTED, "abandon"): None,
    (WorkerJobPhase.RUNNING, "send:running"): WorkerJobPhase.RUNNING,
    (WorkerJobPhase.RUNNING, "send:final"): None,
}


@dataclass(frozen=True, slots=True)
class WorkerRegistration:
    """What a worker says about itself in ``RegisterWorkerRequest``."""

    agent_name: str = ""
    job_type: int = agent.JT_ROOM
    namespace: str = ""
    version: str = ""
    permissions: models.ParticipantPermission | None = None


@dataclass(frozen=True, slots=True)
class WorkerRegistered:
    worker_id: str
    server_info: models.ServerInfo


@dataclass(frozen=True, slots=True)
class AvailabilityRequested:
    job: agent.Job
    resuming: bool


@dataclass(frozen=True, slots=True)
class JobAssigned:
    job: agent.Job
    url: str
    token: str


@dataclass(frozen=True, slots=True)
class AssignmentIgnored:
    """An assignment for a job we did not accept (or already gave up on)."""

    job_id: str


@dataclass(frozen=True, slots=True)
class JobTerminationRequested:
    job_id: str


@dataclass(frozen=True, slots=True)
class WorkerPongReceived:
    last_timestamp: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class GoAwayReceived:
    """The server sent ``go_away``: it is shutting down; reconnect elsewhere later."""


WorkerEvent = (
    WorkerRegistered
    | AvailabilityRequested
    | JobAssigned
    | AssignmentIgnored
    | JobTerminationRequested
    | WorkerPongReceived
    | GoAwayReceived
)

_FINAL_STATUSES = frozenset({agent.JS_SUCCESS, agent.JS_FAILED, agent.JS_CANCELLED})


class WorkerProtocol:
    """Protocol state of one ``/agent`` connection (see the module docstring)."""

    def __init__(self, *, running_jobs: Iterable[str] = ()) -> None:
        self.state = WorkerProtocolState.IDLE
        self.worker_id: str | None = None
        self._jobs: dict[str, WorkerJobPhase] = dict.fromkeys(running_jobs, WorkerJobPhase.RUNNING)

    def job_phase(self, job_id: str) -> WorkerJobPhase | None:
        return self._jobs.get(job_id)

    def running_jobs(self) -> list[str]:
        return sorted(j for j, phase in self._jobs.items() if phase is WorkerJobPhase.RUNNING)

    # -- incoming ---------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[WorkerEvent]:
        """Decode one websocket message; raises :class:`RemoteProtocolError` if bad."""
        return self.receive_message(decode_server_message(data))

    def receive_message(self, message: agent.ServerMessage) -> list[WorkerEvent]:
        kind = message.WhichOneof("message")
        if kind is None:
            raise RemoteProtocolError("ServerMessage: empty envelope")
        self._transition(f"recv:{kind}", remote=True)
        if kind == "register":
            self.worker_id = message.register.worker_id
            return [WorkerRegistered(message.register.worker_id, message.register.server_info)]
        if kind == "availability":
            return self._on_availability(message.availability)
        if kind == "assignment":
            return self._on_assignment(message.assignment)
        if kind == "termination":
            job_id = message.termination.job_id
            known = self._jobs.get(job_id) is WorkerJobPhase.RUNNING
            return [JobTerminationRequested(job_id)] if known else []
        if kind == "pong":
            return [WorkerPongReceived(message.pong.last_timestamp, message.pong.timestamp)]
        return [GoAwayReceived()]  # go_away (the table admits no other kind)

    def _on_availability(self, request: agent.AvailabilityRequest) -> list[WorkerEvent]:
        job_id = request.job.id
        if not job_id:
            raise RemoteProtocolError("AvailabilityRequest: job without id")
        if job_id in self._jobs:
            raise RemoteProtocolError(
                "AvailabilityRequest: job already known", payload=job_id.encode()
            )
        self._job_transition(job_id, "recv:availability")
        return [AvailabilityRequested(request.job, request.resuming)]

    def _on_assignment(self, assignment: agent.JobAssignment) -> list[WorkerEvent]:
        job_id = assignment.job.id
        if self._jobs.get(job_id) is not WorkerJobPhase.ACCEPTED:
            return [AssignmentIgnored(job_id)]
        if not assignment.token:
            raise RemoteProtocolError("JobAssignment: no room token", payload=job_id.encode())
        self._job_transition(job_id, "recv:assignment")
        return [JobAssigned(assignment.job, assignment.url, assignment.token)]

    # -- outgoing ---------------------------------------------------------------

    def register(self, registration: WorkerRegistration) -> bytes:
        self._transition("send:register")
        request = agent.RegisterWorkerRequest(
            type=registration.job_type,  # type: ignore[arg-type]
            agent_name=registration.agent_name,
            version=registration.version,
            namespace=registration.namespace,
        )
        if registration.permissions is not None:
            request.allowed_permissions.CopyFrom(registration.permissions)
        return agent.WorkerMessage(register=request).SerializeToString()

    def accept(
        self,
        job_id: str,
        *,
        identity: str,
        name: str = "",
        metadata: str = "",
        attributes: Mapping[str, str] | None = None,
    ) -> bytes:
        self._transition("send:availability")
        self._job_transition(job_id, "send:accept")
        response = agent.AvailabilityResponse(
            job_id=job_id,
            available=True,
            participant_identity=identity,
            participant_name=name,
            participant_metadata=metadata,
            participant_attributes=dict(attributes or {}),
        )
        return agent.WorkerMessage(availability=response).SerializeToString()

    def reject(self, job_id: str, *, terminate: bool = False) -> bytes:
        self._transition("send:availability")
        self._job_transition(job_id, "send:reject")
        response = agent.AvailabilityResponse(job_id=job_id, available=False, terminate=terminate)
        return agent.WorkerMessage(availability=response).SerializeToString()

    def abandon(self, job_id: str) -> None:
        """Forget an accepted job whose assignment did not come in time."""
        self._job_transition(job_id, "abandon")

    def update_job(self, job_id: str, status: int, error: str = "") -> bytes:
        """Report a running job's status; a final status forgets the job."""
        self._transition("send:update_job")
        event = "send:final" if status in _FINAL_STATUSES else "send:running"
        if status == agent.JS_PENDING:
            raise LocalProtocolError("UpdateJobStatus: JS_PENDING is not a worker status")
        self._job_transition(job_id, event)
        update = agent.UpdateJobStatus(job_id=job_id, status=status, error=error)  # type: ignore[arg-type]
        return agent.WorkerMessage(update_job=update).SerializeToString()

    def update_worker(self, *, load: float, job_count: int, full: bool, draining: bool) -> bytes:
        self._transition("send:update_worker")
        if not 0.0 <= load <= 1.0:
            raise LocalProtocolError("UpdateWorkerStatus: load must be within 0..1")
        status = agent.UpdateWorkerStatus(
            status=agent.WS_FULL if full or draining else agent.WS_AVAILABLE,
            load=load,
            job_count=job_count,
            draining=draining,
        )
        return agent.WorkerMessage(update_worker=status).SerializeToString()

    def migrate_jobs(self) -> bytes | None:
        """The ``migrate_job`` report of running jobs, or ``None`` when there are none."""
        self._transition("send:migrate_job")
        jobs = self.running_jobs()
        if not jobs:
            return None
        request = agent.MigrateJobRequest(job_ids=jobs)
        return agent.WorkerMessage(migrate_job=request).SerializeToString()

    def ping(self, timestamp: int) -> bytes:
        self._transition("send:ping")
        return agent.WorkerMessage(ping=agent.WorkerPing(timestamp=timestamp)).SerializeToString()

    def close(self) -> None:
        self.state = WorkerProtocolState.CLOSED

    # -- tables -----------------------------------------------------------------

    def _transition(self, event: str, *, remote: bool = False) -> None:
        target = WORKER_CONNECTION_TRANSITIONS.get((self.state, event))
        if target is None:
            error = RemoteProtocolError if remote else LocalProtocolError
            raise error(f"/agent: {event.split(':', 1)[1]} not allowed while {self.state.value}")
        self.state = target

    def _job_transition(self, job_id: str, event: str) -> None:
        phase = self._jobs.get(job_id)
        key = (phase, event)
        if key not in WORKER_JOB_TRANSITIONS:
            where = phase.value if phase else "unknown"
            raise LocalProtocolError(f"/agent: {event} not allowed for a job that is {where}")
        target = WORKER_JOB_TRANSITIONS[key]
        if target is None:
            del self._jobs[job_id]
        else:
            self._jobs[job_id] = target
