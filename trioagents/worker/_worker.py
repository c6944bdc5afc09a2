"""The worker runtime: register on ``/agent``, answer, run jobs, report, reconnect.

Task tree (everything lives in :func:`open_worker`'s nursery)::

    open_worker
    ├── connection loop ─ one connection at a time, back-off between attempts
    │   └── per connection: reader · status sender · report pump · heartbeat
    │       └── one task per availability request (user ``request_fnc``)
    ├── one task per job (outlives connections: a reconnect keeps jobs running)
    └── health/metrics HTTP server (optional)

Invariants:

* capacity is reserved before an availability answer goes out
  (:class:`~trioagents.worker._slots.JobSlots`), so ``max_concurrent_jobs`` holds;
* job status reports are queued in an outbox and removed only once sent, so a
  report made while disconnected is delivered after re-registration, in order;
  running jobs are announced with ``migrate_job`` after every re-registration;
* a job's failure is its own: it is reported ``JS_FAILED``, nothing else notices;
* leaving :func:`open_worker` asks every job to shut down and gives them
  ``shutdown_grace`` (shielded, bounded) before cancelling what is left.

The library installs no signal handler; :func:`serve_worker` and the CLI do.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import trio
from livekit.protocol import agent

from ..core import ConnectError, ProtocolError, TransportError
from ..protocol import (
    AvailabilityRequested,
    GoAwayReceived,
    JobAssigned,
    JobTerminationRequested,
    VideoGrants,
    WorkerEvent,
    WorkerProtocol,
    WorkerRegistration,
    mint_token,
)
from ._connection import AgentConnection, AgentConnector, open_agent_connection
from ._groups import connection_errors
from ._job import JobControl, JobExecutor, JobInfo, JobOutcome
from ._load import CPULoad, available_cpus, process_cpu_seconds, sample_cpu_load
from ._options import WorkerOptions
from ._requests import RequestFnc, answer_availability
from ._slots import JobSlots

__all__ = ["Worker", "WorkerStatistics"]

logger = logging.getLogger("trioagents.worker")


@dataclass(frozen=True, slots=True)
class WorkerStatistics:
    worker_id: str | None
    connected: bool
    connection_failed: bool
    draining: bool
    running_jobs: int
    reserved_slots: int
    max_concurrent_jobs: int
    load: float
    jobs_started: int
    jobs_succeeded: int
    jobs_failed: int
    registrations: int
    pending_reports: int
    # jobs whose pool process ended without a report, by (outcome reason, signal name
    # or "none" for an exit status): ("crashed", "SIGKILL"), ("unresponsive", "SIGKILL")
    jobs_crashed: Mapping[tuple[str, str], int]


class Worker:
    """A registered worker; obtained from :func:`open_worker`. Starts nothing itself."""

    def __init__(
        self,
        options: WorkerOptions,
        executor: JobExecutor,
        request_fnc: RequestFnc | None,
        connector: AgentConnector = open_agent_connection,
    ) -> None:
        """``connector(url, token)`` opens one ``/agent`` connection (tests swap it)."""
        self.options = options
        self.worker_id: str | None = None
        self.health_address: tuple[str, int] | None = None
        self.request_fnc = request_fnc
        self._executor = executor
        self._connector = connector
        self._slots = JobSlots(options.max_concurrent_jobs)
        self._cpu = CPULoad(options.cpu_load.cpus or available_cpus(), options.cpu_load.window)
        self._controls: dict[str, JobControl] = {}
        self._outbox: deque[tuple[str, int, str]] = deque()
        self._changed = trio.Event()  # slots, outbox or connection changed: see _notify
        self._status_poke = trio.Event()
        self._registered = trio.Event()
        self._connection: AgentConnection | None = None
        self._draining = False
        self._connection_failed = False
        self._counters = {"started": 0, "succeeded": 0, "failed": 0, "registrations": 0}
        self._crashed: dict[tuple[str, str], int] = {}

    # -- public -------------------------------------------------------------------

    def statistics(self) -> WorkerStatistics:
        counts = self._slots.counts()
        return WorkerStatistics(
            worker_id=self.worker_id,
            connected=self._connection is not None,
            connection_failed=self._connection_failed,
            draining=self._draining,
            running_jobs=counts.running,
            reserved_slots=counts.reserved,
            max_concurrent_jobs=counts.limit,
            load=self.load(),
            jobs_started=self._counters["started"],
            jobs_succeeded=self._counters["succeeded"],
            jobs_failed=self._counters["failed"],
            registrations=self._counters["registrations"],
            pending_reports=len(self._outbox),
            jobs_crashed=MappingProxyType(dict(self._crashed)),
        )

    def load(self) -> float:
        """``load_fnc()`` if given, else CPU utilisation over the last window (see
        ``_load.py``; 0.0 until :meth:`serve_load` took two readings); within 0..1.

        ``load_fnc`` runs inline and must be quick. If it raises, or returns
        something that is not a finite number, the load is 1.0 (the worker reports
        itself full rather than take jobs it cannot judge) and the error is logged.
        """
        if self.options.load_fnc is None:
            return self._cpu.value
        try:
            value = float(self.options.load_fnc())
        except Exception:
            logger.exception("load_fnc failed; reporting full load")
            return 1.0
        return min(max(value, 0.0), 1.0) if math.isfinite(value) else 1.0

    def is_available(self) -> bool:
        """Not draining, a free slot, and load under the threshold (an idle worker is
        always available, so a threshold below one job's share cannot starve it).

        With the CPU figure, each slot reserved but not yet running counts as the
        mean load of a running job (its CPU does not show yet)."""
        counts = self._slots.counts()
        if self.options.load_fnc is None:
            load = self._cpu.effective(counts.running, counts.reserved)
        else:
            load = self.load()
        over = counts.used > 0 and load >= self.options.load_threshold
        return not self._draining and counts.used < self._slots.limit and not over

    async def serve_load(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Sample the CPU figure on Trio's clock until cancelled (``open_worker`` runs
        it when there is no ``load_fnc``)."""
        settings = self.options.cpu_load
        source = settings.cpu_seconds or self._default_cpu_seconds
        await sample_cpu_load(self._cpu, source, settings.interval, task_status=task_status)

    def _default_cpu_seconds(self) -> float:
        children = getattr(self._executor, "children_cpu_seconds", None)
        return process_cpu_seconds() + (children() if children is not None else 0.0)

    async def wait_registered(self) -> str:
        """Block until the worker is registered (again); returns the worker id."""
        while not self._registered.is_set():
            await self._changed.wait()
        assert self.worker_id is not None
        return self.worker_id

    def terminate_job(self, job_id: str, reason: str = "terminated") -> bool:
        """Ask one job to shut down (grace applies). False if it is not running."""
        control = self._controls.get(job_id)
        if control is None:
            return False
        control.request_shutdown(reason)
        return True

    async def drain(self) -> None:
        """Stop accepting jobs and wait until every job has ended.

        Reports ``WS_FULL``/draining at once. Does not cancel jobs: bound it with
        ``move_on_after`` (``serve_worker`` uses ``options.drain_timeout``).
        """
        self._draining = True
        self._notify()
        while not self._slots.is_empty():
            await self._changed.wait()

    # -- slots and jobs -----------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        self._status_poke.set()

    def _try_reserve(self, job_id: str) -> bool:
        if not self.is_available() or not self._slots.try_reserve(job_id):
            return False
        self._notify()
        return True

    def _unreserve(self, job_id: str) -> None:
        self._slots.release(job_id)
        self._notify()

    def _launch(self, job_nursery: trio.Nursery, info: JobInfo) -> None:
        """Turn the reservation into a running job; no checkpoint."""
        self._slots.confirm(info.id)
        self._controls[info.id] = JobControl()
        self._counters["started"] += 1
        self._report(info.id, agent.JS_RUNNING)
        job_nursery.start_soon(self._run_job, info, self._controls[info.id])

    async def _run_job(self, info: JobInfo, control: JobControl) -> None:
        try:
            outcome = await self._run_with_timeout(info, control)
        except Exception as exc:  # the executor itself failed: this job only
            logger.exception("job executor failed", extra={"job_id": info.id})
            outcome = JobOutcome(agent.JS_FAILED, type(exc).__name__, "executor failed")
        finally:
            del self._controls[info.id]
            self._slots.release(info.id)
            self._notify()
        key = "succeeded" if outcome.status == agent.JS_SUCCESS else "failed"
        self._counters[key] += 1
        fields: dict[str, object] = {"job_id": info.id, "reason": outcome.reason}
        if outcome.process_lost:
            crash = (outcome.reason, outcome.signal or "none")
            self._crashed[crash] = self._crashed.get(crash, 0) + 1
            fields.update(exit_code=outcome.exit_code, signal=outcome.signal)
        logger.info("job ended", extra=fields)
        self._report(info.id, outcome.status, outcome.error)

    async def _run_with_timeout(self, info: JobInfo, control: JobControl) -> JobOutcome:
        if self.options.job_timeout is None:
            return await self._executor.run_job(info, control)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_time_out, control, self.options.job_timeout)
            outcome = await self._executor.run_job(info, control)
            nursery.cancel_scope.cancel()
        return outcome

    def _report(self, job_id: str, status: int, error: str = "") -> None:
        self._outbox.append((job_id, status, error))
        self._notify()

    async def shutdown_jobs(self, reason: str) -> None:
        """Ask every job to shut down; wait until all ended and their reports left.

        Unbounded (grace applies per job): ``open_worker`` calls it shielded under
        ``shutdown_grace``. Waits for reports only while a connection is up.
        """
        for control in list(self._controls.values()):
            control.request_shutdown(reason)
        while not self._slots.is_empty():
            await self._changed.wait()
        while self._outbox and self._connection is not None:
            await self._changed.wait()

    # -- connection ---------------------------------------------------------------

    async def serve_connections(self, job_nursery: trio.Nursery) -> None:
        """Connect, register, serve; reconnect with back-off. Runs until cancelled.

        Jobs are started in ``job_nursery`` so that they outlive a connection.
        Raises :class:`ConnectError` after ``max_reconnect_attempts`` failures.
        """
        failures = 0
        while True:
            try:
                await self._connect_once(job_nursery)
            except (TransportError, ProtocolError) as exc:
                if self._registered.is_set():
                    failures = 0  # a registered session that dropped restarts the count
                failures += 1
                logger.warning("/agent connection failed", extra={"error": type(exc).__name__})
                if failures >= self.options.max_reconnect_attempts:
                    self._connection_failed = True
                    raise ConnectError(f"/agent: gave up after {failures} attempts") from exc
            finally:
                self._connection = None
                self._registered = trio.Event()
                self._notify()
            await trio.sleep(self.options.reconnect_delay(failures))

    async def _connect_once(self, job_nursery: trio.Nursery) -> None:
        token = mint_token(self.options.api_key, self.options.api_secret, identity="",
                           video=VideoGrants(agent=True))  # fmt: skip
        # Connecting and registering share one deadline, lifted once registered.
        with trio.CancelScope(
            deadline=trio.current_time() + self.options.register_timeout
        ) as scope:
            async with self._connector(self.options.agent_url, token) as connection:
                await self._register(connection, job_nursery, scope)
        if scope.cancelled_caught:
            raise ConnectError("/agent: no registration in time")

    async def _register(
        self, connection: AgentConnection, job_nursery: trio.Nursery, scope: trio.CancelScope
    ) -> None:
        pending = {job_id for job_id, _, _ in self._outbox}
        protocol = WorkerProtocol(running_jobs=set(self._slots.running()) | pending)
        await connection.send(lambda: protocol.register(self._registration()))
        protocol.receive_data(await connection.receive())
        scope.deadline = math.inf
        self.worker_id = protocol.worker_id
        await connection.send(protocol.migrate_jobs)
        self._connection = connection
        self._counters["registrations"] += 1
        self._registered.set()
        self._notify()
        logger.info("worker registered", extra={"worker_id": self.worker_id})
        async with connection_errors(), trio.open_nursery() as nursery:
            session = _Session(self, connection, protocol, nursery, job_nursery)
            nursery.start_soon(self._send_status, connection, protocol)
            nursery.start_soon(self._pump_reports, connection, protocol)
            nursery.start_soon(self._heartbeat, connection)
            await session.read()

    def _registration(self) -> WorkerRegistration:
        return WorkerRegistration(
            agent_name=self.options.agent_name,
            job_type=self.options.job_type_proto,
            namespace=self.options.namespace,
            version=self.options.version,
            permissions=self.options.permissions.to_proto(),
        )

    async def _send_status(self, connection: AgentConnection, protocol: WorkerProtocol) -> None:
        while True:
            self._status_poke = trio.Event()
            running = self._slots.counts().running
            await connection.send(lambda: protocol.update_worker(
                load=self.load(), job_count=running,  # noqa: B023 - built at once, under the lock
                full=not self.is_available(), draining=self._draining))  # fmt: skip
            with trio.move_on_after(self.options.status_interval):
                await self._status_poke.wait()

    async def _pump_reports(self, connection: AgentConnection, protocol: WorkerProtocol) -> None:
        while True:
            while self._outbox:
                job_id, status, error = self._outbox[0]
                await connection.send(lambda: protocol.update_job(job_id, status, error))  # noqa: B023
                self._outbox.popleft()
                self._notify()
            await self._changed.wait()

    async def _heartbeat(self, connection: AgentConnection) -> None:
        interval = self.options.health_check_interval
        while True:
            await trio.sleep(interval)
            with trio.move_on_after(interval / 2) as scope:
                await connection.ping()
            if scope.cancelled_caught:
                raise TransportError("/agent heartbeat: no pong in time")


