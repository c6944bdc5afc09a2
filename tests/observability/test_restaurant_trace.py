"""The restaurant example, spoken on fakes, traced end to end; its timeline in Chromium."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import trio
import trio.testing

from trioagents.observability import read_decision_log, render_timeline_html

from .restaurant_trace import restaurant_records, run_restaurant_call
from .test_timeline import parse, run_chromium, with_class


async def test_the_restaurant_call_is_traced(autojump_clock: trio.testing.MockClock) -> None:
    sink = io.StringIO()
    handoffs, metrics = await run_restaurant_call(sink)
    assert handoffs == ["InformationAgent", "ConfirmationAgent", "DoneAgent"]
    records = read_decision_log(sink.getvalue().splitlines())
    [cut] = [r for r in records if r.type == "speech_interrupted"]
    assert cut.reason == "user_barge_in"
    agents = [r.data.get("agent") for r in records if r.type == "turn_ended"]
    assert agents[0] == "GreeterAgent"
    assert agents[-1] == "DoneAgent"
    assert {r.data["tool"] for r in records if r.type == "tool_ran"} >= {
        "start_booking",
        "details_complete",
        "confirm",
    }
    assert records[-1].type == "session_closed"
    text = metrics.render_prometheus()
    assert 'trioagents_handoffs_total{outcome="succeeded"} 3' in text
    assert 'trioagents_tts_ttfb_seconds_count{provider="fake-tts"}' in text
    assert "trioagents_eou_delay_seconds_count 4" in text


def test_restaurant_timeline_page_shows_turns_and_handoffs() -> None:
    records = restaurant_records()
    doc = parse(render_timeline_html(records))
    turns = [r for r in records if r.type == "turn_ended"]
    assert len(with_class(doc, "turn")) == len(turns)
    assert len(with_class(doc, "interrupted")) == 1
    text = "".join(doc.text)
    for agent in ("InformationAgent", "ConfirmationAgent", "DoneAgent"):
        assert agent in text


@pytest.mark.interop
def test_restaurant_timeline_in_headless_chromium(tmp_path: Path) -> None:
    records = restaurant_records()
    page = tmp_path / "restaurant.html"
    page.write_text(render_timeline_html(records), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert 'data-ready="1"' in dom  # the inline script ran to the end
    assert "ConfirmationAgent" in dom
    doc = parse(dom)
    assert len(with_class(doc, "turn")) == len([r for r in records if r.type == "turn_ended"])
    assert len(with_class(doc, "interrupted")) == 1
    shot = tmp_path / "shot.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,900", page.as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a drawn page, not a blank one
