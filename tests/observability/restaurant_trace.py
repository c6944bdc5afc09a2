"""The restaurant example spoken on fake providers, traced into a decision log.

Used by the tests, and by ``python -m tests.observability.restaurant_trace OUT.png``
to regenerate ``docs/trace-restaurant.png`` (needs chromium).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import trio
import trio.testing

from examples.restaurant_booking.main import RULES, WORKFLOW, build_session
from trioagents.observability import (
    DecisionLog,
    DecisionRecord,
    MetricsRecorder,
    SessionTelemetry,
    read_decision_log,
    render_timeline_html,
    serve_session_telemetry,
)
from trioagents.providers import ScriptedLLM
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    Timeline,
    speech,
)

CALLER = [
    speech(4.0, 5.8, "Hi, I'd like to book a table"),
    speech(10.0, 12.0, "Ada, 4 people at 7pm"),
    speech(13.5, 14.5, "actually wait"),  # a barge-in on the confirmation question
    speech(19.0, 19.6, "yes"),
]
END = 26.0


async def run_restaurant_call(sink: io.StringIO) -> tuple[list[str], MetricsRecorder]:
    """Play the call under virtual time; decisions go to ``sink``. Returns the handoffs."""
    timeline = Timeline(CALLER, tail=END + 5.0)
    audio_in = FakeAudioInput(timeline)
    session, agent = build_session(
        ScriptedLLM(RULES), stt=FakeSTT(timeline), tts=FakeTTS(ttfb=0.15), vad=FakeVAD()
    )
    metrics = MetricsRecorder()
    telemetry = SessionTelemetry(
        decisions=DecisionLog(sink, "ses_restaurant"),
        metrics=metrics,
        provider_names={"llm": "scripted-llm", "tts": "fake-tts"},
    )
    session.add_observer(telemetry)
    events = session.subscribe()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_session_telemetry, events, telemetry)
        async with session.start(
            agent, audio_input=audio_in, audio_output=FakeAudioOutput(), workflow=WORKFLOW
        ):
            await trio.sleep_until(audio_in.to_clock(END))
    return _transitions(sink), metrics


def _transitions(sink: io.StringIO) -> list[str]:
    records = read_decision_log(sink.getvalue().splitlines())
    return [str(r.data["to_agent"]) for r in records if r.type == "transition_fired"]


def restaurant_records() -> list[DecisionRecord]:
    sink = io.StringIO()
    trio.run(run_restaurant_call, sink, clock=trio.testing.MockClock(autojump_threshold=0))
    return read_decision_log(sink.getvalue().splitlines())


def main(argv: list[str]) -> int:
    import tempfile

    from tests.observability.test_timeline import run_chromium

    out = Path(argv[0]).resolve()
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "restaurant.html"
        page.write_text(render_timeline_html(restaurant_records()), encoding="utf-8")
        run_chromium(Path(scratch), f"--screenshot={out}", "--window-size=1400,900", page.as_uri())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
