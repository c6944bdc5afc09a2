"""Health and Prometheus endpoints: a tiny h11 server over ``trio.serve_tcp``.

Routes: ``GET /`` → ``200 OK`` (``503`` once the worker gave up connecting);
``GET /worker`` → JSON worker info (LiveKit's ``WorkerInfo`` fields);
``GET /metrics`` → Prometheus text exposition (format 0.0.4): the worker's own
figures, then ``WorkerOptions.extra_metrics()`` if set (session metrics from
``MetricsRecorder``). Anything else → 404.
One request per connection (``Connection: close``), a 64 KiB request limit and a
10 s read deadline per connection, so a slow client cannot hold a task forever.

The worker's figures come from ``prometheus_client``: a collector reads
:meth:`Worker.statistics` on each scrape into metric families, in a
``CollectorRegistry`` private to this server (never the library's global
``REGISTRY``), rendered by ``generate_latest``. Its own HTTP server
(``start_http_server``, a thread) is not used: this Trio handler serves the text.
(This layer may not import ``trioagents.observability``; the library is the
shared piece.)
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import h11
import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from ._worker import Worker, WorkerStatistics

__all__ = ["render_metrics", "serve_health", "worker_families", "worker_registry"]

_MAX_REQUEST = 64 * 1024
_READ_DEADLINE = 10.0
_EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes


def worker_families(stats: WorkerStatistics) -> list[Metric]:
    """One worker's statistics as Prometheus metric families."""
    gauges = [
        ("trioagents_worker_active_jobs", "Jobs running now", stats.running_jobs),
        ("trioagents_worker_reserved_slots", "Slots reserved for accepted jobs",
         stats.reserved_slots),
        ("trioagents_worker_max_concurrent_jobs", "Job limit", stats.max_concurrent_jobs),
        ("trioagents_worker_load", "Load reported to the server", stats.load),
        ("trioagents_worker_connected", "1 while registered", int(stats.connected)),
        ("trioagents_worker_draining", "1 while draining", int(stats.draining)),
        ("trioagents_worker_pending_reports", "Job reports waiting for a connection",
         stats.pending_reports),
    ]  # fmt: skip
    counters = [
        ("trioagents_worker_jobs_started_total", "Jobs started", stats.jobs_started),
        ("trioagents_worker_jobs_succeeded_total", "Jobs that succeeded", stats.jobs_succeeded),
        ("trioagents_worker_jobs_failed_total", "Jobs that failed", stats.jobs_failed),
        ("trioagents_worker_registrations_total", "Successful registrations",
         stats.registrations),
    ]  # fmt: skip
    families: list[Metric] = [
        GaugeMetricFamily(name, help_text, value=value) for name, help_text, value in gauges
    ]
    families += [
        CounterMetricFamily(name, help_text, value=value) for name, help_text, value in counters
    ]
    crashed = CounterMetricFamily(
        "trioagents_worker_jobs_crashed_total",
        "Jobs whose process ended without a report, by reason and signal",
        labels=["reason", "signal"],
    )
    for (reason, signal), count in sorted(stats.jobs_crashed.items()):
        crashed.add_metric([reason, signal], count)
    families.append(crashed)
    return families


class _WorkerCollector:
    """Reads the worker's statistics at each scrape (a ``prometheus_client`` collector)."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    def collect(self) -> list[Metric]:
        return worker_families(self._worker.statistics())


class _Snapshot:
    def __init__(self, stats: WorkerStatistics) -> None:
        self._stats = stats

    def collect(self) -> list[Metric]:
        return worker_families(self._stats)


def render_metrics(stats: WorkerStatistics) -> str:
    """Prometheus text format for one worker's statistics."""
    return generate_latest(_Snapshot(stats)).decode()


def worker_registry(worker: Worker) -> CollectorRegistry:
    """A registry of this worker's figures alone, read at each scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WorkerCollector(worker))
    return registry


def _route(worker: Worker, registry: CollectorRegistry, target: bytes) -> tuple[int, str, bytes]:
    stats = worker.statistics()
    path = target.split(b"?", 1)[0]
    if path == b"/":
        if stats.connection_failed:
            return 503, "text/plain", b"failed to connect to livekit"
        return 200, "text/plain", b"OK"
    if path == b"/worker":
        info = {
            "agent_name": worker.options.agent_name,
            "worker_type": worker.options.job_type,
            "worker_id": stats.worker_id,
            "active_jobs": stats.running_jobs,
            "worker_load": stats.load,
            "draining": stats.draining,
            "protocol_version": 1,
        }
        return 200, "application/json", json.dumps(info).encode()
    if path == b"/metrics":
        text = generate_latest(registry).decode()
        extra = worker.options.extra_metrics
        if extra is not None:
            text += extra()
        return 200, _EXPOSITION, text.encode()
    return 404, "text/plain", b"not found"


async def _handle(worker: Worker, registry: CollectorRegistry, stream: trio.SocketStream) -> None:
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST)
    with trio.move_on_after(_READ_DEADLINE):
        event: object = h11.NEED_DATA
        while event is h11.NEED_DATA:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError:
                return
            if event is h11.NEED_DATA:
                data = await stream.receive_some(4096)
                if not data:
                    return
                connection.receive_data(data)
        if not isinstance(event, h11.Request):
            return
        status, content_type, body = (
            _route(worker, registry, event.target)
            if event.method == b"GET"
            else (405, "text/plain", b"")
        )
        headers = [("content-type", content_type), ("content-length", str(len(body))),
                   ("connection", "close")]  # fmt: skip
        await stream.send_all(connection.send(h11.Response(status_code=status, headers=headers)))
        await stream.send_all(connection.send(h11.Data(data=body)))
        await stream.send_all(connection.send(h11.EndOfMessage()))


async def serve_health(
    worker: Worker, host: str, port: int, *, task_status: trio.TaskStatus[tuple[str, int]]
) -> None:
    """Serve until cancelled; reports the bound ``(host, port)`` when listening."""
    registry = worker_registry(worker)

    async def handler(stream: trio.SocketStream) -> None:
        async with stream:
            with contextlib.suppress(trio.BrokenResourceError):  # the client went away
                await _handle(worker, registry, stream)

    listeners = await trio.open_tcp_listeners(port, host=host)
    sockname = listeners[0].socket.getsockname()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, handler, listeners)
        task_status.started((str(sockname[0]), int(sockname[1])))
