"""Jobs: the availability request, the job context, and running one entrypoint.

A job is one call of the user's ``entrypoint(ctx)``. :func:`run_job` owns it:

* the job lasts as long as the entrypoint; ``await ctx.wait_for_shutdown()`` keeps
  it alive until someone asks it to end;
* ``ctx.shutdown(reason)`` (or a server termination, the job timeout, worker drain)
  sets the shutdown event and gives the entrypoint ``shutdown_grace`` seconds to
  return before its scope is cancelled;
* the room opened by ``ctx.connect()`` lives in a task of the job's own nursery, so
  it is closed after the entrypoint, whatever way the entrypoint ended;
* shutdown callbacks run last, shielded and bounded by ``shutdown_grace``;
* an exception from the entrypoint fails this job only: it becomes a
  ``JS_FAILED`` outcome (the error text sent to the server is the exception's type
  name, never its message, which may hold user content). ``trio.Cancelled`` from
  outside (the worker itself is being cancelled) propagates.

The same :class:`JobContext` serves in-process jobs and jobs in a pool process.

Rejected alternative: entering the room's context manager inside ``ctx.connect()``
through an exit stack. The entrypoint runs inside a cancel scope the runner moves
(grace deadline), and a nursery opened inside that scope but closed outside it
corrupts Trio's scope stack; a holder task in the job nursery does not.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import trio
from livekit.protocol import agent, models

from ..core import JobError

__all__ = [
    "DEFAULT_PARTICIPANT_KINDS",
    "ConnectOptions",
    "InProcessExecutor",
    "JobContext",
    "JobControl",
    "JobExecutor",
    "JobInfo",
    "JobOutcome",
    "JobProcess",
    "JobRequest",
    "RoomFactory",
    "default_room_factory",
    "run_job",
    "signal_name",
]

logger = logging.getLogger("trioagents.worker")


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """How ``ctx.connect()`` joins the room."""

    auto_subscribe: bool = True


class RoomFactory(Protocol):
    """Opens a room connection; the default will be ``trioagents.rtc.open_room``."""

    def __call__(
        self, url: str, token: str, options: ConnectOptions
    ) -> AbstractAsyncContextManager[Any]: ...


def default_room_factory(
    url: str, token: str, options: ConnectOptions
) -> AbstractAsyncContextManager[Any]:
    """``trioagents.rtc.open_room`` with the job's options.

    Imported on first use (the rtc layer pulls in aiortc); raises
    :class:`~trioagents.core.JobError` if this build has no ``open_room``.
    """
    rtc = importlib.import_module("trioagents.rtc")  # layer 3: downward, lazily
    open_room = getattr(rtc, "open_room", None)
    room_options = getattr(rtc, "RoomOptions", None)
    if open_room is None or room_options is None:
        raise JobError("trioagents.rtc.open_room is not available in this build")
    factory: Callable[..., AbstractAsyncContextManager[Any]] = open_room
    return factory(url, token, room_options(auto_subscribe=options.auto_subscribe))


@dataclass(frozen=True, slots=True)
class JobInfo:
    """An assigned job, as the job code sees it."""

    job: agent.Job
    url: str
    token: str
    worker_id: str
    identity: str

    @property
    def id(self) -> str:
        return str(self.job.id)

    @property
    def room_name(self) -> str:
        return str(self.job.room.name)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job ended.

    ``process_lost`` is true when a pool child ended without reporting (it died, or
    the supervisor killed it); ``exit_code`` is then its ``returncode`` (negative:
    the signal number), ``None`` if it could not be reaped.
    """

    status: int  # agent.JS_SUCCESS or agent.JS_FAILED
    error: str = ""
    reason: str = ""
    process_lost: bool = False
    exit_code: int | None = None

    @property
    def signal(self) -> str | None:
        """The name of the signal that ended the child (``"SIGKILL"``), if one did."""
        return signal_name(self.exit_code)


def signal_name(returncode: int | None) -> str | None:
    """``"SIGKILL"`` for ``-9``; ``None`` for a normal exit or no code; ``"SIG40"``
    for a signal without a name."""
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"SIG{-returncode}"


@dataclass(slots=True)
class JobProcess:
    """Per-process state shared by every job of one process (prewarmed models)."""

    userdata: dict[str, Any] = field(default_factory=dict)


