"""The official PyPI ``livekit`` client (Rust SDK) against the dev server.

Two participants in one room each publish a microphone track carrying a tone
(440 Hz and 660 Hz) and subscribe to the other; each must hear the other's
frequency. This also exercises the ``/rtc/v1`` → 404 → ``/rtc`` fallback of the 1.2.x
SDK, Bearer-header tokens, the subscriber offer, trickle, TrackPublished and
RequestResponse for attribute updates (``set_attributes`` waits for it).

Runs in a network namespace the test creates (libwebrtc ignores loopback).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ._harness import interop_venv, net_namespace, server_log, start_devserver

pytestmark = [pytest.mark.slow, pytest.mark.interop]

CLIENT = Path(__file__).with_name("rust_sdk_client.py")
PACKAGES = ("livekit==1.2.1", "livekit-api==1.2.2", "numpy")


def test_rust_sdk_publishes_and_hears_the_other_participant() -> None:
    python = interop_venv(".venv-interop", PACKAGES)
    with net_namespace() as ns, start_devserver(ns) as url:
        run = subprocess.run(
            ns.exec_args(str(python), str(CLIENT), url, "devkey", "secret", "tones"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = server_log(ns)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"client printed no result\n{run.stderr[-3000:]}\n--- server\n{log}"
    result = json.loads(lines[-1])
    assert "error" not in result, (result, run.stderr[-3000:], log)
    for me, other_hz in (("alice", 660.0), ("bob", 440.0)):
        mine = result[me]
        assert mine["connected"] and mine["published"].startswith("TR_")
        assert mine["attributes_ok"]
        assert abs(mine["heard_hz"] - other_hz) < 5, result
        assert mine["rms"] > 3000, result
