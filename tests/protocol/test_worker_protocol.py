"""The sans-I/O ``/agent`` client core, driven synchronously."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from livekit.protocol import agent, models

from trioagents.core import LocalProtocolError, ProtocolError, RemoteProtocolError
from trioagents.protocol import (
    WORKER_CONNECTION_TRANSITIONS,
    AssignmentIgnored,
    AvailabilityRequested,
    GoAwayReceived,
    JobAssigned,
    JobTerminationRequested,
    WorkerJobPhase,
    WorkerPongReceived,
    WorkerProtocol,
    WorkerProtocolState,
    WorkerRegistered,
    WorkerRegistration,
    decode_worker_message,
)


def _server(**kwargs: object) -> bytes:
    return agent.ServerMessage(**kwargs).SerializeToString()  # type: ignore[arg-type]


REGISTERED = _server(register=agent.RegisterWorkerResponse(worker_id="AW_1"))


def _availability(job_id: str) -> bytes:
    return _server(availability=agent.AvailabilityRequest(job=agent.Job(id=job_id)))


def _assignment(job_id: str, token: str = "tok") -> bytes:
    return _server(assignment=agent.JobAssignment(job=agent.Job(id=job_id), token=token))


def _registered() -> WorkerProtocol:
    proto = WorkerProtocol()
    proto.register(WorkerRegistration())
    assert proto.receive_data(REGISTERED) == [
        WorkerRegistered("AW_1", models.ServerInfo()),
    ]
    return proto


def test_register_message_carries_identity_and_permissions() -> None:
    proto = WorkerProtocol()
    perms = models.ParticipantPermission(can_publish=True, agent=True)
    data = proto.register(
        WorkerRegistration(
            agent_name="bob",
            job_type=agent.JT_PUBLISHER,
            namespace="ns",
            version="1.2",
            permissions=perms,
        )
    )
    message = decode_worker_message(data).register
    assert (message.agent_name, message.type, message.namespace) == ("bob", 1, "ns")
    assert message.version == "1.2"
    assert message.allowed_permissions.agent
    assert proto.state is WorkerProtocolState.REGISTERING


def test_first_server_message_must_be_register() -> None:
    proto = WorkerProtocol()
    proto.register(WorkerRegistration())
    with pytest.raises(RemoteProtocolError, match="availability not allowed while registering"):
        proto.receive_data(_availability("AJ_1"))


def test_sending_before_registered_is_a_local_error() -> None:
    proto = WorkerProtocol()
    with pytest.raises(LocalProtocolError):
        proto.update_worker(load=0.0, job_count=0, full=False, draining=False)
    proto.register(WorkerRegistration())
    with pytest.raises(LocalProtocolError):
        proto.register(WorkerRegistration())


def test_second_register_response_is_remote_error() -> None:
    proto = _registered()
    with pytest.raises(RemoteProtocolError):
        proto.receive_data(REGISTERED)


def test_full_job_lifecycle() -> None:
    proto = _registered()
    [event] = proto.receive_data(_availability("AJ_1"))
    assert isinstance(event, AvailabilityRequested)
    assert event.job.id == "AJ_1"
    assert proto.job_phase("AJ_1") is WorkerJobPhase.REQUESTED
    answer = decode_worker_message(proto.accept("AJ_1", identity="agent-AJ_1", name="n"))
    assert answer.availability.available
    assert answer.availability.participant_identity == "agent-AJ_1"
    [assigned] = proto.receive_data(_assignment("AJ_1"))
    assert assigned == JobAssigned(agent.Job(id="AJ_1"), "", "tok")
    assert proto.running_jobs() == ["AJ_1"]
    proto.update_job("AJ_1", agent.JS_RUNNING)
    assert proto.receive_data(_server(termination=agent.JobTermination(job_id="AJ_1"))) == [
        JobTerminationRequested("AJ_1")
    ]
    final = decode_worker_message(proto.update_job("AJ_1", agent.JS_FAILED, "boom"))
    assert (final.update_job.status, final.update_job.error) == (agent.JS_FAILED, "boom")
    assert proto.job_phase("AJ_1") is None
    with pytest.raises(LocalProtocolError):
        proto.update_job("AJ_1", agent.JS_SUCCESS)


def test_reject_forgets_and_late_assignment_is_ignored() -> None:
    proto = _registered()
    proto.receive_data(_availability("AJ_1"))
    answer = decode_worker_message(proto.reject("AJ_1", terminate=True)).availability
    assert (answer.available, answer.terminate) == (False, True)
    assert proto.receive_data(_assignment("AJ_1")) == [AssignmentIgnored("AJ_1")]
    proto.receive_data(_availability("AJ_2"))
    proto.accept("AJ_2", identity="a")
    proto.abandon("AJ_2")
    assert proto.receive_data(_assignment("AJ_2")) == [AssignmentIgnored("AJ_2")]


def test_duplicate_availability_and_tokenless_assignment_are_remote_errors() -> None:
    proto = _registered()
    proto.receive_data(_availability("AJ_1"))
    with pytest.raises(RemoteProtocolError, match="already known"):
        proto.receive_data(_availability("AJ_1"))
    proto.accept("AJ_1", identity="a")
    with pytest.raises(RemoteProtocolError, match="no room token"):
        proto.receive_data(_assignment("AJ_1", token=""))
    with pytest.raises(RemoteProtocolError, match="without id"):
        proto.receive_data(_availability(""))


def test_answering_unknown_job_is_local_error() -> None:
    proto = _registered()
    with pytest.raises(LocalProtocolError):
        proto.accept("nope", identity="a")
    with pytest.raises(LocalProtocolError):
        proto.update_job("nope", agent.JS_RUNNING)


def test_termination_of_unknown_job_yields_nothing_and_pong_go_away_pass() -> None:
    proto = _registered()
    assert proto.receive_data(_server(termination=agent.JobTermination(job_id="x"))) == []
    pong = agent.WorkerPong(last_timestamp=1, timestamp=2)
    assert proto.receive_data(_server(pong=pong)) == [WorkerPongReceived(1, 2)]
    go_away = agent.ServerMessage()
    go_away.go_away.SetInParent()
    assert proto.receive_data(go_away.SerializeToString()) == [GoAwayReceived()]


def test_running_jobs_survive_reconnect_and_are_migrated() -> None:
    proto = WorkerProtocol(running_jobs=["AJ_2", "AJ_1"])
    proto.register(WorkerRegistration())
    proto.receive_data(REGISTERED)
    data = proto.migrate_jobs()
    assert data is not None
    assert list(decode_worker_message(data).migrate_job.job_ids) == ["AJ_1", "AJ_2"]
    assert WorkerProtocol().running_jobs() == []


def test_update_worker_status_fields_and_load_bounds() -> None:
    proto = _registered()
    status = decode_worker_message(
        proto.update_worker(load=0.5, job_count=2, full=False, draining=True)
    ).update_worker
    assert (status.status, status.job_count, status.draining) == (agent.WS_FULL, 2, True)
    with pytest.raises(LocalProtocolError):
        proto.update_worker(load=1.5, job_count=0, full=False, draining=False)


def test_closed_accepts_nothing() -> None:
    proto = _registered()
    proto.close()
    with pytest.raises(RemoteProtocolError):
        proto.receive_data(_availability("AJ_9"))
    with pytest.raises(LocalProtocolError):
        proto.ping(1)


def test_transition_table_is_data() -> None:
    # Documentation draws this table; every state but CLOSED has an exit.
    sources = {state for state, _ in WORKER_CONNECTION_TRANSITIONS}
    assert sources == {
        WorkerProtocolState.IDLE,
        WorkerProtocolState.REGISTERING,
        WorkerProtocolState.REGISTERED,
    }


_server_messages = st.one_of(
    st.just(REGISTERED),
    st.sampled_from(["AJ_1", "AJ_2", ""]).map(_availability),
    st.sampled_from(["AJ_1", "AJ_2"]).map(_assignment),
    st.just(_assignment("AJ_1", token="")),
    st.just(_server(termination=agent.JobTermination(job_id="AJ_1"))),
    st.just(_server(pong=agent.WorkerPong())),
    st.binary(max_size=32),
)
_local_ops = st.sampled_from(["accept", "reject", "abandon", "running", "final", "status"])
_operations = st.lists(st.one_of(_server_messages, _local_ops), max_size=30)


@settings(max_examples=300, deadline=None)
@given(_operations)
def test_any_sequence_gives_events_or_protocol_errors(operations: list[bytes | str]) -> None:
    proto = WorkerProtocol()
    proto.register(WorkerRegistration())
    for op in operations:
        before = {j: proto.job_phase(j) for j in ("AJ_1", "AJ_2")}
        try:
            if isinstance(op, bytes):
                proto.receive_data(op)
            else:
                _apply_local(proto, op)
        except ProtocolError:
            # Nothing is lost: a refused operation leaves the jobs as they were.
            assert before == {j: proto.job_phase(j) for j in ("AJ_1", "AJ_2")}
        for job_id in proto.running_jobs():
            assert proto.job_phase(job_id) is WorkerJobPhase.RUNNING


def _apply_local(proto: WorkerProtocol, op: str) -> None:
    job_id = "AJ_1"
    if op == "accept":
        proto.accept(job_id, identity="a")
    elif op == "reject":
        proto.reject(job_id)
    elif op == "abandon":
        proto.abandon(job_id)
    elif op == "running":
        proto.update_job(job_id, agent.JS_RUNNING)
    elif op == "final":
        proto.update_job(job_id, agent.JS_SUCCESS)
    else:
        proto.update_worker(load=0.1, job_count=1, full=False, draining=False)
