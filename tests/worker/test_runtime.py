"""The worker runtime against a fake ``/agent`` server over real loopback sockets.

Real socket I/O, so real clock (autojump could fire timeouts while bytes are in
flight); every test is bounded by ``fail_after`` and uses short intervals.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from livekit.protocol import agent

from trioagents.core import ConnectError, current_ticker
from trioagents.worker import JobContext, JobRequest, WorkerOptions, open_worker, serve_worker

from .fake_agent_server import FakeAgentServer
from .test_job import FakeRooms

pytestmark = pytest.mark.slow

LIMIT = 10.0


def _options(server: FakeAgentServer, **overrides: object) -> WorkerOptions:
    base = WorkerOptions(
        url=server.url,
        agent_name="tester",
        max_concurrent_jobs=4,
        load_threshold=math.inf,
        status_interval=0.05,
        assignment_timeout=0.5,
        shutdown_grace=0.5,
        reconnect_max_delay=0.05,
        health_check_interval=5.0,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@asynccontextmanager
async def _fake_server() -> AsyncIterator[FakeAgentServer]:
    server = FakeAgentServer()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        yield server
        nursery.cancel_scope.cancel()


def _draining(server: FakeAgentServer) -> bool:
    return any(m.update_worker.draining for m in server.current.of_kind("update_worker"))


class Jobs:
    """Entrypoint that records what jobs see and waits for their release."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, trio.Event] = {}
        self.reasons: dict[str, str] = {}

    async def entrypoint(self, ctx: JobContext) -> None:
        job_id = ctx.job.id
        self.started.append(job_id)
        await ctx.connect()
        if ctx.job.room.name == "crash":
            raise RuntimeError("boom")
        release = self.release.setdefault(job_id, trio.Event())
        async with trio.open_nursery() as nursery:

            async def on_shutdown() -> None:
                self.reasons[job_id] = await ctx.wait_for_shutdown()
                nursery.cancel_scope.cancel()

            nursery.start_soon(on_shutdown)
            await release.wait()
            nursery.cancel_scope.cancel()

    def finish(self, job_id: str) -> None:
        self.release.setdefault(job_id, trio.Event()).set()


async def test_register_dispatch_run_complete() -> None:
    jobs, rooms = Jobs(), FakeRooms()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(_options(server), jobs.entrypoint, room_factory=rooms) as worker,
        ):
            assert await worker.wait_registered() == "AW_1"
            register = server.current.register
            assert register is not None
            assert register.agent_name == "tester"
            assert register.allowed_permissions.agent
            assert register.version == worker.options.version != ""
            answer = await server.dispatch("AJ_1")
            assert answer.available
            assert answer.participant_identity == "agent-AJ_1"
            await server.wait_status("AJ_1", agent.JS_RUNNING)
            await server.wait_until(lambda: rooms.opened)
            assert rooms.opened[0].url == server.url
            jobs.finish("AJ_1")
            await server.wait_status("AJ_1", agent.JS_SUCCESS)
            assert rooms.opened[0].closed
            stats = worker.statistics()
            assert (stats.jobs_started, stats.jobs_succeeded, stats.running_jobs) == (1, 1, 0)
            statuses = server.current.of_kind("update_worker")
            assert statuses
            assert all(m.update_worker.status == agent.WS_AVAILABLE for m in statuses)


async def test_jobs_share_the_workers_ticker() -> None:
    """One timer for every paced input of the process: the worker's block owns it."""
    seen: list[object] = []

    async def entrypoint(ctx: JobContext) -> None:
        seen.append(current_ticker())

    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(_options(server), entrypoint, room_factory=FakeRooms()) as worker,
        ):
            await worker.wait_registered()
            for job_id in ("AJ_1", "AJ_2"):
                await server.dispatch(job_id)
                await server.wait_status(job_id, agent.JS_SUCCESS)
            assert seen[0] is not None
            assert seen == [seen[0], seen[0]]
        assert current_ticker() is None


async def test_failing_job_does_not_disturb_concurrent_job() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(_options(server), jobs.entrypoint, room_factory=FakeRooms()) as worker,
        ):
            await worker.wait_registered()
            await server.dispatch("AJ_ok")
            await server.wait_status("AJ_ok", agent.JS_RUNNING)
            await server.dispatch("AJ_bad", room="crash")
            await server.wait_status("AJ_bad", agent.JS_FAILED)
            failed = [
                m.update_job
                for m in server.current.of_kind("update_job")
                if m.update_job.status == agent.JS_FAILED
            ]
            assert [(u.job_id, u.error) for u in failed] == [("AJ_bad", "RuntimeError")]
            assert worker.statistics().running_jobs == 1
            jobs.finish("AJ_ok")
            await server.wait_status("AJ_ok", agent.JS_SUCCESS)
            assert "AJ_ok" not in jobs.reasons  # never asked to shut down


