"""Fixtures: journal stores over SQLite (tmp_path) and a real redis-server.

The Redis server is installed with apt-get if missing, started on 127.0.0.1 on a free
port with persistence off (``--save ''``), and stopped after the session. Tests are
skipped, with the reason, only if it cannot be installed or started. Tests that stop
and restart a server get their own (:func:`make_redis_server`).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.system_packages import ensure_debian_binary
from trioagents.persistence import JournalStore, RedisJournalStore, SqliteJournalStore

StoreFactory = Callable[[], Awaitable[JournalStore]]


def _redis_server_binary() -> tuple[str | None, str]:
    try:
        return ensure_debian_binary("redis-server", "redis-server", timeout=600), ""
    except RuntimeError as exc:
        return None, str(exc)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server on a fixed port of 127.0.0.1 that a test can stop and start again.

    ``options`` are redis-server's own (persistence: ``--appendonly yes``, ``--save ''``).
    Blocking: call from a thread in async tests.
    """

    def __init__(self, binary: str, options: Sequence[str], *, directory: Path | None) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        self._command += ["--protected-mode", "yes", *options]
        if directory is not None:
            self._command += ["--dir", str(directory)]
        self._process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None

    def start(self) -> bool:
        """Start it and wait until it accepts connections; False if it exited instead."""
        process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:  # blocks until redis reports readiness (or exits)
            if "Ready to accept connections" in line:
                break
        else:
            process.wait(10)
            process.stdout.close()
            return False
        # Keep draining its log so the pipe never fills up.
        drain = threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True)
        self._drain = drain
        drain.start()
        self._process = process
        return True

    def stop(self, stop_signal: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM: a clean shutdown (Redis flushes what it persists); SIGKILL: a crash."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(stop_signal)
        process.wait(10)
        if self._drain is not None:
            self._drain.join(10)
        if process.stdout is not None:
            process.stdout.close()


def _redis_binary_or_skip() -> str:
    binary, reason = _redis_server_binary()
    if binary is None:
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:  # re-exported by tests/e2e/conftest.py: no fixture arguments
    binary = _redis_binary_or_skip()
    server = RedisServer(binary, ["--save", "", "--appendonly", "no"], directory=None)
    if not server.start():
        pytest.skip("redis-server exited during startup")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def make_redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """A factory of redis-servers of a test's own (data in ``tmp_path``), stopped after it."""
    redis_binary = _redis_binary_or_skip()
    servers: list[RedisServer] = []

    def make(*options: str) -> RedisServer:
        servers.append(RedisServer(redis_binary, options, directory=tmp_path))
        return servers[-1]

    try:
        yield make
    finally:
        for server in servers:
            server.stop(signal.SIGKILL)


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """A factory of stores that share one backend (one per simulated worker)."""
    opened: list[JournalStore] = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")

    async def make() -> JournalStore:
        store: JournalStore
        if request.param == "sqlite":
            store = await SqliteJournalStore.open(tmp_path / "journal.db")
        else:
            store = RedisJournalStore.from_url(url)
        opened.append(store)
        return store

    try:
        yield make
    finally:
        for store in opened:
            await store.aclose()
