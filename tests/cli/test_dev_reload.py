"""``trioagents dev``: reload on change, readable logs, an unreachable server explained."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.cli._interrupting import ROOT, RUN, _Output, child_env, interrupt_after
from trioagents.cli._logging import (
    IceCredentialFilter,
    ReadableFormatter,
    configure_logging,
    redact_ice_credentials,
)
from trioagents.cli._reload import entry_directory, snapshot
from trioagents.devserver import open_devserver

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\na=ice-ufrag:Xy12\r\n"
    "a=ice-pwd:s3cretPassw0rd+/abc\r\na=fingerprint:sha-256 AB:CD\r\n"
)
AGENT = """
from trioagents.worker import JobContext

VERSION = {version}


async def entrypoint(ctx: JobContext) -> None:
    await ctx.wait_for_shutdown()
"""


def test_sdp_ice_credentials_are_redacted_at_debug() -> None:
    assert "s3cret" not in redact_ice_credentials(SDP)
    assert "Xy12" not in redact_ice_credentials(SDP)
    assert "a=fingerprint:sha-256 AB:CD" in redact_ice_credentials(SDP)
    record = logging.makeLogRecord(
        {"name": "aiortc.rtcpeerconnection", "levelno": 10, "levelname": "DEBUG",
         "msg": "local description %s", "args": (SDP,)}
    )  # fmt: skip
    assert IceCredentialFilter().filter(record)
    line = ReadableFormatter().format(record)
    assert "a=ice-pwd:[redacted]" in line
    assert "a=ice-ufrag:[redacted]" in line
    assert "s3cret" not in line


def test_media_libraries_stay_at_warning_unless_debug_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        configure_logging("DEBUG", json_lines=False)
        logging.getLogger("aioice.ice").debug("candidate pair")
        logging.getLogger("aiortc.rtcdtlstransport").info("dtls state")
        logging.getLogger("trioagents.worker").debug("ours")
        err = capsys.readouterr().err
        assert "candidate pair" not in err
        assert "dtls state" not in err
        assert "ours" in err
        configure_logging("DEBUG", json_lines=False, library_debug=True)
        logging.getLogger("aiortc.rtcpeerconnection").debug("sdp %s", SDP)
        err = capsys.readouterr().err
        assert "a=ice-pwd:[redacted]" in err
        assert "s3cret" not in err
    finally:
        logging.getLogger().handlers.clear()
        for name in ("aiortc", "aioice", "trio-websocket"):
            logging.getLogger(name).setLevel(logging.NOTSET)


def test_entry_directory_and_snapshot(tmp_path: Path) -> None:
    assert entry_directory("tests.cli.entries:entrypoint") == ROOT / "tests" / "cli"
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert list(snapshot(tmp_path)) == [tmp_path / "a.py"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
async def test_unreachable_server_names_the_url_and_the_devserver() -> None:
    url = f"ws://127.0.0.1:{_closed_port()}"
    result = await interrupt_after(["dev", "tests.cli.entries:entrypoint", "--url", url,
                                    "--no-reload"], "cannot reach")  # fmt: skip
    assert result.returncode in (0, 130), result.stderr
    line = next(x for x in result.stderr.splitlines() if "cannot reach" in x)
    assert url in line
    assert "trioagents devserver" in line
    assert "Traceback" not in result.stderr


@pytest.mark.slow
async def test_dev_restarts_the_worker_when_the_entrypoint_changes(tmp_path: Path) -> None:
    module = tmp_path / "reload_agent.py"
    module.write_text(AGENT.format(version=1))
    output = _Output()
    async with open_devserver() as server:
        args = ["dev", "reload_agent:entrypoint", "--url", server.url, "--log-level", "INFO"]
        env = child_env()
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
        with trio.fail_after(60):
            process = await trio.lowlevel.open_process(
                [sys.executable, "-c", RUN, *args], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env,
            )  # fmt: skip
            try:
                async with trio.open_nursery() as nursery:
                    assert process.stdout is not None
                    assert process.stderr is not None
                    nursery.start_soon(output.drain, process.stdout, output.stdout)
                    nursery.start_soon(output.drain, process.stderr, output.stderr)
                    await output.wait_for("worker registered")
                    first = output.stderr.count(b"worker registered")
                    module.write_text(AGENT.format(version=2))
                    await output.wait_for("change detected; restarting the worker")
                    while output.stderr.count(b"worker registered") <= first:
                        await output.changed()
                    assert server.statistics().workers == 1  # the old one left
                    process.send_signal(signal.SIGINT)
                    assert await process.wait() == 0
            finally:
                with trio.CancelScope(shield=True):
                    if process.returncode is None:
                        process.kill()
                    await process.wait()
    err = output.stderr.decode()
    assert "watching for changes" in err
    assert "signal received; draining" in err  # the child drained on the restart and at the end
    assert "Traceback" not in err
