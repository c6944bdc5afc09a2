"""What the dev server's media relay costs: CPU of the server process while two
Rust SDK participants exchange Opus audio through it (decode once per published
track, re-encode once per subscriber, both directions).

Needs root (network namespace) and the interop venv (created on first run).
Run: python bench/devserver_relay.py [pairs]    (default 1 pair = 2 participants)
Prints one JSON line: server CPU seconds per wall second over the streaming window,
and the idle baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.interop._harness import interop_venv, net_namespace, start_devserver  # noqa: E402

CLIENT = REPO / "tests" / "interop" / "rust_sdk_client.py"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_pid(ns_name: str) -> int:
    pids = subprocess.run(["ip", "netns", "pids", ns_name], capture_output=True, text=True).stdout
    for pid in pids.split():
        if b"trioagents.devserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return int(pid)
    raise RuntimeError("dev server process not found")


def main(pairs: int) -> None:
    python = interop_venv(".venv-interop", ("livekit==1.2.1", "livekit-api==1.2.2", "numpy"))
    with net_namespace() as ns, start_devserver(ns) as url:
        pid = server_pid(ns.name)
        time.sleep(1.0)
        idle_start, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(3.0)
        idle = (cpu_seconds(pid) - idle_start) / (time.monotonic() - t0)
        bots = []
        for pair in range(pairs):
            a, b = f"a{pair}", f"b{pair}"
            for me, peer, hz in ((a, b, "440"), (b, a, "660")):
                argv = [str(python), str(CLIENT), url, "devkey", "secret", f"room{pair}"]
                bots.append(subprocess.Popen(
                    ns.exec_args(*argv, "--bot", me, peer, hz),
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                ))  # fmt: skip
        time.sleep(3.0)  # connect, publish, subscribe
        busy_start, t1 = cpu_seconds(pid), time.monotonic()
        time.sleep(4.0)  # all participants streaming both ways
        busy = (cpu_seconds(pid) - busy_start) / (time.monotonic() - t1)
        outputs = [bot.communicate(timeout=90)[0] for bot in bots]
    heard = [json.loads(o.strip().splitlines()[-1]).get("heard_hz") for o in outputs]
    print(
        json.dumps(
            {
                "participants": 2 * pairs,
                "relayed_tracks": 2 * pairs,
                "server_cpu_idle": round(idle, 4),
                "server_cpu_streaming": round(busy, 4),
                "per_relayed_track": round((busy - idle) / (2 * pairs), 4),
                "heard_hz": heard,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
