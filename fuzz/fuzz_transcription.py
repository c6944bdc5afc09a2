"""Fuzz the capped transcription reader (``TranscriptionBody``).

Invariant: a body fed in any split gives the same outcome, the transcript or
RemoteProtocolError, never anything else; a body longer than the cap is always an
error, and a declared ``Content-Length`` past the cap is refused before any byte.
Inputs: JSON answers (right and wrong shapes), raw bytes, and long ``text`` values
around the (small) cap. ``tests/protocol/test_transcription_fuzz.py`` runs a quick
pass.

Run: ``python fuzz/fuzz_transcription.py [EXAMPLES]`` (default 10000).
"""

from __future__ import annotations

import itertools
import json
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import RemoteProtocolError
from trioagents.protocol import TranscriptionBody

CAP = 96
values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=120))
answers = st.one_of(
    st.fixed_dictionaries({"text": st.text(max_size=120)}).map(json.dumps),
    st.dictionaries(st.text(max_size=5), values, max_size=3).map(json.dumps),
    values.map(json.dumps),
).map(str.encode)
bodies = st.one_of(answers, st.binary(max_size=200))


def outcome(chunks: list[bytes]) -> object:
    body = TranscriptionBody(max_bytes=CAP)
    try:
        for chunk in chunks:
            body.feed(chunk)
        return body.text()
    except RemoteProtocolError:
        return "protocol-error"


def check(data: bytes, cuts: list[int]) -> None:
    """The invariant (any other exception propagates and fails the run)."""
    points = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    split = [data[a:b] for a, b in itertools.pairwise(points)]
    whole = outcome([data])
    assert outcome(split) == whole, "split changed the outcome"
    assert outcome([bytes([b]) for b in data]) == whole, "bytewise feed changed the outcome"
    if len(data) > CAP:
        assert whole == "protocol-error", "a body past the cap was accepted"
    declared = TranscriptionBody(max_bytes=CAP)
    try:
        declared.declare(str(len(data)))
    except RemoteProtocolError:
        assert len(data) > CAP
    else:
        assert len(data) <= CAP


def run(examples: int) -> None:
    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(bodies, st.lists(st.integers(0, 1 << 16), max_size=8))
    def fuzz(data: bytes, cuts: list[int]) -> None:
        check(data, cuts)

    fuzz()


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
