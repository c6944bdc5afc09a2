"""One job, run in-process without a server, under virtual time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import trio
from livekit.protocol import agent

from trioagents.core import JobError
from trioagents.worker import (
    ConnectOptions,
    JobContext,
    JobControl,
    JobInfo,
    JobProcess,
    JobRequest,
    run_job,
)


@dataclass
class FakeRoom:
    url: str
    token: str
    options: ConnectOptions
    closed: bool = False
    events: list[str] = field(default_factory=list)


class FakeRooms:
    def __init__(self) -> None:
        self.opened: list[FakeRoom] = []

    @asynccontextmanager
    async def __call__(
        self, url: str, token: str, options: ConnectOptions
    ) -> AsyncIterator[FakeRoom]:
        room = FakeRoom(url, token, options)
        self.opened.append(room)
        try:
            yield room
        finally:
            room.closed = True


def _info(job_id: str = "AJ_1") -> JobInfo:
    job = agent.Job(id=job_id)
    job.room.name = "room-1"
    return JobInfo(job, "ws://127.0.0.1:1", "tok", "AW_1", f"agent-{job_id}")


async def _run(entrypoint, control: JobControl | None = None, rooms=None, grace: float = 15.0):  # type: ignore[no-untyped-def]
    return await run_job(
        _info(),
        entrypoint,
        control or JobControl(),
        room_factory=rooms,
        proc=JobProcess(),
        grace=grace,
    )


async def test_entrypoint_returning_is_success_and_room_is_closed_after() -> None:
    rooms = FakeRooms()
    seen: list[object] = []

    async def entrypoint(ctx: JobContext) -> None:
        room = await ctx.connect(auto_subscribe=False)
        assert await ctx.connect() is room  # idempotent
        seen.append((ctx.job.id, ctx.info.room_name, room.closed, room.options.auto_subscribe))
        assert ctx.participant is None  # a room job

    outcome = await _run(entrypoint, rooms=rooms)
    assert outcome.status == agent.JS_SUCCESS
    assert seen == [("AJ_1", "room-1", False, False)]
    assert [r.closed for r in rooms.opened] == [True]
    assert rooms.opened[0].token == "tok"


async def test_exception_fails_the_job_with_type_name_only() -> None:
    async def entrypoint(ctx: JobContext) -> None:
        raise ValueError("secret user content")

    outcome = await _run(entrypoint)
    assert (outcome.status, outcome.error) == (agent.JS_FAILED, "ValueError")


async def test_job_error_message_is_reported() -> None:
    async def entrypoint(ctx: JobContext) -> None:
        raise JobError("room is full")

    outcome = await _run(entrypoint)
    assert (outcome.status, outcome.error) == (agent.JS_FAILED, "room is full")


async def test_shutdown_gives_grace_then_cancels(autojump_clock: trio.testing.MockClock) -> None:
    control = JobControl()
    cancelled_at: list[float] = []

    async def entrypoint(ctx: JobContext) -> None:
        ctx.shutdown("bye")
        try:
            await trio.sleep_forever()  # ignores the shutdown request
        finally:
            cancelled_at.append(trio.current_time())

    start = trio.current_time()
    outcome = await _run(entrypoint, control, grace=3.0)
    assert cancelled_at == [pytest.approx(start + 3.0)]
    assert (outcome.status, outcome.reason) == (agent.JS_SUCCESS, "bye")


async def test_cooperative_entrypoint_returns_with_reason(
    autojump_clock: trio.testing.MockClock,
) -> None:
    control = JobControl()
    reasons: list[str] = []

    async def entrypoint(ctx: JobContext) -> None:
        ctx.add_shutdown_callback(_append_to(reasons))
        reasons.append(await ctx.wait_for_shutdown())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_later, 5.0, lambda: control.request_shutdown("terminated by server"))
        outcome = await _run(entrypoint, control)
    assert reasons == ["terminated by server", "callback:terminated by server"]
    assert outcome.status == agent.JS_SUCCESS


async def test_failed_shutdown_reason_fails_job(autojump_clock: trio.testing.MockClock) -> None:
    control = JobControl()
    control.request_shutdown("job timeout", failed=True)
    control.request_shutdown("ignored: first reason wins")

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.wait_for_shutdown()

    outcome = await _run(entrypoint, control)
    assert (outcome.status, outcome.error) == (agent.JS_FAILED, "job timeout")


async def test_shutdown_callbacks_are_bounded_and_errors_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    order: list[str] = []

    async def failing(reason: str) -> None:
        raise RuntimeError("x")

    async def hanging(reason: str) -> None:
        order.append("hanging")
        await trio.sleep_forever()

    async def entrypoint(ctx: JobContext) -> None:
        ctx.add_shutdown_callback(failing)
        ctx.add_shutdown_callback(hanging)

    start = trio.current_time()
    outcome = await _run(entrypoint, grace=2.0)
    assert trio.current_time() - start == pytest.approx(2.0)
    assert order == ["hanging"]
    assert outcome.status == agent.JS_SUCCESS
    assert "shutdown callback failed" in caplog.text


async def test_connect_without_factory_uses_rtc_or_says_it_is_missing() -> None:
    import trioagents.rtc

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()

    outcome = await _run(entrypoint)
    assert outcome.status == agent.JS_FAILED
    if not hasattr(trioagents.rtc, "open_room"):
        assert "open_room is not available" in outcome.error


async def test_outside_cancellation_propagates(autojump_clock: trio.testing.MockClock) -> None:
    async def entrypoint(ctx: JobContext) -> None:
        await trio.sleep_forever()

    with trio.move_on_after(1.0) as scope:
        await _run(entrypoint)
    assert scope.cancelled_caught


async def test_publisher_job_exposes_its_participant() -> None:
    info = _info()
    info.job.participant.identity = "alice"
    seen: list[str] = []

    async def entrypoint(ctx: JobContext) -> None:
        assert ctx.participant is not None
        seen.append(ctx.participant.identity)

    await run_job(info, entrypoint, JobControl(), room_factory=None, proc=JobProcess(), grace=1)
    assert seen == ["alice"]


def test_job_request_answers_once() -> None:
    request = JobRequest(agent.Job(id="AJ_7"))
    request.accept(name="Bob")
    assert request.answer == (
        True,
        {"identity": "agent-AJ_7", "name": "Bob", "metadata": "", "attributes": {}},
    )
    with pytest.raises(JobError):
        request.reject()


def _append_to(target: list[str]):  # type: ignore[no-untyped-def]
    async def callback(reason: str) -> None:
        target.append(f"callback:{reason}")

    return callback


async def _later(delay: float, action) -> None:  # type: ignore[no-untyped-def]
    await trio.sleep(delay)
    action()
