"""Fuzz the ElevenLabs stream-input parser and its utterance state machine.

Invariants:

* :func:`parse_elevenlabs_message` returns a :data:`TTSServerEvent` or raises
  RemoteProtocolError, never anything else, for any text or binary message:
  documented shapes with wrong types, both spellings of every field, missing and
  extra fields, bad base64, deep nesting, raw text and bytes; a kept payload is
  bounded;
* a well-formed audio message parses to exactly its PCM and alignment (ms -> s);
* any sequence of open/text/end/cancel/done leaves an :class:`ElevenLabsContext`
  (both protocols: stream-input and multi-stream-input) in the state
  :data:`TTS_CONTEXT_TRANSITIONS` says, refusing exactly the steps the table lacks.

``tests/protocol/test_tts_fuzz.py`` runs a quick pass.

Run: ``python fuzz/fuzz_elevenlabs.py [EXAMPLES]`` (default 10000).
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
    ElevenLabsContext,
    ElevenLabsOptions,
    TTSAudioReceived,
    TTSContextDone,
    TTSErrorReported,
    TTSMessageIgnored,
    parse_elevenlabs_message,
)

EVENT_TYPES = (TTSAudioReceived, TTSContextDone, TTSErrorReported, TTSMessageIgnored)
b64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
lists = st.lists(st.integers(0, 10**6), max_size=3)
alignment = st.fixed_dictionaries(
    {},
    optional={
        "chars": st.one_of(st.lists(st.text(max_size=2), max_size=3), values),
        "charStartTimesMs": st.one_of(lists, values),
        "charsStartTimesMs": st.one_of(lists, values),
        "charDurationsMs": st.one_of(lists, values),
        "charsDurationsMs": st.one_of(lists, values),
    },
)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "audio": st.one_of(b64, st.none(), st.text(max_size=8), values),
        "isFinal": st.one_of(st.booleans(), st.none(), values),
        "is_final": st.one_of(st.booleans(), values),
        "alignment": st.one_of(alignment, st.none(), values),
        "normalizedAlignment": st.one_of(alignment, values),
        "contextId": st.one_of(st.text(max_size=4), st.none(), values),
        "context_id": st.one_of(st.text(max_size=4), values),
        "error": st.one_of(st.text(max_size=8), values),
        "code": values,
        "type": values,
    },
)
raw_messages = messages(
    shaped, '{"audio": "AAAA", "alignment": {"chars": ["a"], "charStartTimesMs": [NaN]}}'
)
actions = st.lists(st.sampled_from(["open", "text", "end", "cancel", "done"]), max_size=10)
good_audio = st.tuples(
    st.binary(max_size=40),
    st.lists(
        st.tuples(st.text(min_size=1, max_size=1), st.integers(0, 10**5), st.integers(0, 999))
    ),
)


def check_message(message: str | bytes) -> None:
    """The parse invariant (any other exception propagates and fails the run)."""
    check_parse(parse_elevenlabs_message, EVENT_TYPES, message)


def check_audio(audio: tuple[bytes, list[tuple[str, int, int]]]) -> None:
    pcm, chars = audio
    body = {
        "audio": base64.b64encode(pcm).decode(),
        "alignment": {
            "chars": [c for c, _, _ in chars],
            "charStartTimesMs": [s for _, s, _ in chars],
            "charDurationsMs": [d for _, _, d in chars],
        },
        "contextId": "ctx",
    }
    event = parse_elevenlabs_message(json.dumps(body))
    assert isinstance(event, TTSAudioReceived)
    assert event.pcm == pcm
    assert event.context_id == "ctx"
    assert event.alignment is not None
    assert [(t.char, t.start, t.end) for t in event.alignment] == [
        (c, s / 1000, s / 1000 + d / 1000) for c, s, d in chars
    ]


def check_steps(steps: tuple[list[str], bool]) -> None:
    sequence, multi = steps
    context = ElevenLabsContext(ElevenLabsOptions(), "c" if multi else None)
    check_context_steps(context, TTS_CONTEXT_TRANSITIONS, sequence)


def run(examples: int) -> None:
    run_all(
        examples,
        [
            (raw_messages, check_message),
            (good_audio, check_audio),
            (st.tuples(actions, st.booleans()), check_steps),
        ],
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
