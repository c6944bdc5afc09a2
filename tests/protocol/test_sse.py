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


def test_an_event_is_capped_not_only_its_lines() -> None:
    """``data:`` lines and never the blank line (the attack sent 300 MB of them):
    refused at the line that passes the event cap (4 MiB); nothing past it is held."""
    decoder = SSEDecoder()
    line = b"data: " + b"x" * (64 * 1024 - 7) + b"\n"  # 64 KiB, well under the line cap
    for _ in range(64):
        assert decoder.feed(line) == []
    with pytest.raises(RemoteProtocolError, match="event larger than 4194304 bytes"):
        decoder.feed(line)  # the 65th line would pass the cap


def test_the_event_cap_counts_one_event_at_a_time() -> None:
    decoder = SSEDecoder(max_event_bytes=40)
    body = b"data: " + b"a" * 10 + b"\ndata: " + b"b" * 10 + b"\n\n"  # 32 bytes an event
    assert len(decoder.feed(body * 5)) == 5
    with pytest.raises(RemoteProtocolError, match="event larger than 40 bytes"):
        decoder.feed(b"data: 12345\n" * 4)


@pytest.mark.parametrize(
    "body",
    [
        b"data: " + b"x" * 300 + b"\n\n",  # a long line that arrives whole
        b"a" * 300 + b"\n",  # an unknown field, ignored if it were short
    ],
)
def test_the_line_cap_does_not_depend_on_the_split(body: bytes) -> None:
    for split in ([body], [bytes([b]) for b in body]):
        with pytest.raises(RemoteProtocolError, match="line longer than 256 bytes"):
            _feed_all(SSEDecoder(max_line_bytes=256), split)


def _feed_all(decoder: SSEDecoder, chunks: list[bytes]) -> None:
    for chunk in chunks:
        decoder.feed(chunk)


def test_a_line_at_the_cap_with_its_cr_held_is_accepted() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    line = b"data: " + b"y" * 10  # exactly 16 bytes
    assert decoder.feed(line + b"\r") == []  # the \r waits for a possible \n
    assert decoder.feed(b"\n\r\n") == [ServerSentEvent("y" * 10)]


def test_bad_retry_is_ignored() -> None:
    assert decode([b"retry: 1x\ndata: a\n\n"]) == [ServerSentEvent("a")]
