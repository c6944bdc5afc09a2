"""A short run of fuzz/worker_protocol.py, plus IPC framing behaviour."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from trioagents.core import LocalProtocolError, RemoteProtocolError
from trioagents.protocol import MAX_IPC_FRAME, IpcFrameDecoder, encode_ipc_message

HARNESS = Path(__file__).resolve().parents[2] / "fuzz" / "worker_protocol.py"


def test_fuzz_harness_short_campaign() -> None:
    spec = importlib.util.spec_from_file_location("fuzz_worker_protocol", HARNESS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.run(200)


def test_ipc_round_trip_whole_and_byte_by_byte() -> None:
    messages = [{"type": "ping", "seq": 1}, {"type": "job_finished", "status": 2, "error": ""}]
    data = b"".join(encode_ipc_message(m) for m in messages)
    assert IpcFrameDecoder().feed(data) == messages
    decoder = IpcFrameDecoder()
    got = []
    for i in range(len(data)):
        got += decoder.feed(data[i : i + 1])
    assert got == messages
    assert decoder.pending == 0


def test_ipc_rejects_garbage_and_stays_failed() -> None:
    decoder = IpcFrameDecoder()
    with pytest.raises(RemoteProtocolError, match="not JSON") as info:
        decoder.feed(b"\x00\x00\x00\x02{x")
    assert info.value.payload == b"{x"
    with pytest.raises(RemoteProtocolError, match="already failed"):
        decoder.feed(encode_ipc_message({"type": "ping"}))
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        IpcFrameDecoder().feed((MAX_IPC_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(RemoteProtocolError, match="'type'"):
        IpcFrameDecoder().feed(b"\x00\x00\x00\x02[]")


def test_ipc_encode_checks_type() -> None:
    with pytest.raises(LocalProtocolError):
        encode_ipc_message({"seq": 1})