async def _time_out(control: JobControl, seconds: float) -> None:
    await trio.sleep(seconds)
    control.request_shutdown("job timeout", failed=True)


class _Session:
    """Dispatch of one registered connection's server events."""

    def __init__(self, worker: Worker, connection: AgentConnection, protocol: WorkerProtocol,
                 nursery: trio.Nursery, job_nursery: trio.Nursery) -> None:  # fmt: skip
        self.worker = worker
        self.connection = connection
        self.protocol = protocol
        self.nursery = nursery
        self.job_nursery = job_nursery
        self.waiting: dict[str, trio.Event] = {}
        self.assignments: dict[str, JobAssigned] = {}

    async def read(self) -> None:
        """Handle server events until the connection fails (transport/protocol error)."""
        while True:
            for event in self.protocol.receive_data(await self.connection.receive()):
                self._dispatch(event)

    def _dispatch(self, event: WorkerEvent) -> None:
        if isinstance(event, AvailabilityRequested):
            self._on_availability(event.job, event.resuming)
        elif isinstance(event, JobAssigned):
            waiting = self.waiting.get(str(event.job.id))
            if waiting is not None:
                self.assignments[str(event.job.id)] = event
                waiting.set()
        elif isinstance(event, JobTerminationRequested):
            self.worker.terminate_job(event.job_id, "terminated by server")
        elif isinstance(event, GoAwayReceived):
            raise TransportError("/agent: server going away")

    def _on_availability(self, job: agent.Job, resuming: bool) -> None:
        job_id = str(job.id)
        if not self.worker._try_reserve(job_id):
            self.nursery.start_soon(self.connection.send, lambda: self.protocol.reject(job_id))
            return
        self.waiting[job_id] = trio.Event()
        self.nursery.start_soon(self._answer, job, resuming)

    async def _answer(self, job: agent.Job, resuming: bool) -> None:
        job_id = str(job.id)
        identity = None
        try:
            identity = await answer_availability(
                job, resuming, self.worker.request_fnc, self.connection, self.protocol,
                self.waiting[job_id], self.worker.options,
            )  # fmt: skip
            if identity is not None:  # no checkpoint since the assignment woke us
                assignment = self.assignments.pop(job_id)
                url = assignment.url or self.worker.options.url
                info = JobInfo(assignment.job, url, assignment.token,
                               self.worker.worker_id or "", identity)  # fmt: skip
                self.worker._launch(self.job_nursery, info)
        finally:
            del self.waiting[job_id]
            if identity is None:
                self.worker._unreserve(job_id)
