"""``livekit-client`` (npm) in headless Chromium against the dev server.

The browser (Debian's chromium driven by playwright-core) joins with a token in the
query string, falls back from ``/rtc/v1`` via the 404 on ``/rtc/v1/validate``,
publishes its fake microphone (a 660 Hz WAV) and listens to a Rust SDK participant
publishing 440 Hz. Both sides check the frequency they hear. All of it runs inside
a network namespace the test creates; installs are cached under ``.cache/interop``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.system_packages import APT_WAIT

from ._harness import REPO, interop_venv, net_namespace, server_log, start_devserver

pytestmark = [pytest.mark.slow, pytest.mark.interop]

HERE = Path(__file__).parent
NODE_DIR = REPO / ".cache" / "interop" / "node"
NODE_PACKAGES = ("livekit-client@2.23.0", "playwright-core@1.65.1")
PY_PACKAGES = ("livekit==1.2.1", "livekit-api==1.2.2", "numpy")
CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    subprocess.run(["apt-get", *APT_WAIT, "update", "-q"], check=True, timeout=300)
    subprocess.run(
        ["apt-get", *APT_WAIT, "install", "-y", "-q", "--no-install-recommends", "chromium"],
        check=True,
        timeout=600,
    )


def ensure_node_packages() -> Path:
    if shutil.which("npm") is None:
        subprocess.run(["apt-get", *APT_WAIT, "update", "-q"], check=True, timeout=300)
        subprocess.run(
            ["apt-get", *APT_WAIT, "install", "-y", "-q", "npm"], check=True, timeout=600
        )
    stamp = NODE_DIR / ".trioagents-packages"
    if not (stamp.exists() and stamp.read_text() == "\n".join(NODE_PACKAGES)):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", *NODE_PACKAGES],
            cwd=NODE_DIR,
            check=True,
            timeout=600,
        )
        stamp.write_text("\n".join(NODE_PACKAGES))
    return NODE_DIR / "node_modules"


def write_tone(path: Path, hz: float, seconds: float = 5.0) -> None:
    rate = 48000
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.5 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def browser_token(identity: str, room: str) -> str:
    from trioagents.protocol import VideoGrants, mint_token

    return mint_token(
        "devkey", "secret", identity=identity, video=VideoGrants(room_join=True, room=room)
    )


def test_browser_publishes_and_hears_a_rust_sdk_participant() -> None:
    ensure_chromium()
    modules = ensure_node_packages()
    python = interop_venv(".venv-interop", PY_PACKAGES)
    with tempfile.TemporaryDirectory(prefix="ta-browser-") as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        shutil.copy(HERE / "browser" / "page.html", site / "page.html")
        shutil.copy(modules / "livekit-client" / "dist" / "livekit-client.umd.js", site)
        driver = NODE_DIR / "drive.mjs"  # ESM resolves packages next to the script
        shutil.copy(HERE / "browser" / "drive.mjs", driver)
        wav = Path(tmp) / "tone660.wav"
        write_tone(wav, 660.0)
        with net_namespace() as ns, start_devserver(ns) as url:
            static = subprocess.Popen(
                ns.exec_args(
                    shutil.which("python3") or "python3",
                    "-m",
                    "http.server",
                    "--bind",
                    "127.0.0.1",
                    "8000",
                    "--directory",
                    str(site),
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            bot = subprocess.Popen(
                ns.exec_args(
                    str(python),
                    str(HERE / "rust_sdk_client.py"),
                    url,
                    "devkey",
                    "secret",
                    "web",
                    "--bot",
                    "bot",
                    "browser",
                    "440",
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                browser = subprocess.run(
                    ns.exec_args(
                        "node",
                        str(driver),
                        "http://127.0.0.1:8000/page.html",
                        url,
                        browser_token("browser", "web"),
                        "bot",
                        str(wav),
                        str(Path(tmp) / "profile"),
                    ),
                    capture_output=True,
                    text=True,
                    timeout=120,
                    env={"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin"},
                    cwd=NODE_DIR,
                )
                bot_out, bot_err = bot.communicate(timeout=90)
            finally:
                for process in (static, bot):
                    if process.poll() is None:
                        process.terminate()
                        process.wait(timeout=10)
            log = server_log(ns)
    lines = [line for line in browser.stdout.splitlines() if line.startswith("{")]
    assert lines, f"browser printed nothing\n{browser.stderr[-3000:]}\n--- server\n{log}"
    seen = json.loads(lines[-1])
    assert "error" not in seen, json.dumps(seen, indent=1) + "\n" + log[-1500:] + bot_err[-1500:]
    assert seen["connected"]
    assert seen["published"]
    assert seen["packetsReceived"] > 50, seen
    assert seen["totalAudioEnergy"] > 0, seen
    assert abs(seen["heardHz"] - 440.0) < 10, seen
    heard = json.loads([line for line in bot_out.splitlines() if line.startswith("{")][-1])
    assert "error" not in heard, (heard, bot_err[-2000:])
    assert abs(heard["heard_hz"] - 660.0) < 5, heard
