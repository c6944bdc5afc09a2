"""SSE decoding: the WHATWG rules, any byte split, and refusal of garbage."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import RemoteProtocolError
from trioagents.protocol import ServerSentEvent, SSEDecoder

BODY = (
    b": keep-alive comment\r\n"
    b"event: delta\r\n"
    b"id: 7\r\n"
    b"retry: 1500\r\n"
    b"data: first line\r\n"
    b"data:second line\r\n"
    b"\r\n"
    b'data: {"x": 1}\n\n'
    b"unknown: ignored\r"
    b"data\r"
    b"\r"
    b"data: tail without blank line"
)
EXPECTED = [
    ServerSentEvent("first line\nsecond line", "delta", "7", 1500),
    ServerSentEvent('{"x": 1}', "message", "7", 1500),
    ServerSentEvent("", "message", "7", 1500),
]


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.end_of_stream())
    return events


def test_whole_body() -> None:
    assert decode([BODY]) == EXPECTED


def test_one_byte_at_a_time() -> None:
    assert decode([BODY[i : i + 1] for i in range(len(BODY))]) == EXPECTED


@given(st.lists(st.integers(0, len(BODY)), max_size=20))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(BODY)]
    assert decode([BODY[a:b] for a, b in itertools.pairwise(points)]) == EXPECTED


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=10))
def test_arbitrary_bytes_split_invariance(body: bytes, cuts: list[int]) -> None:
    def outcome(chunks: list[bytes]) -> object:
        try:
            return decode(chunks)
        except RemoteProtocolError:
            return "error"

    points = [0, *sorted(c for c in cuts if c <= len(body)), len(body)]
    split = [body[a:b] for a, b in itertools.pairwise(points)]
    assert outcome(split) == outcome([body])


def test_cr_lf_split_across_feeds_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("a")]


def test_pending_reveals_truncation() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: half")
    assert decoder.pending
    assert decoder.end_of_stream() == []  # the spec discards an unfinished event


@pytest.mark.parametrize(
    "garbage",
    [b"data: \xff\xfe\n\n", b"data: a\x00b\n\n"],
)
def test_garbage_is_a_remote_protocol_error(garbage: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        SSEDecoder().feed(garbage)
    assert info.value.payload is not None


def test_overlong_line_is_refused() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"data: " + b"x" * 32)


def test_bad_retry_is_ignored() -> None:
    assert decode([b"retry: 1x\ndata: a\n\n"]) == [ServerSentEvent("a")]
