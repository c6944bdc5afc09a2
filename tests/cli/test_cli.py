"""The ``trioagents`` command: parsing, options, logging, and a real ``dev`` run."""

from __future__ import annotations

import io
import json
import logging
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.cli import entries
from tests.worker.fake_agent_server import FakeAgentServer
from trioagents.cli import _main, main
from trioagents.cli._logging import JsonFormatter, ReadableFormatter
from trioagents.cli._run import worker_options


def test_delegates_run_lazily_or_say_they_are_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(_main.DELEGATES, "demo", ("tests.cli.entries", "fake_subcommand", "x"))
    assert main(["demo", "--fast", "a"]) == 7
    assert entries.calls[-1] == ["--fast", "a"]
    monkeypatch.setitem(_main.DELEGATES, "console", ("no_such_module_here", "main", "console"))
    assert main(["console"]) == _main.EXIT_UNAVAILABLE
    assert "console is not available" in capsys.readouterr().err


def test_start_refuses_to_guess_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["start", "tests.cli.entries:entrypoint"]) == 2
    assert "LIVEKIT_URL" in capsys.readouterr().err
    logging.getLogger().handlers.clear()


def test_a_bad_gc_interval_is_refused_before_the_worker_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["start", "tests.cli.entries:entrypoint", "--url", "ws://127.0.0.1:9"]
    args += ["--api-key", "k", "--api-secret", "s", "--gc-interval", "0"]
    assert main(args) == 2
    assert "GCPacing.full_interval must be positive" in capsys.readouterr().err
    logging.getLogger().handlers.clear()


def test_option_precedence_and_dev_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = _main.build_parser()
    monkeypatch.setenv("LIVEKIT_URL", "wss://example.invalid")
    monkeypatch.setenv("LIVEKIT_API_KEY", "envkey")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "envsecret")
    start = worker_options(parser.parse_args(["start", "m:f", "--api-key", "flag"]), dev=False)
    assert (start.url, start.api_key, start.api_secret) == (
        "wss://example.invalid",
        "flag",
        "envsecret",
    )
    assert (start.health_port, start.load_threshold, start.drain_timeout) == (8081, 0.7, 3600.0)
    assert start.health_host == "0.0.0.0"  # reachable by orchestrator probes
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name)
    dev = worker_options(parser.parse_args(["dev", "m:f", "--max-jobs", "3"]), dev=True)
    assert (dev.url, dev.api_key, dev.max_concurrent_jobs) == ("ws://127.0.0.1:7880", "devkey", 3)
    assert math.isinf(dev.load_threshold)
    assert (dev.health_port, dev.health_host) == (0, "127.0.0.1")


def test_secret_option_never_printed() -> None:
    options = worker_options(
        _main.build_parser().parse_args(["dev", "m:f", "--api-secret", "hunter2"]), dev=True
    )
    assert "hunter2" not in repr(options)


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "trioagents.worker", "levelname": "INFO",
                                    "levelno": 20, "msg": "job ended"})  # fmt: skip
    record.__dict__.update(extra)
    return record


def test_json_lines_keep_fields_and_redact_secrets() -> None:
    line = JsonFormatter().format(_record(job_id="AJ_1", token="eyJ.abc.def", api_key="k"))
    entry = json.loads(line)
    assert (entry["message"], entry["job_id"], entry["level"]) == ("job ended", "AJ_1", "INFO")
    assert entry["token"] == entry["api_key"] == "[redacted]"
    assert "eyJ" not in line


def test_readable_lines() -> None:
    line = ReadableFormatter().format(_record(job_id="AJ_1"))
    assert "INFO" in line
    assert "trioagents.worker: job ended" in line
    assert line.endswith("job_id=AJ_1")


@pytest.mark.slow
async def test_dev_command_registers_and_exits_cleanly_on_sigterm() -> None:
    server = FakeAgentServer()
    code = (
        "import sys; from trioagents.cli import main; "
        "sys.exit(main(['dev', 'tests.cli.entries:entrypoint', '--no-reload', "
        "'--url', sys.argv[1]]))"
    )
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
            process = await trio.lowlevel.open_process(
                [sys.executable, "-c", code, server.url], stderr=subprocess.PIPE, env=env
            )
            await server.wait_until(lambda: server.connections)
            assert server.current.register is not None
            process.send_signal(signal.SIGTERM)
            assert process.stderr is not None
            output = io.BytesIO()
            while chunk := await process.stderr.receive_some(4096):
                output.write(chunk)
            assert await process.wait() == 0
            nursery.cancel_scope.cancel()
    text = output.getvalue().decode()
    assert "worker registered" in text
    assert "worker_id=AW_1" in text
    assert "signal received; draining" in text
    assert "garbage collection paced" in text  # the process is the CLI's: --gc paced


@pytest.mark.slow
async def test_dev_command_against_the_dev_server_runs_a_job() -> None:
    from livekit.protocol import room as room_proto

    from tests.devserver._client import admin_token, twirp
    from trioagents.devserver import open_devserver

    code = (
        "import sys; from trioagents.cli import main; "
        "sys.exit(main(['dev', 'tests.cli.entries:entrypoint', '--no-reload', "
        "'--url', sys.argv[1]]))"
    )
    with trio.fail_after(30):
        async with open_devserver() as server:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
            process = await trio.lowlevel.open_process(
                [sys.executable, "-c", code, server.url], stderr=subprocess.DEVNULL, env=env
            )
            try:
                while server.statistics().workers == 0:  # noqa: ASYNC110 - another process
                    await trio.sleep(0.05)
                request = room_proto.CreateRoomRequest(name="cli-room")
                token = admin_token(server, room_create=True)
                response = await twirp(server, "RoomService/CreateRoom", request, token)
                assert response.status_code == 200
                while server.statistics().jobs == 0:  # noqa: ASYNC110
                    await trio.sleep(0.05)
                process.send_signal(signal.SIGTERM)
                assert await process.wait() == 0
                assert server.statistics().jobs == 0  # ended (reported, or dropped with the worker)
            finally:
                with trio.CancelScope(shield=True):
                    process.kill()
                    await process.wait()


def test_trace_subcommand_renders_a_decision_log(tmp_path: Path) -> None:
    from tests.observability.sample_session import write_sample_session

    log = tmp_path / "session.jsonl"
    with log.open("w") as sink:
        write_sample_session(sink)
    out = tmp_path / "timeline.html"
    assert main(["trace", str(log), "-o", str(out)]) == 0
    assert "Session ses_demo" in out.read_text()