async def test_burst_never_exceeds_max_concurrent_jobs() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(
                _options(server, max_concurrent_jobs=2), jobs.entrypoint, room_factory=FakeRooms()
            ) as worker,
        ):
            await worker.wait_registered()
            ids = [f"AJ_{i}" for i in range(8)]
            requests = [agent.AvailabilityRequest(job=agent.Job(id=i)) for i in ids]
            for request in requests:  # all sent before any answer is read
                await server.current.send(agent.ServerMessage(availability=request))
            await server.wait_until(lambda: len(server.current.of_kind("availability")) == 8)
            answers = [m.availability for m in server.current.of_kind("availability")]
            accepted = [a.job_id for a in answers if a.available]
            assert len(accepted) == 2
            assert worker.statistics().reserved_slots == 2
            for request in requests:
                if request.job.id in accepted:
                    await server.assign(request.job, f"agent-{request.job.id}")
            await server.wait_until(lambda: len(jobs.started) == 2)
            assert worker.statistics().running_jobs == 2
            assert not (await server.dispatch("AJ_late")).available
            for job_id in accepted:
                jobs.finish(job_id)
            await server.wait_until(lambda: worker.statistics().running_jobs == 0)
            assert (await server.dispatch("AJ_after")).available


async def test_assignment_timeout_releases_the_slot() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(
                _options(server, max_concurrent_jobs=1, assignment_timeout=0.2),
                jobs.entrypoint,
            ) as worker,
        ):
            await worker.wait_registered()
            answer = await server.dispatch("AJ_1", assign=False)
            assert answer.available
            assert worker.statistics().reserved_slots == 1
            await server.wait_until(lambda: worker.statistics().reserved_slots == 0)
            await server.assign(agent.Job(id="AJ_1"), "agent-AJ_1")  # too late: ignored
            assert (await server.dispatch("AJ_2", assign=False)).available
            assert jobs.started == []


async def test_request_fnc_decides_and_errors_reject() -> None:
    async def request_fnc(request: JobRequest) -> None:
        if request.job.room.name == "no":
            request.reject(terminate=True)
        elif request.job.room.name == "raise":
            raise RuntimeError("user bug")
        elif request.job.room.name == "silent":
            return
        else:
            request.accept(identity="custom", name="Agent", attributes={"k": "v"})

    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(
                _options(server), jobs.entrypoint, request_fnc=request_fnc, room_factory=FakeRooms()
            ) as worker,
        ):
            await worker.wait_registered()
            no = await server.dispatch("AJ_no", room="no")
            assert (no.available, no.terminate) == (False, True)
            for room in ("raise", "silent"):
                answer = await server.dispatch(f"AJ_{room}", room=room)
                assert (answer.available, answer.terminate) == (False, False)
            yes = await server.dispatch("AJ_yes", room="yes")
            assert (yes.participant_identity, yes.participant_name) == ("custom", "Agent")
            assert dict(yes.participant_attributes) == {"k": "v"}
            await server.wait_status("AJ_yes", agent.JS_RUNNING)
            assert worker.statistics().running_jobs == 1


async def test_server_termination_shuts_the_job_down() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(_options(server), jobs.entrypoint, room_factory=FakeRooms()) as worker,
        ):
            await worker.wait_registered()
            await server.dispatch("AJ_1")
            await server.wait_status("AJ_1", agent.JS_RUNNING)
            await server.terminate("AJ_1")
            await server.wait_status("AJ_1", agent.JS_SUCCESS)
            assert jobs.reasons == {"AJ_1": "terminated by server"}


async def test_reconnect_keeps_job_and_migrates_it() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(_options(server), jobs.entrypoint, room_factory=FakeRooms()) as worker,
        ):
            await worker.wait_registered()
            await server.dispatch("AJ_1")
            await server.wait_status("AJ_1", agent.JS_RUNNING)
            first = server.current
            await first.websocket.aclose()
            await server.wait_until(lambda: len(server.connections) == 2)
            second = server.current
            await server.wait_until(lambda: second.of_kind("migrate_job"))
            assert list(second.of_kind("migrate_job")[0].migrate_job.job_ids) == ["AJ_1"]
            assert await worker.wait_registered() == "AW_2"
            assert jobs.reasons == {}
            jobs.finish("AJ_1")
            await server.wait_until(lambda: agent.JS_SUCCESS in second.job_statuses("AJ_1"))
            assert worker.statistics().registrations == 2


