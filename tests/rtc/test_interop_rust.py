"""Our Room in a call with the official PyPI ``livekit`` client (Rust SDK).

The Rust client (human side) publishes 440 Hz and must hear our agent's 660 Hz; our
agent must hear 440 Hz, and the client must see the agent's ``lk.agent.state``
attribute and its ``lk.transcription`` lines with the identities livekit-server would
give them: the agent's own line as the agent's, the user's transcript as the user's.
Everything runs inside a network namespace made by the test (libwebrtc ignores
loopback), with the dev-server helper's harness (tests/interop/_harness.py). A second
test cuts our agent's signal socket mid-utterance and checks the call goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop._harness import interop_venv, net_namespace, server_log, start_devserver

pytestmark = [pytest.mark.slow, pytest.mark.interop]

HERE = Path(__file__).parent
# what interop_resume_agent.py says
REPLY = "Your table for four is booked for eight tonight and we will keep it till half past"
PACKAGES = ("livekit==1.2.1", "livekit-api==1.2.2", "numpy")


def last_json(output: str) -> dict[str, object]:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": "no JSON line"}


def test_rust_sdk_user_and_our_agent_hear_each_other() -> None:
    python = interop_venv(".venv-interop", PACKAGES)
    with net_namespace() as ns, start_devserver(ns) as url:
        args = (url, "devkey", "secret", "call")
        agent = subprocess.Popen(
            ns.exec_args(sys.executable, str(HERE / "interop_agent.py"), *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            user = subprocess.run(
                ns.exec_args(str(python), str(HERE / "interop_rust_user.py"), *args),
                capture_output=True,
                text=True,
                timeout=90,
            )
            agent_out, agent_err = agent.communicate(timeout=60)
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait(timeout=10)
        log = server_log(ns)
    ours, theirs = last_json(agent_out), last_json(user.stdout)
    # pytest.fail, not assert: an assertion message is cut short, and the logs are the point
    context = "\n\n".join(
        [json.dumps(ours), json.dumps(theirs), agent_err[-4000:], user.stderr[-4000:], log]
    )
    if "error" in ours or "error" in theirs:
        pytest.fail(f"a side failed:\n{context}")
    heard = (float(theirs["heard_hz"]), float(ours["heard_hz"]), float(ours["rms"]))  # type: ignore[arg-type]
    if abs(heard[0] - 660.0) >= 5 or abs(heard[1] - 440.0) >= 5 or heard[2] <= 3000:
        pytest.fail(f"wrong audio (their Hz, our Hz, our RMS) = {heard}:\n{context}")
    assert theirs["agent_state"] == "speaking", context
    seen = {line["text"]: line["identity"] for line in theirs["transcripts"]}  # type: ignore[attr-defined]
    assert seen == {"what the user said": "user", "what the agent said": "agent"}, context


def test_a_signal_drop_mid_utterance_is_resumed_and_the_reply_plays_on() -> None:
    """LiveKit's resume with the Rust SDK on the other side: our agent's signal socket
    is cut 1.5 s into a 5.1 s reply. The room resumes on the same participant (one
    join, one resume), the SDK never sees the agent leave, hears the reply to its end
    without a gap, and gets its transcript; the history holds the whole reply, not
    interrupted."""
    python = interop_venv(".venv-interop", PACKAGES)
    with net_namespace() as ns, start_devserver(ns) as url:
        args = (url, "devkey", "secret", "resume")
        agent = subprocess.Popen(
            ns.exec_args(sys.executable, str(HERE / "interop_resume_agent.py"), *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            user = subprocess.run(
                ns.exec_args(str(python), str(HERE / "interop_resume_user.py"), *args),
                capture_output=True,
                text=True,
                timeout=90,
            )
            agent_out, agent_err = agent.communicate(timeout=60)
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait(timeout=10)
        log = server_log(ns)
    ours, theirs = last_json(agent_out), last_json(user.stdout)
    context = "\n\n".join(
        [json.dumps(ours), json.dumps(theirs), agent_err[-4000:], user.stderr[-4000:], log]
    )
    if "error" in ours or "error" in theirs:
        pytest.fail(f"a side failed:\n{context}")
    print(json.dumps(ours), json.dumps(theirs))  # shown with -s, or when it fails
    if (ours["joins"], ours["resumes"], ours["proxy_connections"]) != (1, 1, 2):
        pytest.fail(f"not one join and one resume:\n{context}")
    assert ours["severed_at_state"] == "speaking", context
    reply = {"role": "assistant", "content": REPLY, "interrupted": False}
    assert ours["history"] == [reply], context
    assert theirs["left"] == [], context  # the SDK never saw the agent go
    # the tone lasts len(REPLY) / 16 s; Opus and the jitter buffer may trim the edges
    assert float(theirs["loud_seconds"]) > len(REPLY) / 16.0 - 0.4, context  # type: ignore[arg-type]
    assert float(theirs["longest_gap_ms"]) < 200, context  # type: ignore[arg-type]
    finals = [line for line in theirs["transcripts"] if line["final"]]  # type: ignore[attr-defined]
    assert finals == [{"text": REPLY, "identity": "agent", "final": True}], context
