"""Worker behaviours that need control over the link: in memory, virtual time."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from trioagents.worker import JobContext, JobProcess, WorkerOptions, open_worker
from trioagents.worker._connection import AgentConnection, open_agent_connection
from trioagents.worker._job import InProcessExecutor
from trioagents.worker._worker import Worker

from .fake_agent_server import FakeAgentServer


class StallableLinks:
    """Connector whose server→worker direction can be frozen (a silent network)."""

    def __init__(self, server: FakeAgentServer) -> None:
        self.server = server
        self.downlinks: list[trio.testing.MemorySendStream] = []

    def stall_current(self) -> None:
        self.downlinks[-1].send_all_hook = None  # bytes pile up, nothing is delivered

    @asynccontextmanager
    async def connect(self, url: str, token: str) -> AsyncIterator[AgentConnection]:
        up_send, up_receive = trio.testing.memory_stream_one_way_pair()
        down_send, down_receive = trio.testing.memory_stream_one_way_pair()
        self.downlinks.append(down_send)
        worker_end = trio.StapledStream(up_send, down_receive)
        server_end = trio.StapledStream(down_send, up_receive)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.server.serve_stream, server_end)
            try:
                async with open_agent_connection(url, token, stream=worker_end) as connection:
                    yield connection
            finally:
                nursery.cancel_scope.cancel()


async def _idle(ctx: JobContext) -> None:
    await ctx.wait_for_shutdown()


async def test_silent_server_is_detected_by_heartbeat(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = FakeAgentServer()
    links = StallableLinks(server)
    options = WorkerOptions(health_check_interval=30.0, load_threshold=math.inf)
    worker = Worker(options, InProcessExecutor(_idle, None, JobProcess(), 1.0), None,
                    connector=links.connect)  # fmt: skip
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(worker.serve_connections, nursery)
            await worker.wait_registered()
            start = trio.current_time()
            links.stall_current()
            await server.wait_until(lambda: len(server.connections) == 2)
            # ping at +30 s, no pong by +45 s → reconnect at once (first retry has no delay)
            assert trio.current_time() - start == pytest.approx(45.0, abs=0.5)
            assert await worker.wait_registered() == "AW_2"
            assert worker.statistics().registrations == 2
            nursery.cancel_scope.cancel()


async def test_error_in_the_block_comes_out_as_itself() -> None:
    options = WorkerOptions(url="ws://127.0.0.1:9")  # loopback, refused: the body raises first
    with pytest.raises(KeyError, match="from the body"):
        async with open_worker(options, _idle):
            raise KeyError("from the body")
