"""Options, slots, metrics rendering and the HTTP health server."""

from __future__ import annotations

import dataclasses
import json
import math

import h11
import prometheus_client
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from trioagents.core import ConfigurationError
from trioagents.worker import WorkerOptions
from trioagents.worker._http import render_metrics, serve_health, worker_registry
from trioagents.worker._job import InProcessExecutor, signal_name
from trioagents.worker._pool import describe_exit
from trioagents.worker._slots import JobSlots
from trioagents.worker._worker import Worker


def test_defaults_match_the_issue() -> None:
    import os

    options = WorkerOptions()
    assert options.max_concurrent_jobs == 8 * len(os.sched_getaffinity(0))  # JOBS_PER_CPU
    assert (options.job_timeout, options.health_check_interval) == (None, 30.0)
    assert (options.load_threshold, options.drain_timeout) == (0.7, 3600.0)
    assert options.agent_url == "ws://127.0.0.1:7880/agent"
    assert WorkerOptions(url="https://x.example/").agent_url == "wss://x.example/agent"
    assert [options.reconnect_delay(n) for n in (1, 2, 3, 9)] == [0.0, 2.0, 4.0, 10.0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "ftp://x", "url must start"),
        ("max_concurrent_jobs", 0, "max_concurrent_jobs"),
        ("load_threshold", 0.0, "load_threshold"),
        ("job_timeout", -1.0, "job_timeout"),
        ("drain_timeout", 0.0, "drain_timeout"),
        ("job_type", "web", "job_type"),
    ],
)
def test_bad_options_say_how_to_fix(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        WorkerOptions(**{field: value})  # type: ignore[arg-type]


def test_secret_not_in_repr() -> None:
    assert "hunter2" not in repr(WorkerOptions(api_secret="hunter2"))


@given(st.lists(st.tuples(st.sampled_from("rcx"), st.integers(0, 5)), max_size=60))
def test_slots_never_exceed_limit(operations: list[tuple[str, int]]) -> None:
    slots = JobSlots(3)
    reserved: set[str] = set()
    for op, n in operations:
        job_id = f"J{n}"
        if op == "r" and slots.try_reserve(job_id):
            reserved.add(job_id)
        elif op == "c" and job_id in reserved:
            slots.confirm(job_id)
            reserved.discard(job_id)
        elif op == "x":
            slots.release(job_id)
            reserved.discard(job_id)
        counts = slots.counts()
        assert counts.used <= 3
        assert counts.reserved == len(reserved)
        assert not set(slots.running()) & reserved


def _worker(**overrides: object) -> Worker:
    async def entrypoint(ctx: object) -> None:
        return None

    options = WorkerOptions(max_concurrent_jobs=2, **overrides)  # type: ignore[arg-type]
    return Worker(options, InProcessExecutor(entrypoint, None, None, 1.0), None)  # type: ignore[arg-type]


def test_load_and_availability() -> None:
    workers: list[Worker] = []  # a load_fnc reporting the fraction of slots in use
    worker = _worker(load_threshold=0.5, load_fnc=lambda: workers[0]._slots.counts().used / 2)
    workers.append(worker)
    assert worker.is_available()  # idle is always available
    assert worker._try_reserve("a")
    assert worker.load() == 0.5
    assert not worker.is_available()  # at the threshold
    assert _worker().load() == 0.0  # the CPU figure, before any reading
    relaxed = _worker(load_threshold=math.inf)
    assert relaxed._try_reserve("a")
    assert relaxed._try_reserve("b")
    assert not relaxed._try_reserve("c")  # the hard limit, whatever the threshold
    custom = _worker(load_fnc=lambda: float("nan"))
    assert custom.load() == 1.0
    broken = _worker(load_fnc=lambda: 1 / 0, load_threshold=0.9)
    assert broken.load() == 1.0
    assert broken.is_available()  # idle: still takes one job
    assert broken._try_reserve("a")
    assert not broken.is_available()


def test_metrics_text_format() -> None:
    text = render_metrics(_worker().statistics())
    assert "# TYPE trioagents_worker_active_jobs gauge\ntrioagents_worker_active_jobs 0.0\n" in text
    assert "trioagents_worker_max_concurrent_jobs 2" in text
    assert text.endswith("\n")


def test_crash_counter_is_rendered_with_escaped_labels() -> None:
    stats = _worker().statistics()
    text = render_metrics(stats)
    assert "# TYPE trioagents_worker_jobs_crashed_total counter\n" in text  # even before one
    crashed = {("crashed", "SIGKILL"): 2, ('odd "reason"\n', "none"): 1}
    text = render_metrics(dataclasses.replace(stats, jobs_crashed=crashed))
    assert 'trioagents_worker_jobs_crashed_total{reason="crashed",signal="SIGKILL"} 2.0\n' in text
    assert 'reason="odd \\"reason\\"\\n",signal="none"} 1.0\n' in text


def test_exit_descriptions() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"
    assert describe_exit(3) == "exit status 3"
    assert describe_exit(None) == "exit status unknown"
    assert signal_name(-200) == "SIG200"  # no such signal: still a readable label
    assert signal_name(0) is None


WORKER_SERIES = {
    "trioagents_worker_active_jobs": "gauge",
    "trioagents_worker_reserved_slots": "gauge",
    "trioagents_worker_max_concurrent_jobs": "gauge",
    "trioagents_worker_load": "gauge",
    "trioagents_worker_connected": "gauge",
    "trioagents_worker_draining": "gauge",
    "trioagents_worker_pending_reports": "gauge",
    "trioagents_worker_jobs_started": "counter",
    "trioagents_worker_jobs_succeeded": "counter",
    "trioagents_worker_jobs_failed": "counter",
    "trioagents_worker_registrations": "counter",
    "trioagents_worker_jobs_crashed": "counter",
}


def test_worker_registry_reads_live_statistics_and_keeps_the_names() -> None:
    worker = _worker()
    registry = worker_registry(worker)
    text = prometheus_client.generate_latest(registry).decode()
    found = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert found == WORKER_SERIES
    assert "trioagents_worker_jobs_started_total 0.0" in text
    assert "trioagents_worker_reserved_slots 0.0" in text
    assert worker._try_reserve("a")
    again = prometheus_client.generate_latest(registry).decode()
    assert "trioagents_worker_reserved_slots 1.0" in again  # read at each scrape
    assert "trioagents_worker" not in prometheus_client.generate_latest().decode()  # private


async def _get(address: tuple[str, int], target: str, method: str = "GET") -> tuple[int, bytes]:
    stream = await trio.open_tcp_stream(*address)
    async with stream:
        client = h11.Connection(h11.CLIENT)
        request = h11.Request(method=method, target=target, headers=[("host", "x")])
        await stream.send_all(client.send(request) + client.send(h11.EndOfMessage()))
        status, body = 0, b""
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(await stream.receive_some(4096))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, body


@pytest.mark.slow
async def test_health_worker_and_metrics_endpoints() -> None:
    worker = _worker(agent_name="bob")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            address = await nursery.start(serve_health, worker, "127.0.0.1", 0)
            assert await _get(address, "/") == (200, b"OK")
            status, body = await _get(address, "/worker")
            info = json.loads(body)
            assert (status, info["agent_name"], info["active_jobs"]) == (200, "bob", 0)
            status, body = await _get(address, "/metrics?x=1")
            assert status == 200
            assert b"trioagents_worker_load 0.0" in body
            assert (await _get(address, "/nope"))[0] == 404
            assert (await _get(address, "/", "POST"))[0] == 405
            worker._connection_failed = True
            assert (await _get(address, "/"))[0] == 503
            garbage = await trio.open_tcp_stream(*address)
            async with garbage:
                await garbage.send_all(b"\x00\x01 not http\r\n\r\n")
                assert await garbage.receive_some(10) == b""  # closed, server still up
            assert (await _get(address, "/"))[0] == 503
            nursery.cancel_scope.cancel()
