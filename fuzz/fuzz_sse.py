"""Fuzz the SSE decoder: it parses, or raises RemoteProtocolError; never anything else.

Run: ``python fuzz/fuzz_sse.py [EXAMPLES]`` (default 20000). Inputs mix random
bytes, mutated event-stream fragments and runs of ``data:`` lines around the
decoder's (small) line and event caps, fed in random splits; the split must not
change the outcome, and no event larger than the cap comes out.
``tests/protocol/test_sse_fuzz.py`` runs a quick pass.
"""

from __future__ import annotations

import itertools
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import RemoteProtocolError
from trioagents.protocol import SSEDecoder

FRAGMENTS = [
    b"data:",
    b"data: ",
    b"event: x",
    b"id: 1",
    b"retry: 10",
    b":c",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"[DONE]",
    b"{",
    b"}",
    b" ",
]
MAX_LINE, MAX_EVENT = 256, 300
data_lines = st.lists(
    st.tuples(st.integers(0, 280), st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"])).map(
        lambda t: b"data: " + b"d" * t[0] + t[1]
    ),
    max_size=12,
).map(b"".join)
payloads = st.one_of(
    st.binary(max_size=512),
    data_lines,
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=8)), max_size=60).map(
        b"".join
    ),
)


def outcome(chunks: list[bytes]) -> object:
    decoder = SSEDecoder(max_line_bytes=MAX_LINE, max_event_bytes=MAX_EVENT)
    try:
        events = [e for chunk in chunks for e in decoder.feed(chunk)]
        events.extend(decoder.end_of_stream())
    except RemoteProtocolError:
        return "protocol-error"
    assert all(len(e.data.encode()) <= MAX_EVENT for e in events), "an event passed the cap"
    return events


def check(data: bytes, cuts: list[int]) -> None:
    """The invariant (any other exception propagates and fails the run)."""
    points = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    split = [data[a:b] for a, b in itertools.pairwise(points)]
    whole = outcome([data])
    assert outcome(split) == whole, "split changed the outcome"
    if whole != "protocol-error":
        assert outcome([bytes([b]) for b in data]) == whole


def run(examples: int) -> None:
    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(payloads, st.lists(st.integers(0, 1 << 16), max_size=12))
    def fuzz(data: bytes, cuts: list[int]) -> None:
        check(data, cuts)

    fuzz()


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
    print("ok")
