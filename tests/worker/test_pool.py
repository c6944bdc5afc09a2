"""The supervised process pool, with real child processes (real clock, bounded)."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio
import trio.testing
from livekit.protocol import agent

from trioagents.core import ConfigurationError
from trioagents.worker import JobControl, JobInfo, ProcessPoolOptions, open_process_pool
from trioagents.worker._pool import read_rss_mb

pytestmark = pytest.mark.slow

LIMIT = 20.0


def _options(function: str, **overrides: object) -> ProcessPoolOptions:
    values: dict[str, object] = {
        "entrypoint": f"tests.worker.pool_jobs:{function}",
        "prewarm": "tests.worker.pool_jobs:prewarm",
        "num_idle_processes": 1,
        "ping_interval": 0.1,
        "ping_timeout": 5.0,
        "memory_check_interval": 0.1,
        "shutdown_grace": 0.5,
        "kill_margin": 0.5,
    }
    values.update(overrides)
    return ProcessPoolOptions(**values)  # type: ignore[arg-type]


def _info(tmp_path: Path, job_id: str = "AJ_1") -> JobInfo:
    job = agent.Job(id=job_id, metadata=str(tmp_path / f"{job_id}.json"))
    return JobInfo(job, "ws://127.0.0.1:1", "tok", "AW_1", f"agent-{job_id}")


def _recorded(tmp_path: Path, job_id: str = "AJ_1") -> dict[str, object]:
    return json.loads((tmp_path / f"{job_id}.json").read_text())  # type: ignore[no-any-return]


async def test_job_runs_in_prewarmed_child(tmp_path: Path) -> None:
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("finishes")) as pool:
            assert pool.statistics().idle == 1  # prewarmed before the block
            outcome = await pool.run_job(_info(tmp_path), JobControl())
            assert outcome.status == agent.JS_SUCCESS
            seen = _recorded(tmp_path)
            assert seen["pid"] != os.getpid()
            assert seen["model"] == f"loaded-in-{seen['pid']}"
            assert (seen["job"], seen["identity"]) == ("AJ_1", "agent-AJ_1")
        assert pool.statistics().live == 0


async def test_the_prewarmed_heap_is_frozen_out_of_full_collections(tmp_path: Path) -> None:
    """The imports and prewarm are frozen once initialized: a full collection in the
    job walks only what the job allocates, not the ~80 k import-time objects."""
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("reports_gc")) as pool:
            outcome = await pool.run_job(_info(tmp_path), JobControl())
    assert outcome.status == agent.JS_SUCCESS
    seen = _recorded(tmp_path)
    assert isinstance(seen["frozen"], int)
    assert isinstance(seen["tracked"], int)
    assert seen["frozen"] > 10_000  # trio, livekit.protocol and the package at least
    assert seen["tracked"] < seen["frozen"]


async def test_crash_fails_only_that_job(tmp_path: Path) -> None:
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("crashes")) as pool:
            outcome = await pool.run_job(_info(tmp_path), JobControl())
        assert (outcome.status, outcome.error) == (agent.JS_FAILED, "RuntimeError")


async def test_shutdown_is_forwarded_with_reason(tmp_path: Path) -> None:
    control = JobControl()
    with trio.fail_after(LIMIT):
        async with (
            open_process_pool(_options("waits_for_shutdown")) as pool,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(_shutdown_later, control, "terminated by server")
            outcome = await pool.run_job(_info(tmp_path), control)
    assert outcome.status == agent.JS_SUCCESS
    assert _recorded(tmp_path)["reason"] == "terminated by server"


async def test_child_ignoring_shutdown_is_killed_after_grace(tmp_path: Path) -> None:
    control = JobControl()
    with trio.fail_after(LIMIT):
        async with (
            open_process_pool(_options("ignores_shutdown")) as pool,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(_shutdown_later, control, "bye")
            start = trio.current_time()
            outcome = await pool.run_job(_info(tmp_path), control)
            elapsed = trio.current_time() - start
    assert (outcome.status, outcome.error) == (agent.JS_FAILED, "did not exit after shutdown")
    assert 1.0 <= elapsed < 5.0


async def test_memory_limit_kills_the_child(tmp_path: Path) -> None:
    with trio.fail_after(LIMIT):
        options = _options("eats_memory", memory_limit_mb=150, memory_warn_mb=100)
        async with open_process_pool(options) as pool:
            outcome = await pool.run_job(_info(tmp_path), JobControl())
    assert (outcome.status, outcome.error) == (agent.JS_FAILED, "memory limit exceeded")


async def test_job_without_idle_process_spawns_one(tmp_path: Path) -> None:
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("finishes", num_idle_processes=0)) as pool:
            assert pool.statistics().idle == 0
            outcome = await pool.run_job(_info(tmp_path), JobControl())
    assert outcome.status == agent.JS_SUCCESS


def test_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="module:function"):
        ProcessPoolOptions(entrypoint="nocolon")
    with pytest.raises(ConfigurationError, match="ping_timeout"):
        ProcessPoolOptions(entrypoint="a:b", ping_interval=5, ping_timeout=1)


def test_rss_of_self_and_of_missing_process() -> None:
    rss = read_rss_mb(os.getpid())
    assert rss is not None
    assert rss > 1
    assert read_rss_mb(2**22 + 12345) is None


async def _shutdown_later(control: JobControl, reason: str) -> None:
    await trio.sleep(0.3)
    control.request_shutdown(reason)


async def test_worker_with_pool_executor_reports_through_the_server(tmp_path: Path) -> None:
    from tests.worker.fake_agent_server import FakeAgentServer
    from trioagents.worker import WorkerOptions, open_worker

    server = FakeAgentServer()
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            options = WorkerOptions(url=server.url, status_interval=0.1, shutdown_grace=0.5)
            async with (
                open_process_pool(_options("waits_for_shutdown")) as pool,
                open_worker(options, _unused_entrypoint, executor=pool) as worker,
            ):
                await worker.wait_registered()
                job_file = tmp_path / "AJ_1.json"
                await server.current.send(_availability("AJ_1", str(job_file)))
                await server.wait_until(lambda: server.current.of_kind("availability"))
                await server.assign(_job("AJ_1", str(job_file)), "agent-AJ_1")
                await server.wait_status("AJ_1", agent.JS_RUNNING)
                await server.terminate("AJ_1")
                await server.wait_status("AJ_1", agent.JS_SUCCESS)
                assert json.loads(job_file.read_text())["reason"] == "terminated by server"
            nursery.cancel_scope.cancel()


async def _unused_entrypoint(ctx: object) -> None:
    raise AssertionError("the pool runs the entrypoint named in its options")


def _job(job_id: str, metadata: str) -> agent.Job:
    job = agent.Job(id=job_id, metadata=metadata)
    job.room.name = "room-1"
    return job


def _availability(job_id: str, metadata: str) -> agent.ServerMessage:
    request = agent.AvailabilityRequest(job=_job(job_id, metadata))
    return agent.ServerMessage(availability=request)


async def test_unresponsive_child_is_killed(tmp_path: Path) -> None:
    with trio.fail_after(LIMIT):
        options = _options("blocks_event_loop", ping_interval=0.1, ping_timeout=0.5)
        async with open_process_pool(options) as pool:
            start = trio.current_time()
            outcome = await pool.run_job(_info(tmp_path), JobControl())
            elapsed = trio.current_time() - start
    assert (outcome.status, outcome.error) == (agent.JS_FAILED, "unresponsive")
    assert elapsed < 5.0


async def test_memory_warning_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    control = JobControl()
    with trio.fail_after(LIMIT):
        options = _options("waits_for_shutdown", memory_warn_mb=5)
        async with open_process_pool(options) as pool, trio.open_nursery() as nursery:
            nursery.start_soon(_shutdown_later, control, "done")
            outcome = await pool.run_job(_info(tmp_path), control)
    assert outcome.status == agent.JS_SUCCESS
    warnings = [r for r in caplog.records if r.getMessage() == "job process memory high"]
    assert len(warnings) == 1
    assert warnings[0].rss_mb > 5  # type: ignore[attr-defined]


async def test_shutdown_right_behind_start_still_runs_the_job(tmp_path: Path) -> None:
    # The server can terminate a job the moment it is reported running: the child
    # then reads start_job and shutdown in one go. The job must run and end.
    control = JobControl()
    control.request_shutdown("terminated early")
    # the child starts the job and sees the shutdown within this grace; 0.5 s was too
    # tight on a loaded machine (the job was killed before it recorded the reason)
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("waits_for_shutdown", shutdown_grace=5.0)) as pool:
            outcome = await pool.run_job(_info(tmp_path), control)
    assert outcome.status == agent.JS_SUCCESS
    assert _recorded(tmp_path)["reason"] == "terminated early"


class _ExitedChild:
    """A child that finished its job and exited: its pipe is broken for writes."""

    def __init__(self) -> None:
        self.replies: list[dict[str, object] | None] = [
            {"type": "job_finished", "status": agent.JS_SUCCESS, "reason": "done"},
            None,
        ]

        async def wait() -> int:
            await trio.lowlevel.checkpoint()
            return 0

        self.process = SimpleNamespace(pid=-1, returncode=0, wait=wait)

    async def send(self, message: dict[str, object]) -> None:
        await trio.lowlevel.checkpoint()
        raise trio.BrokenResourceError

    async def receive(self) -> dict[str, object] | None:
        await trio.sleep(1.0)  # the report is read after a ping already hit the pipe
        return self.replies.pop(0)


async def test_a_ping_to_a_child_that_just_exited_does_not_lose_its_report(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Seen in CI: the child reported JS_SUCCESS and exited, a ping hit the closed pipe,
    # BrokenResourceError escaped and the job's success was never reported.
    from trioagents.worker._pool import _Supervision

    control = JobControl()
    control.request_shutdown("terminated by server")  # the shutdown write fails too
    supervision = _Supervision(_ExitedChild(), control, _options("finishes"), "AJ_1")  # type: ignore[arg-type]
    outcome = await supervision.run()
    assert (outcome.status, outcome.reason) == (agent.JS_SUCCESS, "done")


async def test_a_prewarmed_child_that_died_while_idle_fails_the_job_cleanly(
    tmp_path: Path,
) -> None:
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("finishes")) as pool:
            idle = pool._idle[0]  # the prewarmed child the next job takes
            idle.process.kill()
            await idle.process.wait()
            outcome = await pool.run_job(_info(tmp_path), JobControl())
            assert outcome.status == agent.JS_FAILED
            assert outcome.error == "job process exited before the job started"
            # the pool goes on: the next job gets a fresh child
            outcome = await pool.run_job(_info(tmp_path, "AJ_2"), JobControl())
            assert outcome.status == agent.JS_SUCCESS


def _died_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("job process died")]


async def test_a_child_killed_by_a_signal_is_a_warning_with_the_signal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Seen in an attack run: `kill -9` of a job process was logged at INFO as
    # "job ended reason=crashed", with neither the exit status nor the signal.
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("kills_itself")) as pool:
            outcome = await pool.run_job(_info(tmp_path), JobControl())
    assert (outcome.status, outcome.reason) == (agent.JS_FAILED, "crashed")
    assert outcome.process_lost
    assert (outcome.exit_code, outcome.signal) == (-signal.SIGKILL, "SIGKILL")
    assert outcome.error == "job process died (killed by SIGKILL)"
    [record] = _died_warnings(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "job process died (killed by SIGKILL)"
    assert record.job_id == "AJ_1"  # type: ignore[attr-defined]
    assert record.exit_code == -signal.SIGKILL  # type: ignore[attr-defined]
    assert record.signal == "SIGKILL"  # type: ignore[attr-defined]


async def test_a_child_that_exits_gives_its_exit_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(LIMIT):
        async with open_process_pool(_options("exits_with_status_3")) as pool:
            outcome = await pool.run_job(_info(tmp_path), JobControl())
    assert (outcome.exit_code, outcome.signal) == (3, None)
    [record] = _died_warnings(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "job process died (exit status 3)"
    assert (record.exit_code, record.signal) == (3, None)  # type: ignore[attr-defined]


async def test_a_supervision_kill_carries_the_exit_code_without_a_died_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(LIMIT):
        options = _options("blocks_event_loop", ping_interval=0.1, ping_timeout=0.5)
        async with open_process_pool(options) as pool:
            outcome = await pool.run_job(_info(tmp_path), JobControl())
    assert (outcome.reason, outcome.signal) == ("unresponsive", "SIGKILL")
    assert _died_warnings(caplog) == []  # the kill was logged (ERROR) when decided


async def test_worker_counts_a_job_whose_process_was_killed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.worker.fake_agent_server import FakeAgentServer
    from trioagents.worker import WorkerOptions, open_worker
    from trioagents.worker._http import render_metrics

    caplog.set_level(logging.INFO, logger="trioagents.worker")
    server = FakeAgentServer()
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            options = WorkerOptions(url=server.url, status_interval=0.1, shutdown_grace=0.5)
            async with (
                open_process_pool(_options("kills_itself")) as pool,
                open_worker(options, _unused_entrypoint, executor=pool) as worker,
            ):
                await worker.wait_registered()
                await server.current.send(_availability("AJ_1", "unused"))
                await server.wait_until(lambda: server.current.of_kind("availability"))
                await server.assign(_job("AJ_1", "unused"), "agent-AJ_1")
                await server.wait_status("AJ_1", agent.JS_FAILED)
                stats = worker.statistics()
            nursery.cancel_scope.cancel()
    assert dict(stats.jobs_crashed) == {("crashed", "SIGKILL"): 1}
    assert stats.jobs_failed == 1
    text = render_metrics(stats)
    assert 'trioagents_worker_jobs_crashed_total{reason="crashed",signal="SIGKILL"} 1.0\n' in text
    [update] = [m.update_job for m in server.current.of_kind("update_job")
                if m.update_job.status == agent.JS_FAILED]  # fmt: skip
    assert update.error == "job process died (killed by SIGKILL)"
    [ended] = [r for r in caplog.records if r.getMessage() == "job ended"]
    assert (ended.exit_code, ended.signal) == (-signal.SIGKILL, "SIGKILL")  # type: ignore[attr-defined]
