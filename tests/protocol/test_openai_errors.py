"""Error bodies, content-filter classification, Retry-After, audio wire formats."""

from __future__ import annotations

import io
import itertools
import wave

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import AudioFrame, ConfigurationError, RemoteProtocolError
from trioagents.protocol import (
    PCMFramer,
    TranscriptionBody,
    encode_wav,
    is_content_filter,
    parse_error_body,
    retry_after_seconds,
    transcription_text,
)

AZURE = {
    "error": {
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation"},
    }
}


@pytest.mark.parametrize(
    ("body", "filtered"),
    [
        (AZURE, True),
        ({"error": {"code": None, "innererror": {"code": "ResponsibleAIPolicyViolation"}}}, True),
        ({"error": {"code": "content_policy_violation", "type": "invalid_request_error"}}, True),
        ({"error": {"code": "moderation_blocked"}}, True),
        ({"error": {"code": "context_length_exceeded", "type": "invalid_request_error"}}, False),
        ({"error": {"message": "content_filter mentioned only in text"}}, False),
        ("plain text", False),
        ({"error": "string"}, False),
    ],
)
def test_content_filter_reads_codes_only(body: object, filtered: bool) -> None:
    assert is_content_filter(body) is filtered


def test_parse_error_body() -> None:
    assert parse_error_body(b'{"a": 1}') == {"a": 1}
    assert parse_error_body(b"<html>") == "<html>"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after-ms": "nan", "retry-after": "9"}, 9.0),
        (
            {
                "retry-after": "Wed, 21 Oct 2015 07:28:30 GMT",
                "date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            30.0,
        ),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, None),  # no reference clock
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-3"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(headers) == seconds


@given(st.binary(max_size=5000), st.lists(st.integers(0, 5000), max_size=8))
def test_pcm_framer_split_invariance(pcm: bytes, cuts: list[int]) -> None:
    pcm = pcm[: len(pcm) // 2 * 2]
    points = [0, *sorted(c for c in cuts if c <= len(pcm)), len(pcm)]
    framer = PCMFramer(24000)
    frames = []
    for a, b in itertools.pairwise(points):
        frames.extend(framer.feed(pcm[a:b]))
    frames.extend(framer.flush())
    assert b"".join(f.to_bytes() for f in frames) == pcm
    assert all(f.samples_per_channel == 480 for f in frames[:-1])


def test_pcm_framer_refuses_half_sample() -> None:
    framer = PCMFramer(24000)
    framer.feed(b"\x01\x02\x03")
    with pytest.raises(RemoteProtocolError):
        framer.flush()


def test_wav_round_trip_and_transcription_text() -> None:
    frame = AudioFrame.from_mono(np.arange(320, dtype=np.int16), 16000)
    with wave.open(io.BytesIO(encode_wav([frame, frame]))) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getnframes()) == (
            16000,
            1,
            640,
        )
    assert transcription_text(b'{"text": "hello"}') == "hello"
    for bad in (b"<html>", b'{"txt": 1}', b"\xff"):
        with pytest.raises(RemoteProtocolError):
            transcription_text(bad)


def test_transcription_body_is_capped() -> None:
    body = TranscriptionBody(max_bytes=32)
    for piece in (b'{"text": ', b'"hello"', b"}"):
        body.feed(piece)
    assert body.text() == "hello"
    endless = TranscriptionBody(max_bytes=32)
    endless.feed(b'{"text": "' + b"x" * 22)  # exactly 32 bytes
    with pytest.raises(RemoteProtocolError, match="larger than 32 bytes"):
        endless.feed(b"x")
    with pytest.raises(RemoteProtocolError, match="larger than 32 bytes"):
        TranscriptionBody(max_bytes=32).declare("33")
    TranscriptionBody(max_bytes=32).declare("32")
    TranscriptionBody(max_bytes=32).declare("not a number")  # h11 refuses those earlier
    with pytest.raises(ConfigurationError):
        TranscriptionBody(max_bytes=0)
