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

import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _ws_fuzz, beside this file

from _ws_fuzz import check_parse, check_table, messages, run_all, values

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
raw_messages = messages(
    shaped, '{"type": "Results", "start": NaN}', '{"type": "Results", "start": 1e999}'
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
        raw_messages,
    ),
    max_size=12,
)


def check_message(message: str | bytes) -> None:
    """The parse invariant (any other exception propagates and fails the run)."""
    check_parse(lambda m: DeepgramProtocol().receive(m), EVENT_TYPES, message)


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
    check_table(protocol, sends, DEEPGRAM_TRANSITIONS, sequence)


def run(examples: int) -> None:
    run_all(
        examples,
        [(raw_messages, check_message), (good_results, check_results), (steps, check_steps)],
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
