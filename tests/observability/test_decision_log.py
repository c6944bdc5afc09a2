"""Decision log: writing, reading back, validation, content separation."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import ProtocolError
from trioagents.observability import (
    DecisionLog,
    DecisionLogFormatError,
    open_decision_log,
    parse_decision_record,
    read_decision_log,
)

from .sample_session import sample_records, write_sample_session


def test_records_round_trip_and_keep_user_content_apart() -> None:
    sink = io.StringIO()
    write_sample_session(sink)
    lines = sink.getvalue().splitlines()
    records = read_decision_log(lines)
    assert len(records) == len(lines) == 14
    assert [r.type for r in records[:3]] == ["transition_fired", "turn_ended", "turn_ended"]
    assert all(r.session_id == "ses_demo" for r in records)
    for line, record in zip(lines, records, strict=True):
        assert json.loads(line) == json.loads(record.to_json())
    # User content lives only in "content": dropping it leaves no user text.
    tool = next(r for r in records if r.type == "tool_ran")
    assert tool.content == {
        "arguments": '{"name": "Ana <b>Lopez</b>"}',
        "output": '{"booking": "BK-7", "party": 2}',
    }
    stripped = [{**json.loads(line), "content": {}} for line in lines]
    assert "Lopez" not in json.dumps(stripped)
    assert "two peo" not in json.dumps(stripped)
    interrupted = next(r for r in records if r.type == "speech_interrupted")
    assert (interrupted.reason, interrupted.speech_id) == ("user_barge_in", "speech_2")
    assert interrupted.at == pytest.approx(109.8)


async def test_default_clock_is_trios(autojump_clock: trio.testing.MockClock) -> None:
    sink = io.StringIO()
    log = DecisionLog(sink, "s")
    await trio.sleep(42)
    record = log.session_closed(reason="done")
    assert record.at == trio.current_time()
    assert parse_decision_record(sink.getvalue()) == record


async def test_open_decision_log_appends_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    async with open_decision_log(path, "s1") as log:
        log.turn_ended("t1", kind="user", started_at=0.0, reason="end_of_utterance")
    async with open_decision_log(path, "s2") as log:
        log.session_closed(reason="drained")
    records = read_decision_log(path.read_text().splitlines())
    assert [(r.session_id, r.type) for r in records] == [
        ("s1", "turn_ended"),
        ("s2", "session_closed"),
    ]


def _valid() -> dict[str, object]:
    record: dict[str, object] = json.loads(sample_records()[4].to_json())  # a tool_ran record
    return record


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("content"),
        lambda r: r.update(extra=1),
        lambda r: r.update(v=2),
        lambda r: r.update(v=True),
        lambda r: r.update(type="tool_exploded"),
        lambda r: r.update(at="1"),
        lambda r: r.update(at=True),
        lambda r: r.update(session_id=None),
        lambda r: r.update(turn_id=3),
        lambda r: r.update(data=[]),
        lambda r: r["data"].pop("latency"),
        lambda r: r["data"].update(latency=True),
        lambda r: r["data"].update(tool=None),
        lambda r: r.update(type="speech_interrupted", data={"started_at": 1}),
    ],
)
def test_invalid_records_raise_our_protocol_error(mutate: object) -> None:
    record = _valid()
    mutate(record)  # type: ignore[operator]
    with pytest.raises(DecisionLogFormatError):
        parse_decision_record(json.dumps(record))


@pytest.mark.parametrize(
    "line",
    [b"", b"\xff", "[]", "NaN", '{"at": Infinity}', "{" * 10000, "x" * (2 << 20), "1e999"],
)
def test_garbage_lines(line: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_decision_record(line)


def test_out_of_range_numbers_are_refused() -> None:
    line = sample_records()[4].to_json().replace('"latency":0.62', '"latency":1e999')
    assert "1e999" in line
    with pytest.raises(DecisionLogFormatError, match="finite"):
        parse_decision_record(line)


def test_reader_reports_the_line_number_and_skips_blank_lines() -> None:
    good = sample_records()[0].to_json()
    assert len(read_decision_log([good, "", "  ", good])) == 2
    with pytest.raises(DecisionLogFormatError) as info:
        read_decision_log([good, "", "{bad json containing secret"])
    assert info.value.line_number == 3
    assert "secret" not in str(info.value)


@given(st.one_of(st.text(), st.binary()))
def test_any_line_parses_or_raises_our_error(line: str | bytes) -> None:
    with contextlib.suppress(DecisionLogFormatError):
        parse_decision_record(line)
