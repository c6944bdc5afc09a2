"""A realistic multi-agent session written through DecisionLog with a scripted clock.

Used by the tests, and by ``python -m tests.observability.sample_session OUT.jsonl``
to produce the sample behind ``docs/trace-timeline.png``.
"""

from __future__ import annotations

import io
import sys

from trioagents.observability import DecisionLog, DecisionRecord, read_decision_log


class ScriptedClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write_sample_session(sink: io.TextIOBase | io.StringIO, session_id: str = "ses_demo") -> None:
    clock = ScriptedClock()
    log = DecisionLog(sink, session_id, clock=clock)

    def at(t: float) -> float:
        clock.now = 100.0 + t
        return clock.now

    log.transition_fired(from_agent=None, to_agent="greeter", trigger="session_start")
    at(2.4)
    log.turn_ended("turn_1", kind="user", started_at=100.6, reason="end_of_utterance")
    at(4.9)
    log.turn_ended(
        "turn_2",
        kind="agent",
        started_at=102.7,
        reason="completed",
        agent="greeter",
        speech_id="speech_1",
    )
    at(7.0)
    log.turn_ended("turn_3", kind="user", started_at=105.3, reason="end_of_utterance")
    at(7.9)
    log.tool_ran(
        turn_id="turn_4",
        call_id="call_a",
        tool="lookup_booking",
        outcome="ok",
        latency=0.62,
        arguments='{"name": "Ana <b>Lopez</b>"}',
        output='{"booking": "BK-7", "party": 2}',
    )
    at(8.3)
    log.transition_fired(
        from_agent="greeter",
        to_agent="billing",
        trigger="tool:transfer_to_billing",
        turn_id="turn_4",
    )
    at(9.8)
    log.speech_interrupted(
        "speech_2",
        turn_id="turn_4",
        started_at=108.4,
        reason="user_barge_in",
        heard_text="Your booking BK-7 is for two peo",
    )
    log.turn_ended(
        "turn_4",
        kind="agent",
        started_at=107.1,
        reason="interrupted",
        agent="billing",
        speech_id="speech_2",
    )
    at(11.2)
    log.turn_ended("turn_5", kind="user", started_at=109.6, reason="end_of_utterance")
    at(12.6)
    log.tool_ran(
        turn_id="turn_6",
        call_id="call_b",
        tool="charge_card",
        outcome="error",
        latency=1.1,
        arguments='{"amount": 40}',
        output="card declined",
    )
    log.error(source="tool", error_type="ToolError", reason="card_declined", turn_id="turn_6")
    at(13.4)
    log.tool_ran(
        turn_id="turn_6",
        call_id="call_c",
        tool="charge_card",
        outcome="replayed",
        latency=0.01,
        arguments='{"amount": 40, "card": "backup"}',
        output="charged",
    )
    at(15.5)
    log.turn_ended(
        "turn_6",
        kind="agent",
        started_at=111.4,
        reason="completed",
        agent="billing",
        speech_id="speech_3",
    )
    at(16.0)
    log.session_closed(reason="user_hung_up")


def sample_records(session_id: str = "ses_demo") -> list[DecisionRecord]:
    sink = io.StringIO()
    write_sample_session(sink, session_id)
    return read_decision_log(sink.getvalue().splitlines())


if __name__ == "__main__":
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        write_sample_session(out)
