"""The fuzz harness runs (briefly), and garbage on a live server never hurts it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import trio
import trio_websocket

from trioagents.devserver import open_devserver

from ._client import drain_until_closed, http_get, join_token, open_agent, open_rtc, recv_signal

HARNESS = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_devserver.py"


def test_fuzz_harness_runs_clean() -> None:
    spec = importlib.util.spec_from_file_location("fuzz_devserver", HARNESS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_devserver"] = module
    spec.loader.exec_module(module)
    for target in module.targets(60):
        target()


@pytest.mark.slow
async def test_garbage_bytes_get_a_400_or_a_close_and_the_server_keeps_serving() -> None:
    payloads = [
        b"\x00\xff" * 50,
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /twirp HTTP/1.1\r\ncontent-length: 99999999\r\n\r\n",
        b"\r\n\r\n",
    ]
    with trio.fail_after(15):
        async with open_devserver() as server:
            for payload in payloads:
                stream = await trio.open_tcp_stream("127.0.0.1", server.port)
                async with stream:
                    await stream.send_all(payload)
                    reply = b""
                    while chunk := await stream.receive_some(4096):
                        reply += chunk
                assert reply == b"" or reply.startswith(b"HTTP/1.1 "), payload
            for frame in (b"\x12\x00\xff", b"\x0a" * 10):
                async with open_agent(server) as ws:
                    await ws.send_message(frame)
                    with pytest.raises(trio_websocket.ConnectionClosed) as info:
                        await drain_until_closed(ws)
                    assert info.value.reason.code == 1002
            assert (await http_get(server, "/")).status_code == 200
            async with open_rtc(server, join_token(server, "after")) as ws:
                assert (await recv_signal(ws)).WhichOneof("message") == "join"
