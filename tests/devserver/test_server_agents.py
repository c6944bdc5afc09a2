"""The ``/agent`` endpoint with a raw protobuf worker."""

from __future__ import annotations

import pytest
import trio
import trio_websocket
from livekit.protocol import agent, agent_dispatch, models, room, rtc

from trioagents.devserver import DevServer, DevServerOptions, open_devserver
from trioagents.protocol import VideoGrants, mint_token, verify_token

from ._client import (
    admin_token,
    drain_until_closed,
    join_token,
    open_agent,
    open_rtc,
    recv_server,
    recv_signal,
    send,
    twirp,
)

pytestmark = pytest.mark.slow


async def register(
    ws: trio_websocket.WebSocketConnection, name: str = "", job_type: int = agent.JT_ROOM
) -> str:
    request = agent.RegisterWorkerRequest(type=job_type, agent_name=name, version="1.8.9")
    request.allowed_permissions.CopyFrom(
        models.ParticipantPermission(
            can_publish=True,
            can_subscribe=True,
            can_publish_data=True,
            can_update_metadata=True,
            agent=True,
        )
    )
    await send(ws, agent.WorkerMessage(register=request))
    reply = await recv_server(ws)
    assert reply.WhichOneof("message") == "register"
    assert reply.register.server_info.agent_protocol == 1
    return reply.register.worker_id


async def create_room(server: DevServer, name: str, agents: list[str] | None = None) -> None:
    request = room.CreateRoomRequest(
        name=name, agents=[agent_dispatch.RoomAgentDispatch(agent_name=a) for a in agents or []]
    )
    response = await twirp(
        server, "RoomService/CreateRoom", request, admin_token(server, room_create=True)
    )
    assert response.status_code == 200


async def accept(ws: trio_websocket.WebSocketConnection, identity: str = "") -> agent.JobAssignment:
    request = await recv_server(ws)
    assert request.WhichOneof("message") == "availability"
    job = request.availability.job
    await send(
        ws,
        agent.WorkerMessage(
            availability=agent.AvailabilityResponse(
                job_id=job.id, available=True, participant_identity=identity, participant_name="Bot"
            )
        ),
    )
    assignment = await recv_server(ws)
    assert assignment.WhichOneof("message") == "assignment"
    return assignment.assignment


async def test_register_then_job_on_room_creation_with_a_valid_agent_token() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server, open_agent(server) as ws:
            worker_id = await register(ws)
            assert worker_id.startswith("AW_")
            await create_room(server, "demo")
            assignment = await accept(ws, identity="bot-1")
            assert assignment.job.id.startswith("AJ_")
            assert assignment.job.room.name == "demo"
            assert assignment.job.state.status == agent.JS_RUNNING
            assert assignment.job.state.worker_id == worker_id
            claims = verify_token(assignment.token, {server.api_key: server.api_secret})
            assert claims.identity == "bot-1"
            assert claims.kind == "agent"
            assert claims.name == "Bot"
            assert claims.video.room == "demo"
            assert claims.video.room_join
            assert claims.video.agent
            assert claims.attributes["lk.agent_name"] == ""
            assert server.statistics().jobs == 1
            await send(
                ws,
                agent.WorkerMessage(
                    update_job=agent.UpdateJobStatus(
                        job_id=assignment.job.id, status=agent.JS_SUCCESS
                    )
                ),
            )
            await send(ws, agent.WorkerMessage(ping=agent.WorkerPing(timestamp=42)))
            pong = await recv_server(ws)
            assert pong.pong.last_timestamp == 42
            assert server.statistics().jobs == 0
            [finished] = server.finished_jobs()
            assert (finished.job_id, finished.room, finished.status) == (
                assignment.job.id,
                "demo",
                "JS_SUCCESS",
            )
            assert finished.worker_id == worker_id
            assert server.statistics().jobs_finished == 1


async def test_first_participant_triggers_automatic_dispatch() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server, open_agent(server) as ws:
            await register(ws)
            async with open_rtc(server, join_token(server, "user", room="auto")) as user:
                await recv_signal(user)
                assignment = await accept(ws)
                assert assignment.job.room.name == "auto"
                assert assignment.job.state.participant_identity == f"agent-{assignment.job.id}"


async def test_named_workers_only_get_explicit_dispatches_and_termination_on_delete() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server, open_agent(server) as named:
            await register(named, name="helper")
            await create_room(server, "plain")  # implicit empty-name dispatch: not for "helper"
            admin = admin_token(server, room="plain", room_admin=True)
            created = await twirp(
                server,
                "AgentDispatchService/CreateDispatch",
                agent_dispatch.CreateAgentDispatchRequest(agent_name="helper", room="plain"),
                admin,
            )
            dispatch = agent_dispatch.AgentDispatch.FromString(created.content)
            assignment = await accept(named)
            assert assignment.job.dispatch_id == dispatch.id
            assert assignment.job.agent_name == "helper"
            listed = await twirp(
                server,
                "AgentDispatchService/ListDispatch",
                agent_dispatch.ListAgentDispatchRequest(room="plain", dispatch_id=dispatch.id),
                admin,
            )
            (shown,) = agent_dispatch.ListAgentDispatchResponse.FromString(
                listed.content
            ).agent_dispatches
            (job,) = shown.state.jobs  # the running job, as livekit-server lists it
            assert (job.id, job.state.status) == (assignment.job.id, agent.JS_RUNNING)
            assert job.state.worker_id == assignment.job.state.worker_id
            await twirp(
                server,
                "AgentDispatchService/DeleteDispatch",
                agent_dispatch.DeleteAgentDispatchRequest(dispatch_id=dispatch.id, room="plain"),
                admin,
            )
            termination = await recv_server(named)
            assert termination.termination.job_id == assignment.job.id


