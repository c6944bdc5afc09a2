"""Fuzz harness for the session-journal decoder and the decision-log reader.

Invariants, for any bytes a store or a log file may hand back:

* ``decode_entry`` returns a :class:`JournalEntry` whose re-encoding decodes to an
  equal entry, or raises :class:`JournalCorruptError` (a protocol error) or
  :class:`JournalVersionError` (a newer schema). Nothing else escapes.
* ``decode_tool_result`` returns a :class:`ToolResult` or raises
  :class:`JournalCorruptError`.
* ``parse_decision_record`` returns a record whose JSON parses back to an equal
  record, or raises :class:`DecisionLogFormatError` (a protocol error).

Inputs mix arbitrary bytes, valid documents with one value replaced by arbitrary
JSON, valid v1 (pre-migration) documents with random fields, byte-level mutations of
valid encodings, and deeply nested arrays.

Run: ``python fuzz/fuzz_journal.py --examples 20000``. A quick run is part of the
test suite (``tests/persistence/test_fuzz_journal.py``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import ChatContext, FunctionCall
from trioagents.observability import (
    DecisionLogFormatError,
    DecisionRecord,
    parse_decision_record,
)
from trioagents.persistence import (
    JournalCorruptError,
    JournalEntry,
    JournalVersionError,
    ToolResult,
    decode_entry,
    decode_tool_result,
    encode_entry,
)


def _valid_entry() -> bytes:
    chat = ChatContext()
    chat.add_message("user", "hello", id="item_1")
    chat.append(FunctionCall(call_id="c1", name="book", arguments="{}", id="item_2"))
    entry = JournalEntry.from_context(
        chat,
        session_key="ses_x",
        sequence=4,
        agent_name="greeter",
        fsm_state="s",
        userdata={"a": [1, 2.5, None]},
        tool_results={"tool_1": ToolResult("ok")},
        written_at=1.0,
    )
    return encode_entry(entry)


VALID_ENTRY: dict[str, Any] = json.loads(_valid_entry())
VALID_V1: dict[str, Any] = {
    "schema_version": 1,
    "session_key": "k",
    "sequence": 0,
    "agent": "a",
    "written_at": 0,
    "chat_context": [],
    "userdata": None,
    "tools": [["t", "out"]],
}
VALID_RECORD: dict[str, Any] = json.loads(
    DecisionRecord(
        type="tool_ran",
        at=1.0,
        session_id="s",
        turn_id="t",
        reason="ok",
        data={"tool": "x", "call_id": "c", "outcome": "ok", "latency": 0.1},
        content={"arguments": "{}"},
    ).to_json()
)

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def _replaced(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    document = json.loads(json.dumps(base))
    key = draw(st.sampled_from(sorted(document)))
    if draw(st.booleans()):
        document[key] = draw(_json)
    else:
        del document[key]
    return json.dumps(document).encode()


@st.composite
def _overflowing(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """A valid document with one value (possibly nested) replaced by ``1e999``."""
    document = json.loads(json.dumps(base))
    target = document
    key = draw(st.sampled_from(sorted(target)))
    while isinstance(target[key], dict) and target[key] and draw(st.booleans()):
        target = target[key]
        key = draw(st.sampled_from(sorted(target)))
    target[key] = "__overflow__"
    return json.dumps(document).replace('"__overflow__"', "1e999").encode()


@st.composite
def _flipped(draw: st.DrawFn, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(buffer) - 1))
        buffer[index] = draw(st.integers(0, 255))
    return bytes(buffer)


def _documents(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    encoded = json.dumps(base).encode()
    return st.one_of(
        st.binary(max_size=200),
        _replaced(base),
        _overflowing(base),
        _flipped(encoded),
        st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
        st.just(encoded),
    )


entry_inputs = st.one_of(_documents(VALID_ENTRY), _documents(VALID_V1))
record_inputs = _documents(VALID_RECORD)


def check_entry(data: bytes) -> None:
    try:
        entry = decode_entry(data)
    except (JournalCorruptError, JournalVersionError):
        return
    assert decode_entry(encode_entry(entry)) == entry


def check_tool_result(data: bytes) -> None:
    try:
        decode_tool_result(data)
    except JournalCorruptError:
        return


def check_record(data: bytes) -> None:
    try:
        record = parse_decision_record(data)
    except DecisionLogFormatError:
        return
    assert parse_decision_record(record.to_json()) == record


def run(max_examples: int) -> None:
    """Run the harness for ``max_examples`` inputs per target (raises on a violation)."""
    options = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    options(given(entry_inputs)(check_entry))()
    options(
        given(st.one_of(st.binary(max_size=64), _documents({"output": "x"})))(check_tool_result)
    )()
    options(given(record_inputs)(check_record))()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=5000)
    args = parser.parse_args()
    run(args.examples)
    print(f"ok: {args.examples} examples per target, invariants held")


if __name__ == "__main__":
    main()
