"""Our Room in a call with the official PyPI ``livekit`` client (Rust SDK).

The Rust client (human side) publishes 440 Hz and must hear our agent's 660 Hz; our
agent must hear 440 Hz, and the client must see the agent's ``lk.agent.state``
attribute and its ``lk.transcription`` lines with the identities livekit-server would
give them: the agent's own line as the agent's, the user's transcript as the user's.
Everything runs inside a network namespace made by the test (libwebrtc ignores
loopback), with the dev-server helper's harness (tests/interop/_harness.py).
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