async def test_worker_declining_passes_the_job_to_another_and_load_weights_the_choice() -> None:
    options = DevServerOptions(seed=7)
    with trio.fail_after(10):
        async with (
            open_devserver(options) as server,
            open_agent(server) as busy,
            open_agent(server) as idle,
        ):
            await register(busy)
            await register(idle)
            await send(
                busy,
                agent.WorkerMessage(
                    update_worker=agent.UpdateWorkerStatus(status=agent.WS_AVAILABLE, load=1.0)
                ),
            )
            await send(
                idle,
                agent.WorkerMessage(
                    update_worker=agent.UpdateWorkerStatus(status=agent.WS_AVAILABLE, load=0.0)
                ),
            )
            await trio.sleep(0.1)
            for index in range(
                3
            ):  # the loaded worker is never asked while the idle one can take it
                await create_room(server, f"r{index}")
                request = await recv_server(idle)
                job_id = request.availability.job.id
                answer = agent.AvailabilityResponse(job_id=job_id, available=False)
                await send(idle, agent.WorkerMessage(availability=answer))
                passed_on = await recv_server(busy)  # declined: the next candidate gets it
                assert passed_on.availability.job.id == job_id
                await send(
                    busy,
                    agent.WorkerMessage(
                        availability=agent.AvailabilityResponse(job_id=job_id, terminate=True)
                    ),
                )


async def test_room_deletion_terminates_its_jobs() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server, open_agent(server) as ws:
            await register(ws)
            await create_room(server, "doomed")
            assignment = await accept(ws)
            await twirp(
                server,
                "RoomService/DeleteRoom",
                room.DeleteRoomRequest(room="doomed"),
                admin_token(server, room_create=True),
            )
            assert (await recv_server(ws)).termination.job_id == assignment.job.id
            assert [(j.job_id, j.status) for j in server.finished_jobs()] == [
                (assignment.job.id, "terminated")
            ]


async def test_a_job_whose_worker_disconnects_is_recorded_as_lost() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            async with open_agent(server) as ws:
                await register(ws)
                await create_room(server, "call")
                assignment = await accept(ws)
            while server.statistics().workers:  # noqa: ASYNC110 - the server's own task
                await trio.sleep(0.01)
            [lost] = server.finished_jobs()
            assert (lost.job_id, lost.room, lost.status) == (
                assignment.job.id,
                "call",
                "worker_lost",
            )


async def test_worker_auth_and_protocol_errors() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            no_agent = mint_token(
                server.api_key,
                server.api_secret,
                identity="",
                video=VideoGrants(room_join=True, room="r"),
            )
            from ._client import raw_upgrade

            status, text = await raw_upgrade(
                server, "/agent", {"authorization": f"Bearer {no_agent}"}
            )
            assert status == 403
            assert text.startswith("missing_grant:")
            async with open_agent(server) as ws:
                await ws.send_message(b"\x08\x01\xff")
                with pytest.raises(trio_websocket.ConnectionClosed) as info:
                    await drain_until_closed(ws)
                assert info.value.reason.code == 1002
            async with open_agent(server) as ws:
                await register(ws)
                await register_again_is_an_error(ws)
            assert server.statistics().workers == 0


async def register_again_is_an_error(ws: trio_websocket.WebSocketConnection) -> None:
    await send(ws, agent.WorkerMessage(register=agent.RegisterWorkerRequest()))
    with pytest.raises(trio_websocket.ConnectionClosed) as info:
        await drain_until_closed(ws)
    assert info.value.reason.code == 1002


async def test_late_worker_gets_the_pending_dispatch_of_an_existing_room() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server:
            await create_room(server, "early")
            async with open_agent(server) as ws:
                await register(ws)
                assignment = await accept(ws)
                assert assignment.job.room.name == "early"


async def test_publisher_workers_get_a_job_per_first_publication() -> None:
    with trio.fail_after(10):
        async with open_devserver() as server, open_agent(server) as ws:
            await register(ws, job_type=agent.JT_PUBLISHER)
            async with open_rtc(server, join_token(server, "speaker", room="pub")) as user:
                await recv_signal(user)
                speaker = server.registry.rooms["pub"].participants["speaker"]
                add = rtc.AddTrackRequest(cid="mic", type=models.AUDIO)
                server.registry.add_track(speaker, add)
                server.registry.publish_track(speaker, "mic", models.AUDIO, "0")
                assignment = await accept(ws)
                assert assignment.job.type == agent.JT_PUBLISHER
                assert assignment.job.participant.identity == "speaker"


@pytest.mark.parametrize(
    "first",
    [
        agent.WorkerMessage(ping=agent.WorkerPing(timestamp=1)),
        agent.WorkerMessage(availability=agent.AvailabilityResponse(job_id="AJ_x", available=True)),
        agent.WorkerMessage(update_worker=agent.UpdateWorkerStatus(status=agent.WS_AVAILABLE)),
    ],
    ids=["ping", "availability", "update_worker"],
)
async def test_a_first_message_other_than_register_closes_the_connection(
    first: agent.WorkerMessage,
) -> None:
    """An unset oneof reads as a default message: it must not pass for a registration."""
    with trio.fail_after(10):
        async with open_devserver() as server:
            async with open_agent(server) as ws:
                await send(ws, first)
                with pytest.raises(trio_websocket.ConnectionClosed) as info:
                    await drain_until_closed(ws)
                assert info.value.reason.code == 1002
            assert server.statistics().workers == 0
            await create_room(server, "after")  # nobody may get this room's job
            assert server.statistics().jobs == 0
