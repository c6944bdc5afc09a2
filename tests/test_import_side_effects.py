"""Importing the everyday API starts nothing and loads no media stack.

Run in a fresh interpreter so that other tests' imports do not hide a regression.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys, threading
before = set(threading.enumerate())
import trioagents, trioagents.voice, trioagents.core
HEAVY = ("aiortc", "av", "httpx", "livekit.protocol", "trioagents.rtc")
heavy = [m for m in HEAVY if m in sys.modules]
threads = [t.name for t in threading.enumerate() if t not in before]
import asyncio.events as events
loop = events._get_running_loop()
print(json.dumps({"heavy": heavy, "threads": threads, "loop": loop is not None}))
"""


def test_import_is_light_and_has_no_side_effects() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "threads": [], "loop": False}
