"""Fuzz the dev server's decoders: signal requests, worker messages, Twirp bodies,
HTTP request heads and trickled ICE candidates.

Invariant: every input parses, or raises our ProtocolError; never anything else.
(The server turns a ProtocolError into a 400 / websocket close 1002; the test suite
checks that end to end in tests/devserver/test_fuzz_devserver.py.)

Run: python fuzz/fuzz_devserver.py [examples]   (default 2000 per target)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's trioagents

import contextlib

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import ProtocolError
from trioagents.devserver._http import read_request
from trioagents.devserver._media import parse_candidate_init
from trioagents.protocol import (
    decode_signal_request,
    decode_worker_message,
    decode_worker_registration,
)
from trioagents.protocol._twirp import TWIRP_METHODS, decode_twirp_request

TWIRP_PATHS = [f"/twirp/{name}" for name in TWIRP_METHODS] + ["/twirp/x", "/"]
CONTENT_TYPES = ["application/json", "application/protobuf", "text/plain", ""]
HTTP_SEEDS = [
    b"GET /rtc?access_token=x HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\n\r\n",
    b"POST /twirp/livekit.RoomService/CreateRoom HTTP/1.1\r\nhost: a\r\n"
    b"content-length: 2\r\n\r\n{}",
    b"content-length: 2\r\n\r\n{}",
]


def check(fn: object, *args: object) -> None:
    with contextlib.suppress(ProtocolError):
        fn(*args)  # type: ignore[operator]


def check_http(data: bytes) -> None:
    async def run() -> None:
        client, server = trio.testing.memory_stream_pair()
        await client.send_all(data)
        await client.aclose()
        with contextlib.suppress(ProtocolError):
            await read_request(server)

    trio.run(run)


def targets(examples: int) -> list[object]:
    cfg = settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))

    @cfg
    @given(st.binary(max_size=2048))
    def signal(data: bytes) -> None:
        check(decode_signal_request, data)
        check(decode_worker_message, data)
        check(decode_worker_registration, data)

    @cfg
    @given(
        st.sampled_from(TWIRP_PATHS),
        st.sampled_from(CONTENT_TYPES),
        st.binary(max_size=1024) | st.text(max_size=256).map(str.encode),
    )
    def twirp(path: str, content_type: str, body: bytes) -> None:
        check(decode_twirp_request, path, content_type, body)

    @cfg
    @given(st.sampled_from(HTTP_SEEDS), st.binary(max_size=256), st.integers(0, 200))
    def http(seed: bytes, noise: bytes, cut: int) -> None:
        check_http(seed[:cut] + noise)
        check_http(noise)

    @cfg
    @given(
        st.text(max_size=300)
        | st.sampled_from(
            [
                '{"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host", "sdpMid": "0"}',
                "{}",
                "[]",
                '{"candidate": 5}',
            ]
        )
    )
    def candidate(text: str) -> None:
        check(parse_candidate_init, text)

    return [signal, twirp, http, candidate]


def main(argv: list[str]) -> int:
    examples = int(argv[1]) if len(argv) > 1 else 2000
    for target in targets(examples):
        target()  # type: ignore[operator]
        print(f"{target.__name__}: ok ({examples} examples)")  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
