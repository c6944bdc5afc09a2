"""The official ``livekit-agents`` worker (PyPI 1.8.9) against the dev server.

The worker registers on ``/agent``; the official ``livekit-api`` client creates a
room over Twirp; the server offers the job, the worker accepts, and the job joins
the room with the token the server minted (as an AGENT participant) and sets an
attribute (which needs our RequestResponse). A user joins; the agent's
``wait_for_participant`` resolves (the user reached ACTIVE), the agent publishes a
550 Hz tone, its ``wait_for_subscription`` resolves (TrackSubscribed) and the user
hears 550 Hz. ListParticipants shows both.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ._harness import interop_venv, net_namespace, server_log, start_devserver

pytestmark = [pytest.mark.slow, pytest.mark.interop]

WORKER = Path(__file__).with_name("agents_worker.py")
PACKAGES = ("livekit-agents==1.8.9", "livekit-api==1.2.2")


def test_official_worker_registers_and_gets_a_job_when_a_room_is_created() -> None:
    python = interop_venv(".venv-interop-agents", PACKAGES)
    with net_namespace() as ns, start_devserver(ns) as url:
        run = subprocess.run(
            ns.exec_args(str(python), str(WORKER), url, "devkey", "secret", "agents-room"),
            capture_output=True,
            text=True,
            timeout=150,
        )
        log = server_log(ns)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"worker printed no result\n{run.stderr[-3000:]}\n--- server\n{log}"
    result = json.loads(lines[-1])
    assert "error" not in result, (result, run.stderr[-3000:], log)
    assert result["registered_worker_id"].startswith("AW_")
    assert result["created_room_sid"].startswith("RM_")
    assert result["job_id"].startswith("AJ_")
    assert result["job_room"] == result["connected_room"] == "agents-room"
    assert result["identity"] == f"agent-{result['job_id']}"
    assert result["kind"] == 4  # ParticipantKind AGENT, from the token the server minted
    assert result["attributes_ok"]
    assert result["participants"] == sorted([result["identity"], "user"])
    assert result["user_seen"] == "user"  # wait_for_participant: the user became ACTIVE
    assert result["agent_track_subscribed"]  # TrackSubscribed reached the agent
    assert abs(result["user_heard_hz"] - 550.0) < 5, result