async def test_report_made_while_disconnected_is_delivered_after() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(
                _options(server, max_reconnect_attempts=1000),
                jobs.entrypoint,
                room_factory=FakeRooms(),
            ) as worker,
        ):
            await worker.wait_registered()
            await server.dispatch("AJ_1")
            await server.wait_status("AJ_1", agent.JS_RUNNING)
            server.reject_all = True
            await server.current.websocket.aclose()
            await server.wait_until(lambda: server.rejections >= 1)
            jobs.finish("AJ_1")
            await server.wait_until(lambda: worker.statistics().running_jobs == 0)
            server.reject_all = False
            await server.wait_until(lambda: agent.JS_SUCCESS in server.current.job_statuses("AJ_1"))
            migrated = server.current.of_kind("migrate_job")
            assert list(migrated[0].migrate_job.job_ids) == ["AJ_1"]


async def test_gives_up_after_max_attempts() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with _fake_server() as server:
            server.reject_all = True
            with pytest.raises(ConnectError, match="gave up after 3 attempts"):
                async with open_worker(
                    _options(server, max_reconnect_attempts=3), jobs.entrypoint
                ) as worker:
                    await trio.sleep_forever()
            assert server.rejections == 3
            assert worker.statistics().connection_failed


async def test_bad_credentials_are_rejected_by_server() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with _fake_server() as server:
            options = _options(server, api_secret="wrong", max_reconnect_attempts=1)
            with pytest.raises(ConnectError):
                async with open_worker(options, jobs.entrypoint):
                    await trio.sleep_forever()
            assert server.connections == []


async def test_drain_stops_accepting_and_waits_for_live_job() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(_options(server), jobs.entrypoint, room_factory=FakeRooms()) as worker,
        ):
            await worker.wait_registered()
            await server.dispatch("AJ_1")
            await server.wait_status("AJ_1", agent.JS_RUNNING)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(worker.drain)
                await server.wait_until(lambda: _draining(server))
                draining = [
                    m.update_worker
                    for m in server.current.of_kind("update_worker")
                    if m.update_worker.draining
                ]
                assert draining[0].status == agent.WS_FULL
                assert not (await server.dispatch("AJ_2")).available
                assert jobs.reasons == {}
                jobs.finish("AJ_1")
            await server.wait_status("AJ_1", agent.JS_SUCCESS)


async def test_sigterm_drains_then_shuts_down_after_timeout() -> None:
    import os
    import signal

    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with _fake_server() as server, trio.open_nursery() as nursery:
            options = _options(server, drain_timeout=0.3)
            worker = await nursery.start(
                lambda task_status: serve_worker(
                    options, jobs.entrypoint, room_factory=FakeRooms(), task_status=task_status
                )
            )
            await worker.wait_registered()
            await server.dispatch("AJ_1")
            await server.wait_status("AJ_1", agent.JS_RUNNING)
            os.kill(os.getpid(), signal.SIGTERM)
            await server.wait_until(lambda: _draining(server))
            await server.wait_status("AJ_1", agent.JS_SUCCESS)
            assert jobs.reasons == {"AJ_1": "worker closing"}


async def test_job_timeout_fails_the_job() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(
                _options(server, job_timeout=0.2, shutdown_grace=0.2),
                jobs.entrypoint,
                room_factory=FakeRooms(),
            ) as worker,
        ):
            await worker.wait_registered()
            await server.dispatch("AJ_1")
            await server.wait_status("AJ_1", agent.JS_FAILED)
            [update] = [m.update_job for m in server.current.of_kind("update_job")
                        if m.update_job.status == agent.JS_FAILED]  # fmt: skip
            assert update.error == "job timeout"
            assert jobs.reasons == {"AJ_1": "job timeout"}


async def test_go_away_makes_the_worker_reconnect() -> None:
    jobs = Jobs()
    with trio.fail_after(LIMIT):
        async with (
            _fake_server() as server,
            open_worker(_options(server), jobs.entrypoint, room_factory=FakeRooms()) as worker,
        ):
            await worker.wait_registered()
            go_away = agent.ServerMessage()
            go_away.go_away.SetInParent()
            await server.current.send(go_away)
            await server.wait_until(lambda: len(server.connections) == 2)
            assert await worker.wait_registered() == "AW_2"
