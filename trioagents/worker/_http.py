"""Health and Prometheus endpoints: a tiny h11 server over ``trio.serve_tcp``.

Routes: ``GET /`` → ``200 OK`` (``503`` once the worker gave up connecting);
``GET /worker`` → JSON worker info (LiveKit's ``WorkerInfo`` fields);
``GET /metrics`` → Prometheus text exposition (format 0.0.4): the worker's own
figures, then ``WorkerOptions.extra_metrics()`` if set (session metrics from
``MetricsRecorder``). Anything else → 404.
One request per connection (``Connection: close``), a 64 KiB request limit and a
10 s read deadline per connection, so a slow client cannot hold a task forever.

Rejected alternative: ``prometheus-client``. It brings a registry of global state
and its own HTTP server thread; a dozen gauges and counters are a few lines of
text format, rendered on demand from :meth:`Worker.statistics`.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import h11
import trio

if TYPE_CHECKING:
    from ._worker import Worker, WorkerStatistics

__all__ = ["render_metrics", "serve_health"]

_MAX_REQUEST = 64 * 1024
_READ_DEADLINE = 10.0


def render_metrics(stats: WorkerStatistics) -> str:
    """Prometheus text format for one worker's statistics."""
    rows = [
        ("trioagents_worker_active_jobs", "gauge", "Jobs running now", stats.running_jobs),
        ("trioagents_worker_reserved_slots", "gauge", "Slots reserved for accepted jobs",
         stats.reserved_slots),
        ("trioagents_worker_max_concurrent_jobs", "gauge", "Job limit",
         stats.max_concurrent_jobs),
        ("trioagents_worker_load", "gauge", "Load reported to the server", stats.load),
        ("trioagents_worker_connected", "gauge", "1 while registered", int(stats.connected)),
        ("trioagents_worker_draining", "gauge", "1 while draining", int(stats.draining)),
        ("trioagents_worker_pending_reports", "gauge", "Job reports waiting for a connection",
         stats.pending_reports),
        ("trioagents_worker_jobs_started_total", "counter", "Jobs started", stats.jobs_started),
        ("trioagents_worker_jobs_succeeded_total", "counter", "Jobs that succeeded",
         stats.jobs_succeeded),
        ("trioagents_worker_jobs_failed_total", "counter", "Jobs that failed", stats.jobs_failed),
        ("trioagents_worker_registrations_total", "counter", "Successful registrations",
         stats.registrations),
    ]  # fmt: skip
    lines = []
    for name, kind, help_text, value in rows:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    name = "trioagents_worker_jobs_crashed_total"
    lines += [f"# HELP {name} Jobs whose process ended without a report, by reason and signal",
              f"# TYPE {name} counter"]  # fmt: skip
    for (reason, signal), count in sorted(stats.jobs_crashed.items()):
        lines.append(f'{name}{{reason="{_escape(reason)}",signal="{_escape(signal)}"}} {count}')
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _route(worker: Worker, target: bytes) -> tuple[int, str, bytes]:
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
        text = render_metrics(stats)
        extra = worker.options.extra_metrics
        if extra is not None:
            text += extra()
        return 200, "text/plain; version=0.0.4", text.encode()
    return 404, "text/plain", b"not found"


async def _handle(worker: Worker, stream: trio.SocketStream) -> None:
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
            _route(worker, event.target) if event.method == b"GET" else (405, "text/plain", b"")
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

    async def handler(stream: trio.SocketStream) -> None:
        async with stream:
            with contextlib.suppress(trio.BrokenResourceError):  # the client went away
                await _handle(worker, stream)

    listeners = await trio.open_tcp_listeners(port, host=host)
    sockname = listeners[0].socket.getsockname()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, handler, listeners)
        task_status.started((str(sockname[0]), int(sockname[1])))