class JobRequest:
    """An availability request: call :meth:`accept` or :meth:`reject` once."""

    def __init__(self, job: agent.Job, *, resuming: bool = False) -> None:
        self.job = job
        self.resuming = resuming
        self.answer: tuple[bool, dict[str, Any]] | None = None

    @property
    def id(self) -> str:
        return str(self.job.id)

    def accept(
        self,
        *,
        identity: str = "",
        name: str = "",
        metadata: str = "",
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        """Take the job; ``identity`` defaults to ``agent-<job id>``."""
        self._answer(True, identity=identity or f"agent-{self.id}", name=name,
                     metadata=metadata, attributes=dict(attributes or {}))  # fmt: skip

    def reject(self, *, terminate: bool = False) -> None:
        """Decline; ``terminate=True`` ends the job instead of offering it elsewhere."""
        self._answer(False, terminate=terminate)

    def _answer(self, available: bool, **fields: Any) -> None:
        if self.answer is not None:
            raise JobError("this job request was already answered")
        self.answer = (available, fields)


class JobControl:
    """The shutdown signal of one job, shared by the worker and the job's context."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.failed = False
        self._requested = trio.Event()

    def request_shutdown(self, reason: str, *, failed: bool = False) -> None:
        """First reason wins; no checkpoint."""
        if self.reason is None:
            self.reason = reason
            self.failed = failed
            self._requested.set()

    def is_requested(self) -> bool:
        return self._requested.is_set()

    async def wait(self) -> None:
        await self._requested.wait()


ShutdownCallback = Callable[[str], Awaitable[None]]

DEFAULT_PARTICIPANT_KINDS: tuple[int, ...] = (
    models.ParticipantInfo.STANDARD,
    models.ParticipantInfo.SIP,
    models.ParticipantInfo.CONNECTOR,
)
"""The participants ``wait_for_participant`` waits for by default (LiveKit's)."""


class _Participant(Protocol):
    @property
    def identity(self) -> str: ...

    @property
    def kind(self) -> int: ...


class _ParticipantRoom(Protocol):
    """What ``wait_for_participant`` needs of ``trioagents.rtc.Room`` (not imported)."""

    @property
    def remote_participants(self) -> Mapping[str, _Participant]: ...

    @property
    def closed(self) -> bool: ...

    async def wait_state_changed(self) -> None: ...


if TYPE_CHECKING:  # the rtc Room fits (checked by mypy; not imported at run time)
    from ..rtc import Room

    def _fits(room: Room) -> _ParticipantRoom:
        return room


class JobContext:
    """What an entrypoint gets: job info, the room, shutdown, per-process state."""

    def __init__(
        self,
        info: JobInfo,
        control: JobControl,
        nursery: trio.Nursery,
        room_factory: RoomFactory | None,
        proc: JobProcess,
    ) -> None:
        self.info = info
        self.proc = proc
        self.room: Any = None
        self._control = control
        self._nursery = nursery
        self._room_factory = room_factory
        self._callbacks: list[ShutdownCallback] = []
        self._room_closed = trio.Event()

    @property
    def job(self) -> agent.Job:
        return self.info.job

    @property
    def participant(self) -> models.ParticipantInfo | None:
        """The participant a publisher/participant job is about (``None`` for room jobs)."""
        return self.info.job.participant if self.info.job.HasField("participant") else None

    @property
    def shutdown_reason(self) -> str | None:
        return self._control.reason

    async def connect(self, *, auto_subscribe: bool = True) -> Any:
        """Join the job's room; it stays open until the job ends. Idempotent.

        Raises :class:`~trioagents.core.JobError` if no room factory is configured;
        errors of the factory propagate.
        """
        if self.room is not None:
            return self.room
        if self._room_factory is None:
            self._room_factory = default_room_factory
        options = ConnectOptions(auto_subscribe=auto_subscribe)
        self.room = await self._nursery.start(self._hold_room, options)
        return self.room

    async def wait_for_participant(
        self,
        *,
        identity: str | None = None,
        kind: int | Iterable[int] = DEFAULT_PARTICIPANT_KINDS,
    ) -> Any:
        """A remote participant of the room (LiveKit's ``wait_for_participant``).

        Connects first if needed (``connect()``). Returns at once if one is already
        there, else waits until one joins: the participant ``identity`` if given,
        else the first; in both cases one of ``kind`` (``models.ParticipantInfo``
        kinds; default: standard, SIP and connector participants, as LiveKit).
        Returns the room's :class:`~trioagents.rtc.RemoteParticipant` record.
        Checkpoints; no timeout of its own (wrap it in ``trio.fail_after``). Raises
        :class:`~trioagents.core.JobError` if the room ends first.
        """
        await trio.lowlevel.checkpoint()
        room: _ParticipantRoom = await self.connect()
        kinds = frozenset((kind,)) if isinstance(kind, int) else frozenset(kind)
        while True:
            for participant in list(room.remote_participants.values()):
                if identity is not None and participant.identity != identity:
                    continue
                if participant.kind in kinds:
                    return participant
            if room.closed:
                raise JobError("the room closed before a matching participant joined")
            await room.wait_state_changed()

    async def _hold_room(
        self, options: ConnectOptions, *, task_status: trio.TaskStatus[Any]
    ) -> None:
        assert self._room_factory is not None
        async with self._room_factory(self.info.url, self.info.token, options) as room:
            task_status.started(room)
            await self._room_closed.wait()

    def add_shutdown_callback(self, callback: ShutdownCallback) -> None:
        """``callback(reason)`` runs after the entrypoint, shielded, within the grace."""
        self._callbacks.append(callback)

    def shutdown(self, reason: str = "user requested") -> None:
        """Ask the job to end: the entrypoint has the grace period to return."""
        self._control.request_shutdown(reason)

    async def wait_for_shutdown(self) -> str:
        """Block until shutdown is requested; returns the reason."""
        await self._control.wait()
        return self._control.reason or ""

    async def _finish(self) -> None:
        reason = self._control.reason or "entrypoint returned"
        for callback in self._callbacks:
            try:
                await callback(reason)
            except Exception:
                logger.exception("shutdown callback failed", extra={"job_id": self.info.id})
        self._room_closed.set()


Entrypoint = Callable[[JobContext], Awaitable[None]]


async def run_job(
    info: JobInfo,
    entrypoint: Entrypoint,
    control: JobControl,
    *,
    room_factory: RoomFactory | None,
    proc: JobProcess,
    grace: float,
) -> JobOutcome:
    """Run one job to its end (see the module docstring) and say how it ended.

    Cancelled only from outside (the worker is being cancelled): then the
    entrypoint, the room and the callbacks are cancelled and ``Cancelled`` propagates.
    """
    async with trio.open_nursery() as nursery:
        ctx = JobContext(info, control, nursery, room_factory, proc)
        outcome = await _run_entrypoint(ctx, entrypoint, control, grace)
        with trio.CancelScope(shield=True), trio.move_on_after(grace):
            await ctx._finish()
        nursery.cancel_scope.cancel()  # the room holder, if callbacks timed out
    return outcome


async def _run_entrypoint(
    ctx: JobContext, entrypoint: Entrypoint, control: JobControl, grace: float
) -> JobOutcome:
    async def arm_grace(scope: trio.CancelScope) -> None:
        await control.wait()
        scope.deadline = min(scope.deadline, trio.current_time() + grace)

    async with trio.open_nursery() as watch:
        with trio.CancelScope() as scope:
            watch.start_soon(arm_grace, scope)
            try:
                result = entrypoint(ctx)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                logger.exception("job entrypoint failed", extra={"job_id": ctx.info.id})
                error = str(exc) if type(exc) is JobError else type(exc).__name__
                watch.cancel_scope.cancel()
                return JobOutcome(agent.JS_FAILED, error, control.reason or "job crashed")
        watch.cancel_scope.cancel()
    if scope.cancelled_caught:
        logger.warning("job entrypoint cancelled after the grace period",
                       extra={"job_id": ctx.info.id})  # fmt: skip
    if control.failed:
        return JobOutcome(agent.JS_FAILED, control.reason or "", control.reason or "")
    return JobOutcome(agent.JS_SUCCESS, "", control.reason or "entrypoint returned")


class JobExecutor(Protocol):
    """Runs one assigned job to its end: in this process or in a pool process."""

    async def run_job(self, info: JobInfo, control: JobControl) -> JobOutcome: ...


class InProcessExecutor:
    """Each job in its own nursery in this process (the default)."""

    def __init__(self, entrypoint: Entrypoint, room_factory: RoomFactory | None,
                 proc: JobProcess, grace: float) -> None:  # fmt: skip
        self._entrypoint = entrypoint
        self._room_factory = room_factory
        self._proc = proc
        self._grace = grace

    async def run_job(self, info: JobInfo, control: JobControl) -> JobOutcome:
        return await run_job(info, self._entrypoint, control, room_factory=self._room_factory,
                             proc=self._proc, grace=self._grace)  # fmt: skip
