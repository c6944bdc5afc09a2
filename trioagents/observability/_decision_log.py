"""The decision log: one JSON line per decision a session made, and its reader.

A record says *why*: why a turn ended, why speech was interrupted, which tool ran
with what outcome, which handoff transition fired, which error happened, why the
session closed. Shape (version 1)::

    {"v": 1, "type": "tool_ran", "at": 12.5, "session_id": "…", "turn_id": "…",
     "speech_id": null, "reason": "ok", "data": {…}, "content": {…}}

``at`` is Trio's clock (seconds, per process; compare records of one session only).
``data`` holds ids, codes and numbers; ``content`` alone holds user content (tool
arguments and outputs, heard text), so a log can be shared after dropping one key.
Required ``data`` keys per type are in :data:`REQUIRED_DATA`; the reader checks them
and raises :class:`DecisionLogFormatError` (a protocol error) for anything else.

Writes are synchronous, like :mod:`logging`: a line of a few hundred bytes to a local
file, flushed per record, so a decision made during cancellation cleanup (where
nothing may block) is still written. Rejected alternative: a writer task fed by a
channel, which loses the last records exactly when a scope is torn down hard.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias

import trio

from ..core import ProtocolError

__all__ = [
    "DECISION_LOG_VERSION",
    "REQUIRED_DATA",
    "DecisionLog",
    "DecisionLogFormatError",
    "DecisionRecord",
    "DecisionType",
    "open_decision_log",
    "parse_decision_record",
    "read_decision_log",
]

DECISION_LOG_VERSION = 1
DecisionType: TypeAlias = Literal[
    "turn_ended", "speech_interrupted", "tool_ran", "transition_fired", "error", "session_closed"
]
_NUMBER = (int, float)
REQUIRED_DATA: Mapping[str, Mapping[str, tuple[type, ...]]] = {
    "turn_ended": {"kind": (str,), "started_at": _NUMBER},
    "speech_interrupted": {"started_at": _NUMBER},
    "tool_ran": {"tool": (str,), "call_id": (str,), "outcome": (str,), "latency": _NUMBER},
    "transition_fired": {"from_agent": (str, type(None)), "to_agent": (str,), "trigger": (str,)},
    "error": {"source": (str,), "error_type": (str,)},
    "session_closed": {},
}
_MAX_LINE = 1 << 20


class DecisionLogFormatError(ProtocolError):
    """A decision-log line does not parse; ``line_number`` (1-based) when known."""

    def __init__(self, message: str, *, line_number: int | None = None) -> None:
        super().__init__(message if line_number is None else f"line {line_number}: {message}")
        self.line_number = line_number


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One decision. ``data``: ids, codes, numbers; ``content``: user content only."""

    type: DecisionType
    at: float
    session_id: str
    turn_id: str | None = None
    speech_id: str | None = None
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    content: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": DECISION_LOG_VERSION,
                "type": self.type,
                "at": self.at,
                "session_id": self.session_id,
                "turn_id": self.turn_id,
                "speech_id": self.speech_id,
                "reason": self.reason,
                "data": dict(self.data),
                "content": dict(self.content),
            },
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )


