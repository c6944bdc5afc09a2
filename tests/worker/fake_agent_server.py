"""A small fake of the server side of ``/agent`` for the worker tests.

It speaks the real protobufs over trio-websocket on 127.0.0.1 (port 0), checks
the worker's bearer token like LiveKit does (agent grant), answers
``register`` and records every message. Tests drive dispatch by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio
import trio.testing
import trio_websocket
import wsproto.utilities
from livekit.protocol import agent

from trioagents.protocol import (
    AuthError,
    VideoGrants,
    authorize_grant,
    decode_worker_message,
    mint_token,
    verify_token,
)
from trioagents.worker._connection import AgentConnection, open_agent_connection

API_KEY = "devkey"
API_SECRET = "secret"


class FakeWorkerConnection:
    def __init__(self, websocket: trio_websocket.WebSocketConnection, number: int) -> None:
        self.websocket = websocket
        self.register: agent.RegisterWorkerRequest | None = None
        self.received: list[agent.WorkerMessage] = []
        self.worker_id = f"AW_{number}"
        self.closed = trio.Event()

    def of_kind(self, kind: str) -> list[agent.WorkerMessage]:
        return [m for m in self.received if m.WhichOneof("message") == kind]

    def job_statuses(self, job_id: str) -> list[int]:
        return [
            m.update_job.status for m in self.of_kind("update_job") if m.update_job.job_id == job_id
        ]

    async def send(self, message: agent.ServerMessage) -> None:
        await self.websocket.send_message(message.SerializeToString())


class FakeAgentServer:
    def __init__(self) -> None:
        self.connections: list[FakeWorkerConnection] = []
        self.port = 0
        self.rejections = 0
        self.reject_all = False
        self.server_errors = 0
        self._changed = trio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, condition: Callable[[], object]) -> None:
        """Wait for server events; also polls, for conditions on the worker's side."""
        while not condition():
            with trio.move_on_after(0.01):
                await self._changed.wait()

    @property
    def current(self) -> FakeWorkerConnection:
        return self.connections[-1]

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                trio_websocket.serve_websocket, self._handle, "127.0.0.1", self.port, None
            )
            self.port = server.port
            task_status.started()

    async def serve_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one connection over an already open stream (in-memory tests)."""
        async with trio.open_nursery() as nursery:
            request = await trio_websocket.wrap_server_stream(nursery, stream)  # type: ignore[arg-type]
            await self._handle(request)
            # trio-websocket's reader ends when the stream closes; the connector
            # cancels the whole exchange when the worker lets go.

    async def _serve_stream_isolated(self, stream: trio.abc.Stream) -> None:
        # The server runs inside the worker's task tree here; a server-side failure
        # must look to the worker like what it is over a network: a dropped
        # connection. (trio-websocket's server answers a ping while closing with a
        # wsproto LocalProtocolError.)
        try:
            await self.serve_stream(stream)
        except* wsproto.utilities.LocalProtocolError:
            self.server_errors += 1
            await stream.aclose()

    @asynccontextmanager
    async def memory_connector(self, url: str, token: str) -> AsyncIterator[AgentConnection]:
        """A ``Worker`` connector that reaches this server over a memory stream pair."""
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._serve_stream_isolated, server)
            try:
                async with open_agent_connection(url, token, stream=client) as connection:
                    yield connection
            finally:
                nursery.cancel_scope.cancel()

    async def _handle(self, request: trio_websocket.WebSocketRequest) -> None:
        headers = dict(request.headers)
        auth = headers.get(b"authorization", b"").decode()
        try:
            claims = verify_token(auth.removeprefix("Bearer "), {API_KEY: API_SECRET})
            authorize_grant(claims, "agent")
        except AuthError:
            self.rejections += 1
            await request.reject(401)
            return
        if self.reject_all:
            self.rejections += 1
            await request.reject(503)
            return
        websocket = await request.accept()
        connection = FakeWorkerConnection(websocket, len(self.connections) + 1)
        try:
            first = decode_worker_message(await websocket.get_message())
            assert first.WhichOneof("message") == "register"
            connection.register = first.register
            response = agent.RegisterWorkerResponse(worker_id=connection.worker_id)
            await connection.send(agent.ServerMessage(register=response))
            self.connections.append(connection)
            self._notify()
            while True:
                connection.received.append(decode_worker_message(await websocket.get_message()))
                self._notify()
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            connection.closed.set()
            self._notify()

    async def dispatch(
        self, job_id: str, room: str = "room-1", *, assign: bool = True
    ) -> agent.AvailabilityResponse:
        """Offer a job to the current worker; assign it if accepted (and ``assign``)."""
        connection = self.current
        job = agent.Job(id=job_id, type=agent.JT_ROOM)
        job.room.name = room
        await connection.send(agent.ServerMessage(availability=agent.AvailabilityRequest(job=job)))

        def answered() -> list[agent.AvailabilityResponse]:
            return [
                m.availability
                for m in connection.of_kind("availability")
                if m.availability.job_id == job_id
            ]

        await self.wait_until(answered)
        response = answered()[0]
        if response.available and assign:
            await self.assign(job, response.participant_identity)
        return response

    async def assign(self, job: agent.Job, identity: str) -> None:
        token = mint_token(
            API_KEY,
            API_SECRET,
            identity=identity,
            video=VideoGrants(room_join=True, room=job.room.name, agent=True),
        )
        assignment = agent.JobAssignment(job=job, token=token)
        await self.current.send(agent.ServerMessage(assignment=assignment))

    async def terminate(self, job_id: str) -> None:
        termination = agent.JobTermination(job_id=job_id)
        await self.current.send(agent.ServerMessage(termination=termination))

    async def wait_status(self, job_id: str, status: int) -> None:
        await self.wait_until(
            lambda: any(status in c.job_statuses(job_id) for c in self.connections)
        )
