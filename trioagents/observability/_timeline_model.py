"""Decision records → the timeline of one session (turns, speech, tools, handoffs).

Pure data shaping, no HTML: :mod:`._timeline` draws what this module computes.
Durations come from the records themselves (``started_at`` of turns and speech,
``latency`` of tools); a completed agent speech is the ``speech_id`` of an agent
turn that was not interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ._decision_log import DecisionRecord

__all__ = ["Bar", "Marker", "Timeline", "build_timeline"]


@dataclass(frozen=True, slots=True)
class Bar:
    lane: str
    start: float
    end: float
    label: str
    css: str
    turn_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class Marker:
    lane: str
    at: float
    label: str
    css: str
    turn_id: str | None
    detail: str


@dataclass(slots=True)
class Timeline:
    session_id: str
    start: float
    end: float
    bars: list[Bar] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    tools: list[DecisionRecord] = field(default_factory=list)
    turn_labels: dict[str, str] = field(default_factory=dict)
    records: list[DecisionRecord] = field(default_factory=list)


def _num(record: DecisionRecord, key: str) -> float:
    return float(record.data[key])


def build_timeline(records: Sequence[DecisionRecord]) -> Timeline:
    """Shape the records of one session (raises ``ValueError`` if none or mixed)."""
    if not records:
        raise ValueError("no decision records to draw")
    sessions = {r.session_id for r in records}
    if len(sessions) != 1:
        raise ValueError("records of several sessions; select one")
    ordered = sorted(records, key=lambda r: r.at)
    starts = [_num(r, "started_at") for r in ordered if "started_at" in r.data]
    starts += [r.at - _num(r, "latency") for r in ordered if r.type == "tool_ran"]
    timeline = Timeline(
        session_id=ordered[0].session_id,
        start=min([r.at for r in ordered] + starts),
        end=max(r.at for r in ordered),
        records=ordered,
    )
    interrupted = {r.speech_id for r in ordered if r.type == "speech_interrupted"}
    turn_number = 0
    for record in ordered:
        if record.type == "turn_ended":
            turn_number += 1
            _add_turn(timeline, record, turn_number, interrupted)
        elif record.type == "speech_interrupted":
            heard = record.content.get("heard_text")
            timeline.bars.append(
                Bar(
                    "speech",
                    _num(record, "started_at"),
                    record.at,
                    f"✕ {record.reason}",
                    "speech interrupted",
                    record.turn_id,
                    f"speech {record.speech_id} interrupted: {record.reason}"
                    + (f" — heard: {heard}" if isinstance(heard, str) else ""),
                )
            )
        elif record.type == "tool_ran":
            _add_tool(timeline, record)
        else:
            _add_marker(timeline, record)
    return timeline


def _add_turn(
    timeline: Timeline, record: DecisionRecord, number: int, interrupted: set[str | None]
) -> None:
    kind = str(record.data["kind"])
    agent = record.data.get("agent")
    who = f"{kind} ({agent})" if isinstance(agent, str) else kind
    label = f"T{number} {who}"
    if record.turn_id is not None:
        timeline.turn_labels[record.turn_id] = label
    start = _num(record, "started_at")
    detail = f"turn {record.turn_id}: {who}, ended: {record.reason}"
    short = f"T{number} {agent}" if isinstance(agent, str) else f"T{number}"
    timeline.bars.append(
        Bar(
            f"{kind}_turns",
            start,
            record.at,
            f"{short} · {record.reason}",
            f"turn {kind}",
            record.turn_id,
            detail,
        )
    )
    if kind == "agent" and record.speech_id and record.speech_id not in interrupted:
        timeline.bars.append(
            Bar(
                "speech",
                start,
                record.at,
                "✓ spoken",
                "speech done",
                record.turn_id,
                f"speech {record.speech_id} played to the end",
            )
        )


def _add_tool(timeline: Timeline, record: DecisionRecord) -> None:
    tool, outcome = str(record.data["tool"]), str(record.data["outcome"])
    latency = _num(record, "latency")
    timeline.tools.append(record)
    timeline.bars.append(
        Bar(
            "tools",
            record.at - latency,
            record.at,
            f"{tool} · {outcome}",
            f"tool {outcome}",
            record.turn_id,
            f"tool {tool} ({record.data['call_id']}): {outcome} in {latency:.3f}s",
        )
    )


def _add_marker(timeline: Timeline, record: DecisionRecord) -> None:
    if record.type == "transition_fired":
        source = record.data["from_agent"] or "start"
        label = f"{source} → {record.data['to_agent']}"
        timeline.markers.append(
            Marker(
                "handoffs",
                record.at,
                label,
                "handoff",
                record.turn_id,
                f"handoff {label} (trigger: {record.data['trigger']})",
            )
        )
    elif record.type == "error":
        label = f"{record.data['source']}: {record.reason}"
        timeline.markers.append(
            Marker(
                "errors",
                record.at,
                label,
                "error",
                record.turn_id,
                f"error in {record.data['source']} ({record.data['error_type']}): {record.reason}",
            )
        )
    else:
        timeline.markers.append(
            Marker(
                "errors",
                record.at,
                f"closed: {record.reason}",
                "closed",
                None,
                f"session closed: {record.reason}",
            )
        )
