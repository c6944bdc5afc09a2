"""Fuzz the OpenAI realtime transcription parser and its client state machine.

The invariants of fuzz_deepgram.py for :func:`parse_transcription_event` (an event
or RemoteProtocolError for any message) and :data:`TRANSCRIPTION_TRANSITIONS` (the
steps the table allows, and only those), plus two of this protocol's own:
:meth:`RealtimeTranscriptionProtocol.receive` keeps to the parse rule over whole
*sequences* of messages (its bookkeeping never leaks a KeyError), and the finals it
releases come out once each, in commit order, with the VAD's ``audio_end``,
whatever order the completions arrive in.

``tests/protocol/test_realtime_transcription_fuzz.py`` runs a quick pass.

Run: ``python fuzz/fuzz_realtime_transcription.py [EXAMPLES]`` (default 10000).
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _ws_fuzz, beside this file

from _ws_fuzz import check_parse, check_table, messages, run_all, values

from trioagents.core import RemoteProtocolError
from trioagents.protocol import (
    TRANSCRIPTION_TRANSITIONS,
    RealtimeTranscriptionOptions,
    RealtimeTranscriptionProtocol,
    TranscriptFinalized,
    TranscriptionAudioCleared,
    TranscriptionAudioCommitted,
    TranscriptionCompleted,
    TranscriptionDeltaReceived,
    TranscriptionErrorReported,
    TranscriptionFailed,
    TranscriptionMessageIgnored,
    TranscriptionSessionConfigured,
    TranscriptionSpeechStarted,
    TranscriptionSpeechStopped,
    parse_transcription_event,
)

EVENT_TYPES = (
    TranscriptionSessionConfigured,
    TranscriptionSpeechStarted,
    TranscriptionSpeechStopped,
    TranscriptionAudioCommitted,
    TranscriptionAudioCleared,
    TranscriptionDeltaReceived,
    TranscriptionCompleted,
    TranscriptionFailed,
    TranscriptionErrorReported,
    TranscriptionMessageIgnored,
)
ITEM = "conversation.item.input_audio_transcription."
types = st.sampled_from(
    [
        "session.created",
        "session.updated",
        "transcription_session.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        ITEM + "delta",
        ITEM + "completed",
        ITEM + "failed",
        "error",
        "conversation.item.added",
    ]
)
item_ids = st.sampled_from(["a", "b", "c", "d"])
shaped = st.fixed_dictionaries(
    {"type": st.one_of(types, values)},
    optional={
        "session": st.one_of(st.dictionaries(st.text(max_size=4), values, max_size=2), values),
        "item_id": st.one_of(item_ids, values),
        "previous_item_id": st.one_of(item_ids, st.none(), values),
        "audio_start_ms": st.one_of(st.integers(0, 10**6), values),
        "audio_end_ms": st.one_of(st.integers(0, 10**6), values),
        "delta": st.one_of(st.text(max_size=10), values),
        "transcript": st.one_of(st.text(max_size=10), values),
        "error": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.one_of(st.text(max_size=8), values),
                    "code": st.one_of(st.just("input_audio_buffer_commit_empty"), values),
                },
            ),
            values,
        ),
    },
)
raw_messages = messages(shaped, '{"type": "error", "error": {"code": NaN}}', '{"type": 1e999}')


@st.composite
def conversations(draw: st.DrawFn) -> list[tuple[str, int]]:
    """Items 0..n-1 committed in order (each after its speech_stopped when the VAD
    committed it), completed in any order, each completion after its commit."""
    count = draw(st.integers(0, 8))
    completion_order = draw(st.permutations(range(count)))
    pending = [("commit", index) for index in range(count)]
    waiting = list(completion_order)
    done: list[tuple[str, int]] = []
    committed: set[int] = set()
    while pending or waiting:
        ready = [i for i in waiting[:1] if i in committed]
        if ready and (not pending or draw(st.booleans())):
            done.append(("complete", waiting.pop(0)))
            continue
        step = pending.pop(0)
        if draw(st.booleans()):
            done.append(("stopped", step[1]))
        done.append(step)
        committed.add(step[1])
    return done


steps = st.lists(
    st.one_of(
        st.sampled_from(["session.update", "append", "commit", "clear", "end", "closed"]),
        raw_messages,
    ),
    max_size=12,
)


def check_message(message: str | bytes) -> None:
    """The parse invariant (any other exception propagates and fails the run)."""
    check_parse(parse_transcription_event, EVENT_TYPES, message)


def check_sequence(sequence: list[str | bytes]) -> None:
    """Any message sequence: outputs or RemoteProtocolError, nothing else."""
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    for message in sequence:
        with contextlib.suppress(RemoteProtocolError):
            protocol.receive(message)


def check_order(conversation: list[tuple[str, int]]) -> None:
    """Finals come out once each, in commit order, with the VAD's end where it gave one."""
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    released: list[TranscriptFinalized] = []
    stopped: dict[str, float] = {}
    for kind, index in conversation:
        item = f"item_{index}"
        previous = f"item_{index - 1}" if index else None
        if kind == "stopped":
            stopped[item] = index * 1.5
            body = {"type": "input_audio_buffer.speech_stopped", "item_id": item}
            body["audio_end_ms"] = round(index * 1500)
        elif kind == "commit":
            body = {"type": "input_audio_buffer.committed", "item_id": item}
            body["previous_item_id"] = previous
        else:
            body = {"type": ITEM + "completed", "item_id": item, "transcript": str(index)}
        released += [
            o for o in protocol.receive(json.dumps(body)) if isinstance(o, TranscriptFinalized)
        ]
    count = sum(1 for kind, _ in conversation if kind == "commit")
    assert [f.transcript for f in released] == [str(i) for i in range(count)], "order"
    for final in released:
        if final.item_id in stopped:
            assert final.audio_end == stopped[final.item_id], "audio_end lost"
    assert not protocol.owes_answer, "an item left owing"


def check_steps(sequence: list[str | bytes]) -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    sends = {
        "session.update": protocol.session_update,
        "append": lambda: protocol.append(b"\x00\x00"),
        "commit": protocol.commit,
        "clear": protocol.clear,
        "end": protocol.end_input,
        "closed": lambda: protocol.connection_closed(1000, None),
    }
    check_table(protocol, sends, TRANSCRIPTION_TRANSITIONS, sequence)


def run(examples: int) -> None:
    run_all(
        examples,
        [
            (raw_messages, check_message),
            (st.lists(raw_messages, max_size=10), check_sequence),
            (conversations(), check_order),
            (steps, check_steps),
        ],
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
