"""Shared harness for interop tests against official clients.

* :func:`interop_venv` creates (once, cached under the repo in a git-ignored
  ``.venv-interop*`` directory) a virtualenv with the official packages, so the
  clients run in subprocesses with their own dependencies and asyncio.
* :class:`NetNamespace` creates a network namespace with ``lo`` up and one
  non-loopback interface holding a private address (libwebrtc ignores loopback
  adapters, so the Rust SDK and Chromium need one). Nothing in it is routed to the
  outside; it is deleted at the end.
* :func:`start_devserver` runs ``python -m trioagents.devserver`` inside the namespace
  and waits until it listens.

Everything is bounded by timeouts; processes started here are ended by pid.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NS_ADDRESS = "10.99.0.1"


def require_root_and_ip() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("interop tests need root and iproute2 to create a network namespace")


def interop_venv(name: str, packages: Sequence[str]) -> Path:
    """Return the python of ``REPO/name`` with ``packages`` installed (cached)."""
    root = REPO / name
    python = root / "bin" / "python"
    stamp = root / ".trioagents-packages"
    wanted = "\n".join(packages)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
        check=True,
        timeout=600,
    )
    stamp.write_text(wanted)
    return python


class NetNamespace:
    """A throwaway network namespace; use through :func:`net_namespace`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def exec_args(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def ip(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["ip", "-n", self.name, *argv], check=check, capture_output=True, timeout=10
        )


@contextmanager
def net_namespace(address: str = NS_ADDRESS) -> Iterator[NetNamespace]:
    """A namespace with ``lo`` up and ``address``/24 on a non-loopback interface.

    A ``dummy`` interface is used when the kernel has it, else a veth pair whose two
    ends both stay inside the namespace.
    """
    require_root_and_ip()
    ns = NetNamespace(f"ta-dsv-{secrets.token_hex(4)}")
    subprocess.run(["ip", "netns", "add", ns.name], check=True, timeout=10)
    try:
        ns.ip("link", "set", "lo", "up")
        if ns.ip("link", "add", "ta0", "type", "dummy", check=False).returncode == 0:
            device = "ta0"
        else:
            ns.ip("link", "add", "ta0", "type", "veth", "peer", "name", "ta1")
            ns.ip("link", "set", "ta1", "up")
            device = "ta0"
        ns.ip("addr", "add", f"{address}/24", "dev", device)
        ns.ip("link", "set", device, "up")
        yield ns
    finally:
        for pid in subprocess.run(
            ["ip", "netns", "pids", ns.name], capture_output=True, text=True, timeout=10
        ).stdout.split():
            _kill(int(pid))
        subprocess.run(["ip", "netns", "del", ns.name], check=False, timeout=10)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        pass


@contextmanager
def start_devserver(
    ns: NetNamespace, *, port: int = 7880, ice_address: str = NS_ADDRESS, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Run the dev server in ``ns``; yield its ws:// URL; stop it at the end."""
    log = REPO / ".cache" / "interop" / f"devserver-{ns.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = ns.exec_args(
        sys.executable, "-m", "trioagents.devserver",
        "--host", host, "--port", str(port), "--ice-address", ice_address,
    )  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while b"trioagents devserver:" not in log.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dev server did not start:\n" + log.read_text()[-2000:])
                time.sleep(0.1)
            yield f"ws://{host}:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def server_log(ns: NetNamespace) -> str:
    path = REPO / ".cache" / "interop" / f"devserver-{ns.name}.log"
    return path.read_text()[-4000:] if path.exists() else ""
