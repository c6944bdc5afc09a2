"""Fixtures: journal stores over SQLite (tmp_path) and a real redis-server.

The Redis server is installed with apt-get if missing, started on 127.0.0.1 on a free
port with persistence off (``--save ''``), and stopped after the session. Tests are
skipped, with the reason, only if it cannot be installed or started.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary, reason = _redis_server_binary()
    if binary is None:
        pytest.skip(reason)
    port = _free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--protected-mode", "yes"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:  # blocks until redis reports readiness (or exits)
        if "Ready to accept connections" in line:
            break
    else:
        process.wait(10)
        process.stdout.close()
        pytest.skip(f"redis-server exited during startup (status {process.returncode})")
    # Keep draining its log so the pipe never fills up.
    drain = threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True)
    drain.start()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        drain.join(10)
        process.stdout.close()


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
