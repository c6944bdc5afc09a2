"""The worker's /metrics endpoint also serves a MetricsRecorder (real socket, real clock)."""

from __future__ import annotations

import pytest
import trio

from trioagents.observability import MetricsRecorder
from trioagents.worker import WorkerOptions
from trioagents.worker._http import serve_health
from trioagents.worker._job import InProcessExecutor
from trioagents.worker._worker import Worker


async def _get(address: tuple[str, int], path: str) -> bytes:
    stream = await trio.open_tcp_stream(*address)
    async with stream:
        await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    return data


@pytest.mark.slow
async def test_metrics_endpoint_renders_session_metrics() -> None:
    recorder = MetricsRecorder()
    recorder.observe_e2e_latency(0.42)
    recorder.record_handoff(succeeded=True)

    async def entrypoint(ctx: object) -> None:
        return None

    options = WorkerOptions(max_concurrent_jobs=1, extra_metrics=recorder.render_prometheus)
    worker = Worker(options, InProcessExecutor(entrypoint, None, None, 1.0), None)  # type: ignore[arg-type]
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            address = await nursery.start(serve_health, worker, "127.0.0.1", 0)
            body = await _get(address, "/metrics")
            recorder.record_reconnect(transport="signal")  # rendered on every scrape
            again = await _get(address, "/metrics")
            nursery.cancel_scope.cancel()
    assert body.startswith(b"HTTP/1.1 200 ")
    assert b"trioagents_worker_load 0.0" in body
    assert b"trioagents_e2e_latency_seconds_count 1" in body
    assert b'trioagents_handoffs_total{outcome="succeeded"} 1' in body
    assert b'trioagents_reconnects_total{transport="signal"} 1' not in body
    assert b'trioagents_reconnects_total{transport="signal"} 1' in again
