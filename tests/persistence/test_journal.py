"""Journal entries: encoding, migrations, userdata codecs, keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import (
    AgentHandoff,
    ChatContext,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
)
from trioagents.persistence import (
    JSON_USERDATA,
    SCHEMA_VERSION,
    JournalCorruptError,
    JournalEntry,
    JournalVersionError,
    ToolResult,
    UserdataNotSerializableError,
    affinity_key,
    dataclass_userdata,
    decode_entry,
    encode_entry,
    tool_idempotency_key,
)


def sample_entry() -> JournalEntry:
    chat = ChatContext()
    chat.add_message("system", "You book tables.", id="item_sys")
    chat.add_message("user", "A table for two", id="item_u1", created_at=3.5)
    chat.append(FunctionCall(call_id="call_1", name="book", arguments='{"n": 2}', id="item_fc"))
    chat.append(FunctionCallOutput(call_id="call_1", name="book", output="ok #42", id="item_fo"))
    chat.append(AgentHandoff(old_agent="greeter", new_agent="billing", id="item_h"))
    chat.add_message("assistant", "Booked", interrupted=True, id="item_a1")
    return JournalEntry.from_context(
        chat,
        session_key="ses_1",
        sequence=3,
        agent_name="billing",
        fsm_state="collecting_payment",
        userdata={"party": 2, "names": ["Ann", "Bo"], "vip": False, "ratio": 0.5, "x": None},
        tool_results={"tool_a": ToolResult("ok #42"), "tool_b": ToolResult("no", is_error=True)},
        written_at=1_700_000_000.25,
        writer_version="2.1.0",
    )


def test_round_trip_and_canonical_bytes() -> None:
    entry = sample_entry()
    data = encode_entry(entry)
    assert decode_entry(data) == entry
    assert encode_entry(decode_entry(data)) == data
    assert json.loads(data)["schema_version"] == SCHEMA_VERSION


def test_chat_context_is_a_copy() -> None:
    entry = sample_entry()
    chat = entry.chat_context
    chat.add_message("user", "more")
    assert len(entry.chat_context) == len(chat) - 1


def test_userdata_must_be_json_able_with_the_path_in_the_error() -> None:
    with pytest.raises(UserdataNotSerializableError) as info:
        JournalEntry(
            session_key="k",
            sequence=0,
            agent_name="a",
            written_at=0.0,
            userdata={"cart": [1, datetime(2020, 1, 1)]},  # type: ignore[list-item]  # the point of the test
        )
    assert (info.value.path, info.value.type_name) == ("$.cart[1]", "datetime")
    assert "2020" not in str(info.value)
    for bad in ({1: "x"}, float("nan"), {"s": {1, 2}}):
        with pytest.raises(UserdataNotSerializableError):
            JSON_USERDATA.encode(bad)


def test_tuples_in_userdata_become_lists() -> None:
    assert JSON_USERDATA.encode({"a": (1, (2,))}) == {"a": [1, [2]]}


@dataclass
class Order:
    table: int
    names: list[str]


def test_dataclass_codec_round_trip_and_type_check() -> None:
    codec = dataclass_userdata(Order)
    data = codec.encode(Order(4, ["a"]))
    assert data == {"table": 4, "names": ["a"]}
    assert codec.decode(data) == Order(4, ["a"])
    with pytest.raises(UserdataNotSerializableError):
        codec.encode("not an order")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dataclass_userdata(int)
    with pytest.raises(JournalCorruptError, match="does not fit Order"):
        codec.decode({"table": 1, "renamed": []})


def v1_record() -> dict[str, object]:
    return {
        "schema_version": 1,
        "session_key": "ses_old",
        "sequence": 7,
        "agent": "greeter",
        "written_at": 12.0,
        "chat_context": [{"type": "message", "role": "user", "content": "hi", "id": "i1"}],
        "userdata": {"n": 1},
        "tools": [["tool_x", "done"]],
    }


def test_v1_records_migrate_forward() -> None:
    entry = decode_entry(json.dumps(v1_record()).encode())
    assert entry.schema_version == SCHEMA_VERSION
    assert (entry.session_key, entry.sequence, entry.agent_name) == ("ses_old", 7, "greeter")
    assert entry.fsm_state is None
    assert entry.tool_results == {"tool_x": ToolResult("done")}
    assert [m.content for m in entry.chat_context.messages()] == ["hi"]


def test_broken_v1_tools_are_corrupt() -> None:
    record = v1_record()
    record["tools"] = [["only-one"]]
    with pytest.raises(JournalCorruptError):
        decode_entry(json.dumps(record).encode())


def test_newer_schema_is_a_clear_error() -> None:
    record = json.loads(encode_entry(sample_entry()))
    record["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(JournalVersionError) as info:
        decode_entry(json.dumps(record).encode())
    assert (info.value.found, info.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("agent_name"),
        lambda r: r.update(extra=1),
        lambda r: r.update(sequence="3"),
        lambda r: r.update(sequence=-1),
        lambda r: r.update(written_at=True),
        lambda r: r.update(fsm_state=3),
        lambda r: r.update(chat_context=[{"type": "nope"}]),
        lambda r: r.update(chat_context=[1]),
        lambda r: r.update(tool_results={"k": "v"}),
        lambda r: r.update(tool_results={"k": {"output": 1}}),
        lambda r: r.update(schema_version=0),
        lambda r: r.update(schema_version="2"),
        lambda r: r.update(session_key=""),
    ],
)
def test_malformed_records_are_corrupt(mutate: object) -> None:
    record = json.loads(encode_entry(sample_entry()))
    mutate(record)  # type: ignore[operator]
    with pytest.raises(JournalCorruptError):
        decode_entry(json.dumps(record).encode())


@pytest.mark.parametrize(
    "data", [b"", b"\xff", b"[]", b"NaN", b'{"schema_version": NaN}', b"{" * 5000, b"1e999"]
)
def test_garbage_is_corrupt(data: bytes) -> None:
    with pytest.raises(JournalCorruptError):
        decode_entry(data)


def test_out_of_range_written_at_is_corrupt() -> None:
    data = encode_entry(sample_entry()).replace(b"1700000000.25", b"1e999")
    assert b"1e999" in data
    with pytest.raises(JournalCorruptError):
        decode_entry(data)


def test_affinity_key_is_deterministic_and_unambiguous() -> None:
    key = affinity_key("room-1", "alice", "support")
    assert key == affinity_key("room-1", "alice", "support")
    assert key.startswith("ses_")
    assert len(key) == 44
    assert key != affinity_key("room-1", "alice", "sales")
    assert affinity_key("a/b", "c", "x") != affinity_key("a", "b/c", "x")
    assert affinity_key("", "", "") != affinity_key("", "", " ")


def test_affinity_key_is_pinned() -> None:
    # Changing the derivation would orphan every stored journal: pin it.
    import hashlib

    framed = b"".join(len(p).to_bytes(4, "big") + p for p in (b"session", b"r", b"p", b"a"))
    assert affinity_key("r", "p", "a") == "ses_" + hashlib.sha256(framed).hexdigest()[:40]


def test_tool_idempotency_keys() -> None:
    by_call = tool_idempotency_key("ses_1", call_id="call_9")
    assert by_call == tool_idempotency_key("ses_1", call_id="call_9")
    assert by_call != tool_idempotency_key("ses_2", call_id="call_9")
    by_args = tool_idempotency_key("ses_1", turn=3, tool="book", arguments={"n": 2, "at": "8pm"})
    assert by_args == tool_idempotency_key(
        "ses_1", turn=3, tool="book", arguments='{"at":"8pm", "n":2}'
    )
    assert by_args != tool_idempotency_key(
        "ses_1", turn=4, tool="book", arguments={"n": 2, "at": "8pm"}
    )
    assert by_args != tool_idempotency_key(
        "ses_1", turn=3, tool="book", arguments={"n": 3, "at": "8pm"}
    )
    assert tool_idempotency_key("s", turn=0, tool="t") == tool_idempotency_key(
        "s", turn=0, tool="t", arguments=""
    )
    with pytest.raises(ConfigurationError):
        tool_idempotency_key("ses_1", tool="book")
    with pytest.raises(ConfigurationError):
        tool_idempotency_key("ses_1", turn=1, tool="book", arguments="{not json")


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    sequence=st.integers(0, 2**40),
    agent=st.text(),
    fsm=st.none() | st.text(),
    userdata=_json,
    messages=st.lists(
        st.tuples(st.sampled_from(["user", "assistant", "system"]), st.text()), max_size=4
    ),
    tools=st.dictionaries(st.text(), st.builds(ToolResult, st.text(), st.booleans()), max_size=3),
)
def test_any_entry_round_trips(
    sequence: int,
    agent: str,
    fsm: str | None,
    userdata: object,
    messages: list[tuple[str, str]],
    tools: dict[str, ToolResult],
) -> None:
    chat = ChatContext()
    for i, (role, text) in enumerate(messages):
        chat.add_message(role, text, id=f"item_{i}")  # type: ignore[arg-type]
    entry = JournalEntry.from_context(
        chat,
        session_key="k",
        sequence=sequence,
        agent_name=agent,
        fsm_state=fsm,
        userdata=userdata,
        tool_results=tools,
        written_at=1.5,
    )
    assert decode_entry(encode_entry(entry)) == entry
