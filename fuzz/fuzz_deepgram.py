"""Fuzz the Deepgram live transcription parser and its client state machine.

Invariants:

* :meth:`DeepgramProtocol.receive` returns a :data:`DeepgramEvent` or raises
  RemoteProtocolError, never anything else, for any text or binary message:
  documented shapes with wrong types, missing and extra fields, odd numbers,
  deep nesting, raw text and bytes;
* a well-formed ``Results`` message parses to exactly the fields it holds;
* any sequence of sends, receives and a close leaves the protocol in the state
  :data:`DEEPGRAM_TRANSITIONS` says, refusing (LocalProtocolError) exactly the
  steps the table lacks.

``tests/protocol/test_deepgram_fuzz.py`` runs a quick pass.

Run: ``python fuzz/fuzz_deepgram.py [EXAMPLES]`` (default 10000).
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import LocalProtocolError, RemoteProtocolError
from trioagents.protocol import (
    DEEPGRAM_TRANSITIONS,
    DeepgramErrorReported,
    DeepgramMessageIgnored,
    DeepgramMetadataReceived,
    DeepgramProtocol,
    DeepgramSpeechStarted,
    DeepgramTranscribed,
    DeepgramUtteranceEnded,
)

EVENT_TYPES = (
    DeepgramTranscribed,
    DeepgramSpeechStarted,
    DeepgramUtteranceEnded,
    DeepgramMetadataReceived,
    DeepgramErrorReported,
    DeepgramMessageIgnored,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
types = st.sampled_from(["Results", "SpeechStarted", "UtteranceEnd", "Metadata", "Error", "X"])
alternative = st.fixed_dictionaries(
    {},
    optional={
        "transcript": st.one_of(st.text(max_size=20), values),
        "confidence": st.one_of(st.floats(0, 1), values),
        "languages": st.one_of(st.lists(st.text(max_size=3), max_size=2), values),
    },
)
shaped = st.fixed_dictionaries(
    {"type": st.one_of(types, values)},
    optional={
        "channel": st.one_of(
            st.fixed_dictionaries(
                {}, optional={"alternatives": st.one_of(st.lists(alternative, max_size=2), values)}
            ),
            values,
        ),
        "is_final": st.one_of(st.booleans(), values),
        "speech_final": st.one_of(st.booleans(), values),
        "from_finalize": st.one_of(st.booleans(), values),
        "start": st.one_of(st.floats(0, 1e6), values),
        "duration": st.one_of(st.floats(0, 1e6), values),
        "timestamp": st.one_of(st.floats(0, 1e6), values),
        "last_word_end": values,
        "request_id": st.one_of(st.text(max_size=8), values),
        "variant": values,
        "err_code": values,
    },
)
messages = st.one_of(
    shaped.map(json.dumps),
    values.map(json.dumps),
    st.text(max_size=60),
    st.binary(max_size=60),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.sampled_from(['{"type": "Results", "start": NaN}', '{"type": "Results", "start": 1e999}']),
)
good_results = st.fixed_dictionaries(
    {
        "transcript": st.text(max_size=30),
        "is_final": st.booleans(),
        "speech_final": st.booleans(),
        "from_finalize": st.booleans(),
        "start": st.floats(0, 1e6),
        "duration": st.floats(0, 1e3),
        "confidence": st.floats(0, 1),
    }
)
steps = st.lists(
    st.one_of(
        st.sampled_from(["audio", "KeepAlive", "Finalize", "CloseStream", "closed"]),
        messages,
    ),
    max_size=12,
)


def check_message(message: str | bytes) -> None:
    """The parse invariant (any other exception propagates and fails the run)."""
    payload: bytes | None = None
    try:
        event: object = DeepgramProtocol().receive(message)
    except RemoteProtocolError as exc:
        event, payload = None, exc.payload
    if event is None:
        assert payload is None or len(payload) <= 4096, "payload kept unbounded"
    else:
        assert isinstance(event, EVENT_TYPES), f"not an event: {event!r}"


def check_results(fields: dict[str, Any]) -> None:
    body = {
        "type": "Results",
        "is_final": fields["is_final"],
        "speech_final": fields["speech_final"],
        "from_finalize": fields["from_finalize"],
        "start": fields["start"],
        "duration": fields["duration"],
        "channel": {
            "alternatives": [
                {"transcript": fields["transcript"], "confidence": fields["confidence"]}
            ]
        },
    }
    event = DeepgramProtocol().receive(json.dumps(body))
    assert isinstance(event, DeepgramTranscribed)
    assert event.transcript == fields["transcript"]
    assert (event.is_final, event.speech_final, event.from_finalize) == (
        fields["is_final"],
        fields["speech_final"],
        fields["from_finalize"],
    )
    assert (event.start, event.duration, event.confidence) == (
        fields["start"],
        fields["duration"],
        fields["confidence"],
    )


def check_steps(sequence: list[str | bytes]) -> None:
    protocol = DeepgramProtocol()
    sends = {
        "audio": lambda: protocol.send_audio(b"\x00\x00"),
        "KeepAlive": protocol.keep_alive,
        "Finalize": protocol.finalize,
        "CloseStream": protocol.close_stream,
        "closed": lambda: protocol.connection_closed(1000, None),
    }
    for step in sequence:
        if isinstance(step, str) and step in sends:
            before = protocol.state
            target = DEEPGRAM_TRANSITIONS.get((before, step))
            try:
                sends[step]()
            except LocalProtocolError:
                assert target is None, f"{step} refused in {before}"
                assert protocol.state is before, "a refused step changed the state"
            else:
                assert target is protocol.state, f"{step} in {before} went to {protocol.state}"
        else:
            state = protocol.state
            with contextlib.suppress(RemoteProtocolError):
                protocol.receive(step)
            assert protocol.state is state, "receiving changed the state"


def run(examples: int) -> None:
    config = settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )

    @config
    @given(messages)
    def fuzz_messages(message: str | bytes) -> None:
        check_message(message)

    @config
    @given(good_results)
    def fuzz_results(fields: dict[str, Any]) -> None:
        check_results(fields)

    @config
    @given(steps)
    def fuzz_steps(sequence: list[str | bytes]) -> None:
        check_steps(sequence)

    fuzz_messages()
    fuzz_results()
    fuzz_steps()


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
