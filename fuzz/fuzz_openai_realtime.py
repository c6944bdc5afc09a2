"""Fuzz the OpenAI Realtime event parser and its client state machine.

Invariants:

* :meth:`OpenAIRealtimeProtocol.receive` returns a :data:`RealtimeEvent` or raises
  RemoteProtocolError, never anything else, for any text or binary message: the
  documented event shapes (GA and beta names) with wrong types, missing and extra
  fields, odd numbers, bad base64, deep nesting, raw text and bytes; the payload a
  refusal keeps is bounded;
* a well-formed audio delta decodes to exactly its bytes, a transcript delta to
  exactly its text;
* any sequence of sends, received events and a close leaves the protocol in the
  state :data:`REALTIME_TRANSITIONS` says, refusing (LocalProtocolError) exactly
  the steps the table lacks.

``tests/protocol/test_openai_realtime_fuzz.py`` runs a quick pass.

Run: ``python fuzz/fuzz_openai_realtime.py [EXAMPLES]`` (default 10000).
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import typing
from pathlib import Path

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _ws_fuzz, beside this file

from _ws_fuzz import messages as raw_messages
from _ws_fuzz import run_all, values

from trioagents.core import LocalProtocolError, RemoteProtocolError
from trioagents.protocol import (
    REALTIME_TRANSITIONS,
    OpenAIRealtimeOptions,
    OpenAIRealtimeProtocol,
    RealtimeAudioDelta,
    RealtimeErrorReported,
    RealtimeEvent,
    RealtimeResponseCreated,
    RealtimeResponseDone,
    RealtimeSessionCreated,
    RealtimeTranscriptDelta,
)

EVENT_TYPES = typing.get_args(RealtimeEvent)
KNOWN = [
    "session.created",
    "session.updated",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
    "conversation.item.added",
    "conversation.item.created",
    "conversation.item.done",
    "conversation.item.truncated",
    "conversation.item.deleted",
    "response.created",
    "response.output_item.added",
    "response.output_item.done",
    "response.output_audio.delta",
    "response.audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.delta",
    "response.audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.done",
    "error",
    "rate_limits.updated",
    "x.unknown",
]
ids = st.one_of(st.text(max_size=8), values)
audio = st.one_of(
    st.binary(max_size=16).map(lambda b: base64.b64encode(b).decode()),
    st.text(max_size=12),
    values,
)
item = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "type": st.one_of(st.sampled_from(["message", "function_call"]), values),
        "role": ids,
        "call_id": ids,
        "name": ids,
        "arguments": ids,
    },
)
response = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "status": ids,
        "metadata": st.one_of(st.dictionaries(st.text(max_size=4), st.text(max_size=4)), values),
        "usage": st.one_of(
            st.fixed_dictionaries(
                {}, optional={"input_tokens": values, "output_tokens": st.integers(0, 99)}
            ),
            values,
        ),
        "status_details": values,
    },
)
shaped = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(KNOWN), values)},
    optional={
        "session": st.one_of(st.dictionaries(st.text(max_size=4), values, max_size=2), values),
        "item_id": ids,
        "previous_item_id": ids,
        "response_id": ids,
        "call_id": ids,
        "audio_start_ms": st.one_of(st.integers(-3, 10**6), values),
        "audio_end_ms": st.one_of(st.integers(-3, 10**6), values),
        "delta": st.one_of(audio, ids),
        "transcript": ids,
        "arguments": ids,
        "item": st.one_of(item, values),
        "response": st.one_of(response, values),
        "error": st.one_of(st.dictionaries(st.sampled_from(["type", "code", "event_id"]), ids)),
        "rate_limits": st.one_of(
            st.lists(st.dictionaries(st.sampled_from(["name", "remaining"]), values)), values
        ),
    },
)
messages = raw_messages(
    shaped,
    '{"type": "response.output_audio.delta", "item_id": "i", "delta": "AAA"}',
    '{"type": "input_audio_buffer.speech_started", "audio_start_ms": NaN}',
    '{"type": "rate_limits.updated", "rate_limits": [{"reset_seconds": 1e999}]}',
)
SENDS = ["create", "cancel", "append", "item", "truncate", "update", "closed"]
SERVER = {
    "session.created": '{"type": "session.created", "session": {}}',
    "response.created": '{"type": "response.created", "response": {"id": "r"}}',
    "response.done": '{"type": "response.done", "response": {"id": "r", "status": "completed"}}',
    "refusal": '{"type": "error", "error": {"type": "invalid_request_error", "event_id": "evt_1"}}',
}
steps = st.lists(st.one_of(st.sampled_from(SENDS + list(SERVER)), messages), max_size=14)


def check_message(message: str | bytes) -> None:
    """The parse invariant (any other exception propagates and fails the run)."""
    protocol = OpenAIRealtimeProtocol(OpenAIRealtimeOptions())
    payload: bytes | None = None
    try:
        event: object = protocol.receive(message)
    except RemoteProtocolError as exc:
        event, payload = None, exc.payload
    if event is None:
        assert payload is None or len(payload) <= 4096, "payload kept unbounded"
    else:
        assert isinstance(event, EVENT_TYPES), f"not an event: {event!r}"


def check_deltas(pcm: bytes, text: str) -> None:
    protocol = OpenAIRealtimeProtocol(OpenAIRealtimeOptions())
    wire = base64.b64encode(pcm).decode()
    for kind in ("response.output_audio.delta", "response.audio.delta"):
        body = {"type": kind, "response_id": "r", "item_id": "i", "delta": wire}
        event = protocol.receive(json.dumps(body))
        assert isinstance(event, RealtimeAudioDelta)
        assert event.pcm == pcm
    body = {"type": "response.output_audio_transcript.delta", "item_id": "i", "delta": text}
    transcript = protocol.receive(json.dumps(body))
    assert isinstance(transcript, RealtimeTranscriptDelta)
    assert transcript.delta == text


def _sent_action(step: str) -> str:
    return {"create": "response.create", "cancel": "response.cancel", "closed": "closed"}.get(
        step, "send"
    )


def _received_action(event: object) -> str | None:
    if isinstance(event, RealtimeSessionCreated):
        return "session.created"
    if isinstance(event, RealtimeResponseCreated):
        return "response.created"
    if isinstance(event, RealtimeResponseDone):
        return "response.done"
    if isinstance(event, RealtimeErrorReported):
        return "refused?"
    return None


def check_steps(sequence: list[str | bytes]) -> None:
    protocol = OpenAIRealtimeProtocol(OpenAIRealtimeOptions())
    sends = {
        "create": protocol.create_response,
        "cancel": protocol.cancel_response,
        "append": lambda: protocol.append_audio(b"\x00\x00"),
        "item": lambda: protocol.create_message("item_1", "user", "hi"),
        "truncate": lambda: protocol.truncate("item_1", 100),
        "update": lambda: protocol.session_update("be brief", ()),
        "closed": protocol.connection_closed,
    }
    for step in sequence:
        before = protocol.state
        if isinstance(step, str) and step in sends:
            target = REALTIME_TRANSITIONS.get((before, _sent_action(step)))
            try:
                sends[step]()
            except LocalProtocolError:
                assert target is None, f"{step} refused in {before}"
                assert protocol.state is before, "a refused step changed the state"
            else:
                assert target is protocol.state, f"{step} in {before} went to {protocol.state}"
            continue
        message = SERVER.get(step, step) if isinstance(step, str) else step
        event = None
        with contextlib.suppress(RemoteProtocolError):
            event = protocol.receive(message)
        _check_received(protocol, before, event)


def _check_received(protocol: OpenAIRealtimeProtocol, before: object, event: object) -> None:
    action = _received_action(event)
    if action == "refused?":
        assert protocol.state in (before, REALTIME_TRANSITIONS.get((before, "refused"))), (
            f"an error moved {before} to {protocol.state}"
        )
        return
    target = REALTIME_TRANSITIONS.get((before, action)) if action is not None else None
    if action == "session.created" and before is not protocol.state:
        assert target is protocol.state
    elif action in ("response.created", "response.done") and target is not None:
        assert protocol.state is target, f"{action} in {before} went to {protocol.state}"
    elif action is None:
        assert protocol.state is before, "an ordinary event changed the state"


def run(examples: int) -> None:
    pcm = st.binary(max_size=64).map(lambda b: b[: len(b) // 2 * 2])
    run_all(
        examples,
        [
            (messages, check_message),
            (st.tuples(pcm, st.text(max_size=20)), lambda args: check_deltas(*args)),
            (steps, check_steps),
        ],
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
    print("ok")