class TextSink(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class DecisionLog:
    """Writes decision records of one session to a text sink, one line each.

    Every method is synchronous and never a checkpoint; each returns the record.
    """

    def __init__(
        self,
        sink: TextSink,
        session_id: str,
        *,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._sink = sink
        self.session_id = session_id
        self._clock = clock

    def write(self, record: DecisionRecord) -> DecisionRecord:
        self._sink.write(record.to_json() + "\n")
        self._sink.flush()
        return record

    def _record(self, type_: DecisionType, **fields: Any) -> DecisionRecord:
        return self.write(
            DecisionRecord(type=type_, at=self._clock(), session_id=self.session_id, **fields)
        )

    def turn_ended(
        self,
        turn_id: str,
        *,
        kind: Literal["user", "agent"],
        started_at: float,
        reason: str,
        agent: str | None = None,
        speech_id: str | None = None,
    ) -> DecisionRecord:
        """``reason``: ``end_of_utterance``, ``completed``, ``interrupted``, ``error``, …"""
        data: dict[str, Any] = {"kind": kind, "started_at": started_at}
        if agent is not None:
            data["agent"] = agent
        return self._record(
            "turn_ended", turn_id=turn_id, speech_id=speech_id, reason=reason, data=data
        )

    def speech_interrupted(
        self,
        speech_id: str,
        *,
        turn_id: str | None,
        started_at: float,
        reason: str,
        heard_text: str | None = None,
    ) -> DecisionRecord:
        """``reason``: ``user_barge_in``, ``handoff``, ``session_closed``, ``error``, …"""
        content = {} if heard_text is None else {"heard_text": heard_text}
        return self._record(
            "speech_interrupted",
            turn_id=turn_id,
            speech_id=speech_id,
            reason=reason,
            data={"started_at": started_at},
            content=content,
        )

    def tool_ran(
        self,
        *,
        turn_id: str | None,
        call_id: str,
        tool: str,
        outcome: str,
        latency: float,
        arguments: str | None = None,
        output: str | None = None,
    ) -> DecisionRecord:
        """``outcome``: ``ok``, ``error``, ``cancelled``, ``replayed`` (from the journal)."""
        content = {k: v for k, v in (("arguments", arguments), ("output", output)) if v is not None}
        data = {"tool": tool, "call_id": call_id, "outcome": outcome, "latency": latency}
        return self._record("tool_ran", turn_id=turn_id, reason=outcome, data=data, content=content)

    def transition_fired(
        self, *, from_agent: str | None, to_agent: str, trigger: str, turn_id: str | None = None
    ) -> DecisionRecord:
        data = {"from_agent": from_agent, "to_agent": to_agent, "trigger": trigger}
        return self._record("transition_fired", turn_id=turn_id, reason=trigger, data=data)

    def error(
        self, *, source: str, error_type: str, reason: str, turn_id: str | None = None
    ) -> DecisionRecord:
        """``source``: ``llm``/``stt``/``tts``/``tool``/…; ``reason`` a stable code."""
        data = {"source": source, "error_type": error_type}
        return self._record("error", turn_id=turn_id, reason=reason, data=data)

    def session_closed(self, *, reason: str) -> DecisionRecord:
        return self._record("session_closed", reason=reason)


@asynccontextmanager
async def open_decision_log(path: str | Path, session_id: str) -> AsyncIterator[DecisionLog]:
    """Append a session's decisions to ``path``; the file is closed on exit (shielded)."""
    stream = await trio.to_thread.run_sync(lambda: open(path, "a", encoding="utf-8"))  # noqa: SIM115  # closed below
    try:
        yield DecisionLog(stream, session_id)
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(5.0):
            await trio.to_thread.run_sync(stream.close)


_TOP_KEYS = frozenset(
    {"v", "type", "at", "session_id", "turn_id", "speech_id", "reason", "data", "content"}
)


def parse_decision_record(line: str | bytes, *, line_number: int | None = None) -> DecisionRecord:
    """Parse and validate one line; raises :class:`DecisionLogFormatError` only."""
    if len(line) > _MAX_LINE:
        raise DecisionLogFormatError("decision record is too long", line_number=line_number)
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        raw = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecisionLogFormatError(
            "decision record is not UTF-8 JSON with finite numbers", line_number=line_number
        ) from exc
    problem = _problem(raw)
    if problem is not None:
        raise DecisionLogFormatError(problem, line_number=line_number)
    return DecisionRecord(
        type=raw["type"],
        at=float(raw["at"]),
        session_id=raw["session_id"],
        turn_id=raw["turn_id"],
        speech_id=raw["speech_id"],
        reason=raw["reason"],
        data=raw["data"],
        content=raw["content"],
    )


def _problem(raw: Any) -> str | None:
    """What is wrong with a decoded record, or None."""
    if not isinstance(raw, dict) or set(raw) != _TOP_KEYS:
        return "decision record has missing or unknown fields"
    if raw["v"] != DECISION_LOG_VERSION or isinstance(raw["v"], bool):
        return "unsupported decision record version"
    kind = raw["type"]
    if not isinstance(kind, str) or kind not in REQUIRED_DATA:
        return "unknown decision type"
    if not isinstance(raw["at"], _NUMBER) or isinstance(raw["at"], bool):
        return "decision record time is not a number"
    if not isinstance(raw["session_id"], str):
        return "decision record session_id is not a string"
    for key in ("turn_id", "speech_id", "reason"):
        if raw[key] is not None and not isinstance(raw[key], str):
            return f"decision record {key} is not a string"
    data = raw["data"]
    if not isinstance(data, dict) or not isinstance(raw["content"], dict):
        return "decision record data/content are not objects"
    for key, types in REQUIRED_DATA[kind].items():
        value = data.get(key, _MISSING)
        if not isinstance(value, types) or isinstance(value, bool):
            return f"{kind} record needs data.{key}"
    if kind == "speech_interrupted" and raw["speech_id"] is None:
        return "speech_interrupted record needs speech_id"
    return None


_MISSING = object()


def read_decision_log(lines: Iterable[str | bytes]) -> list[DecisionRecord]:
    """Parse every non-blank line (1-based numbers in errors)."""
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append(parse_decision_record(line, line_number=number))
    return records


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value
