"""The worker against the embedded dev server (``trioagents.devserver``).

Jobs are created the way a user's app creates them: a room is created through
the Twirp RoomService, the dev server's implicit dispatch offers the job to the
registered worker. The room itself is a fake (the rtc layer is tested on its own);
it checks the room token the dev server minted for the agent.

Real sockets and the dev server's media thread: real clock, bounded.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio
from livekit.protocol import room as room_proto

from tests.devserver._client import admin_token, twirp
from tests.worker.test_job import FakeRooms
from trioagents.devserver import DevServer, DevServerOptions, open_devserver, serve_devserver
from trioagents.protocol import authorize_join, verify_token
from trioagents.worker import JobContext, WorkerOptions, open_worker, serve_worker

pytestmark = pytest.mark.slow

LIMIT = 30.0


def _options(server: DevServer, **overrides: object) -> WorkerOptions:
    values: dict[str, object] = {
        "url": server.url,
        "api_key": server.api_key,
        "api_secret": server.api_secret,
        "load_threshold": math.inf,
        "status_interval": 0.05,
        "shutdown_grace": 0.5,
        "reconnect_max_delay": 0.1,
        "max_reconnect_attempts": 100,
    }
    values.update(overrides)
    return WorkerOptions(**values)  # type: ignore[arg-type]


async def _create_room(server: DevServer, name: str) -> None:
    token = admin_token(server, room_create=True)
    response = await twirp(
        server, "RoomService/CreateRoom", room_proto.CreateRoomRequest(name=name), token
    )
    assert response.status_code == 200


async def _delete_room(server: DevServer, name: str) -> None:
    token = admin_token(server, room_create=True)
    response = await twirp(
        server, "RoomService/DeleteRoom", room_proto.DeleteRoomRequest(room=name), token
    )
    assert response.status_code == 200


async def _until(condition: Callable[[], object], step: float = 0.02) -> None:
    """Poll: the state lives in two systems (worker and server) with no shared event."""
    while not condition():  # noqa: ASYNC110
        await trio.sleep(step)


class Conversation:
    """Entrypoint: join the room, check the token, then wait to be released or shut down."""

    def __init__(self, server_keys: dict[str, str]) -> None:
        self.keys = server_keys
        self.joined: dict[str, str] = {}  # room -> identity from the verified token
        self.release: dict[str, trio.Event] = {}
        self.reasons: dict[str, str] = {}
        self.crashes = 0

    async def entrypoint(self, ctx: JobContext) -> None:
        room = ctx.info.room_name
        fake_room = await ctx.connect()
        claims = verify_token(fake_room.token, self.keys)
        assert authorize_join(claims, room) == room
        self.joined[room] = claims.identity
        if room.startswith("crash"):
            self.crashes += 1
            raise RuntimeError("entrypoint bug")
        release = self.release.setdefault(room, trio.Event())
        async with trio.open_nursery() as nursery:

            async def on_shutdown() -> None:
                self.reasons[room] = await ctx.wait_for_shutdown()
                nursery.cancel_scope.cancel()

            nursery.start_soon(on_shutdown)
            await release.wait()
            nursery.cancel_scope.cancel()

    def finish(self, room: str) -> None:
        self.release.setdefault(room, trio.Event()).set()


def _keys(server: DevServer) -> dict[str, str]:
    return {server.api_key: server.api_secret}


async def test_register_dispatch_join_complete() -> None:
    with trio.fail_after(LIMIT):
        async with open_devserver() as server:
            talk, rooms = Conversation(_keys(server)), FakeRooms()
            async with open_worker(_options(server), talk.entrypoint, room_factory=rooms) as worker:
                await worker.wait_registered()
                await _until(lambda: server.statistics().workers == 1)
                await _create_room(server, "lobby")
                await _until(lambda: "lobby" in talk.joined)
                assert talk.joined["lobby"].startswith("agent-AJ_")
                assert server.statistics().jobs == 1
                talk.finish("lobby")
                await _until(lambda: server.statistics().jobs == 0)  # JS_SUCCESS ended it
                assert worker.statistics().jobs_succeeded == 1
                assert rooms.opened[0].closed


async def test_deleting_the_room_terminates_the_job() -> None:
    with trio.fail_after(LIMIT):
        async with open_devserver() as server:
            talk = Conversation(_keys(server))
            async with open_worker(
                _options(server), talk.entrypoint, room_factory=FakeRooms()
            ) as worker:
                await worker.wait_registered()
                await _create_room(server, "lobby")
                await _until(lambda: worker.statistics().running_jobs == 1)
                await _delete_room(server, "lobby")
                await _until(lambda: worker.statistics().running_jobs == 0)
                assert talk.reasons == {"lobby": "terminated by server"}


async def test_failing_job_does_not_disturb_concurrent_job() -> None:
    with trio.fail_after(LIMIT):
        async with open_devserver() as server:
            talk = Conversation(_keys(server))
            async with open_worker(
                _options(server), talk.entrypoint, room_factory=FakeRooms()
            ) as worker:
                await worker.wait_registered()
                await _create_room(server, "steady")
                await _until(lambda: worker.statistics().running_jobs == 1)
                await _create_room(server, "crash-1")
                await _until(lambda: worker.statistics().jobs_failed == 1)
                await _until(lambda: server.statistics().jobs == 1)  # JS_FAILED ended it
                assert worker.statistics().running_jobs == 1
                assert talk.reasons == {}
                talk.finish("steady")
                await _until(lambda: worker.statistics().jobs_succeeded == 1)


async def test_dev_server_restart_mid_job_reregisters() -> None:
    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as nursery:
            first: DevServer = await nursery.start(serve_devserver, DevServerOptions())
            port = first.port
            talk = Conversation(_keys(first))
            async with open_worker(
                _options(first), talk.entrypoint, room_factory=FakeRooms()
            ) as worker:
                await worker.wait_registered()
                await _create_room(first, "lobby")
                await _until(lambda: worker.statistics().running_jobs == 1)
                nursery.cancel_scope.cancel()  # kill the first server
                await _until(lambda: not worker.statistics().connected)
                async with open_devserver(DevServerOptions(port=port)) as second:
                    await _until(lambda: worker.statistics().registrations == 2)
                    await _until(lambda: second.statistics().workers == 1)
                    assert worker.statistics().running_jobs == 1  # the job kept running
                    assert talk.reasons == {}
                    talk.finish("lobby")
                    await _until(lambda: worker.statistics().jobs_succeeded == 1)
                    await _create_room(second, "after")  # the new server dispatches to it
                    await _until(lambda: "after" in talk.joined)


async def test_burst_of_rooms_respects_max_concurrent_jobs() -> None:
    with trio.fail_after(LIMIT):
        async with open_devserver() as server:
            talk = Conversation(_keys(server))
            options = _options(server, max_concurrent_jobs=2)
            async with open_worker(options, talk.entrypoint, room_factory=FakeRooms()) as worker:
                await worker.wait_registered()
                async with trio.open_nursery() as burst:
                    for i in range(6):
                        burst.start_soon(_create_room, server, f"room-{i}")
                await _until(lambda: len(talk.joined) == 2)
                await trio.sleep(0.3)  # give the other four every chance to overshoot
                assert len(talk.joined) == 2
                assert worker.statistics().running_jobs == 2
                assert server.statistics().jobs == 2


@asynccontextmanager
async def _serving(
    nursery: trio.Nursery, options: WorkerOptions, talk: Conversation
) -> AsyncIterator[tuple[object, trio.Event]]:
    done = trio.Event()

    async def run(task_status: trio.TaskStatus[object]) -> None:
        await serve_worker(
            options, talk.entrypoint, room_factory=FakeRooms(), task_status=task_status
        )
        done.set()

    yield await nursery.start(run), done


async def test_sigterm_drains_with_live_job() -> None:
    with trio.fail_after(LIMIT):
        async with open_devserver() as server, trio.open_nursery() as nursery:
            talk = Conversation(_keys(server))
            async with _serving(nursery, _options(server, drain_timeout=20.0), talk) as (
                worker,
                done,
            ):
                await worker.wait_registered()  # type: ignore[attr-defined]
                await _create_room(server, "live")
                await _until(lambda: "live" in talk.joined)
                os.kill(os.getpid(), signal.SIGTERM)
                await _until(lambda: worker.statistics().draining)  # type: ignore[attr-defined]
                await trio.sleep(0.2)  # the WS_FULL status reaches the server
                await _create_room(server, "refused")
                await trio.sleep(0.3)
                assert "refused" not in talk.joined  # not offered while draining
                assert not done.is_set()  # still waiting for the live job
                talk.finish("live")
                await done.wait()
            assert talk.reasons == {}  # finished by itself, never cancelled
