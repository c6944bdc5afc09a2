"""Answering one availability request.

The slot is already reserved when this runs. The user's ``request_fnc`` decides
(default: accept with identity ``agent-<job id>``); it is bounded by
``availability_timeout`` (the server stops waiting after 10 s). An exception or a
request function that returns without answering rejects the job (not
terminating it, so the server may offer it to another worker). After an accept,
the assignment must arrive within ``assignment_timeout``; otherwise the job is
abandoned: the protocol forgets it and a late assignment is ignored.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable

import trio
from livekit.protocol import agent

from ..protocol import WorkerProtocol
from ._connection import AgentConnection
from ._job import JobRequest
from ._options import WorkerOptions

__all__ = ["RequestFnc", "answer_availability"]

logger = logging.getLogger("trioagents.worker")

RequestFnc = Callable[[JobRequest], Awaitable[None] | None]


async def _decide(request: JobRequest, request_fnc: RequestFnc | None, grace: float) -> None:
    if request_fnc is None:
        request.accept()
        return
    with trio.move_on_after(grace):
        try:
            result = request_fnc(request)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("request_fnc failed; rejecting", extra={"job_id": request.id})
    if request.answer is None:
        logger.warning("request_fnc did not answer; rejecting", extra={"job_id": request.id})
        request.reject()


async def answer_availability(
    job: agent.Job,
    resuming: bool,
    request_fnc: RequestFnc | None,
    connection: AgentConnection,
    protocol: WorkerProtocol,
    assigned: trio.Event,
    options: WorkerOptions,
) -> str | None:
    """Answer, then wait for the assignment. Returns the identity if assigned.

    Raises :class:`~trioagents.core.ConnectionClosedError` if sending fails.
    """
    request = JobRequest(job, resuming=resuming)
    await _decide(request, request_fnc, options.availability_timeout)
    assert request.answer is not None
    available, fields = request.answer
    job_id = request.id
    if not available:
        await connection.send(lambda: protocol.reject(job_id, terminate=fields["terminate"]))
        return None
    await connection.send(lambda: protocol.accept(job_id, **fields))
    with trio.move_on_after(options.assignment_timeout):
        await assigned.wait()
    if assigned.is_set():
        return str(fields["identity"])
    logger.warning("no assignment in time; job abandoned", extra={"job_id": job_id})
    protocol.abandon(job_id)
    return None
