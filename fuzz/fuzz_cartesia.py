"""Fuzz the Cartesia TTS websocket parser and its utterance state machine.

Invariants:

* :func:`parse_cartesia_message` returns a :data:`TTSServerEvent` or raises
  RemoteProtocolError, never anything else, for any text or binary message:
  documented shapes (``chunk``, ``timestamps``, ``done``, ``error``, unknown types)
  with wrong types, missing and extra fields, bad base64, deep nesting, raw text
  and bytes; a kept payload is bounded;
* well-formed word timestamps parse to exactly their words and times;
* any sequence of open/text/end/cancel/done leaves a :class:`CartesiaContext` in
  the state :data:`TTS_CONTEXT_TRANSITIONS` says, refusing exactly the steps the
  table lacks.

``tests/protocol/test_tts_fuzz.py`` runs a quick pass.

Run: ``python fuzz/fuzz_cartesia.py [EXAMPLES]`` (default 10000).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _ws_fuzz, beside this file

from _ws_fuzz import check_context_steps, check_parse, messages, run_all, values

from trioagents.protocol import (
    TTS_CONTEXT_TRANSITIONS,
    CartesiaContext,
    CartesiaOptions,
    TTSAudioReceived,
    TTSContextDone,
    TTSErrorReported,
    TTSMessageIgnored,
    TTSWordsTimed,
    parse_cartesia_message,
)

EVENT_TYPES = (TTSAudioReceived, TTSContextDone, TTSErrorReported, TTSMessageIgnored, TTSWordsTimed)
times = st.lists(st.floats(0, 1e4), max_size=3)
b64 = st.binary(max_size=9).map(lambda b: base64.b64encode(b).decode())
stamps = st.fixed_dictionaries(
    {},
    optional={
        "words": st.one_of(st.lists(st.text(max_size=4), max_size=3), values),
        "start": st.one_of(times, values),
        "end": st.one_of(times, values),
    },
)
shaped = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["chunk", "timestamps", "done", "error", "x"]), values)},
    optional={
        "data": st.one_of(
            st.binary(max_size=9).map(lambda b: base64.b64encode(b).decode()), values
        ),
        "word_timestamps": st.one_of(stamps, values),
        "context_id": st.one_of(st.text(max_size=4), st.none(), values),
        "status_code": st.one_of(st.integers(100, 599), values),
        "error_code": values,
        "title": values,
        "done": values,
    },
)
raw_messages = messages(
    shaped, '{"type": "timestamps", "word_timestamps": {"words": ["a"], "start": [Infinity]}}'
)
actions = st.lists(st.sampled_from(["open", "text", "end", "cancel", "done"]), max_size=10)
good_words = st.lists(st.tuples(st.text(max_size=6), st.floats(0, 1e4), st.floats(0, 1e4)))


def check_message(message: str | bytes) -> None:
    """The parse invariant (any other exception propagates and fails the run)."""
    check_parse(parse_cartesia_message, EVENT_TYPES, message)


def check_words(words: list[tuple[str, float, float]]) -> None:
    body = {
        "type": "timestamps",
        "context_id": "ctx",
        "word_timestamps": {
            "words": [w for w, _, _ in words],
            "start": [s for _, s, _ in words],
            "end": [e for _, _, e in words],
        },
    }
    event = parse_cartesia_message(json.dumps(body))
    assert isinstance(event, TTSWordsTimed)
    assert event.context_id == "ctx"
    assert [(t.word, t.start, t.end) for t in event.words] == words


def check_steps(sequence: list[str]) -> None:
    check_context_steps(
        CartesiaContext(CartesiaOptions(), "ctx"), TTS_CONTEXT_TRANSITIONS, sequence
    )


def run(examples: int) -> None:
    run_all(
        examples,
        [(raw_messages, check_message), (good_words, check_words), (actions, check_steps)],
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
