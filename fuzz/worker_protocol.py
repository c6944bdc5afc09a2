"""Fuzz harness for the worker-side parsers: the ``/agent`` client core and the
job-process IPC framing.

Invariant: arbitrary bytes either parse, or raise our ``ProtocolError``; never
anything else, never a hang. Run directly for a longer campaign::

    PYTHONPATH=. python fuzz/worker_protocol.py 20000

``tests/protocol/test_worker_fuzz.py`` runs a short campaign in the suite.
"""

from __future__ import annotations

import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit.protocol import agent

from trioagents.core import ProtocolError
from trioagents.protocol import IpcFrameDecoder, WorkerProtocol, WorkerRegistration

_VALID = [
    agent.ServerMessage(register=agent.RegisterWorkerResponse(worker_id="AW_1")),
    agent.ServerMessage(availability=agent.AvailabilityRequest(job=agent.Job(id="AJ_1"))),
    agent.ServerMessage(assignment=agent.JobAssignment(job=agent.Job(id="AJ_1"), token="t")),
    agent.ServerMessage(termination=agent.JobTermination(job_id="AJ_1")),
]
_SEEDS = [m.SerializeToString() for m in _VALID]


def _mutated() -> st.SearchStrategy[bytes]:
    def flip(seed: bytes, index: int, value: int) -> bytes:
        if not seed:
            return bytes([value])
        i = index % len(seed)
        return seed[:i] + bytes([value]) + seed[i + 1 :]

    return st.builds(flip, st.sampled_from(_SEEDS), st.integers(0, 64), st.integers(0, 255))


server_frames = st.lists(st.one_of(st.sampled_from(_SEEDS), _mutated(), st.binary(max_size=64)),
                         max_size=12)  # fmt: skip


def check_agent_stream(frames: list[bytes]) -> None:
    protocol = WorkerProtocol()
    protocol.register(WorkerRegistration())
    for frame in frames:
        try:
            protocol.receive_data(frame)
        except ProtocolError:
            continue


def check_ipc_stream(data: bytes, chunk: int) -> None:
    decoder = IpcFrameDecoder()
    try:
        for start in range(0, len(data), chunk):
            for message in decoder.feed(data[start : start + chunk]):
                assert isinstance(message["type"], str)
    except ProtocolError:
        return


ipc_bytes = st.one_of(
    st.binary(max_size=128),
    st.builds(lambda body: len(body).to_bytes(4, "big") + body, st.binary(max_size=64)),
    st.builds(
        lambda text: len(text.encode()).to_bytes(4, "big") + text.encode(),
        st.sampled_from(['{"type":"pong","seq":1}', "[]", '{"type":1}', "{", '"x"', "{}"]),
    ),
)


def run(examples: int) -> None:
    config = settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
    config(given(server_frames)(check_agent_stream))()
    config(given(st.lists(ipc_bytes, max_size=6).map(b"".join), st.integers(1, 9))(
        check_ipc_stream))()  # fmt: skip


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
    print("ok")
