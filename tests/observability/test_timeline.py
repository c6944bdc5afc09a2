"""The HTML timeline and the ``trace`` subcommand; the page is checked in headless Chromium."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.system_packages import APT_WAIT, ensure_debian_binary
from trioagents.observability import DecisionLog, render_timeline_html, trace_main

from .sample_session import sample_records, write_sample_session


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def with_class(doc: _Collector, css: str) -> list[dict[str, str | None]]:
    return [a for _, a in doc.elements if css in (a.get("class") or "").split()]


def test_page_shows_turns_speech_tools_and_handoffs() -> None:
    page = render_timeline_html(sample_records())
    doc = parse(page)
    assert len(with_class(doc, "turn")) == 6
    interrupted = with_class(doc, "interrupted")
    assert len(interrupted) == 1
    assert "user_barge_in" in (interrupted[0]["title"] or "")
    assert "two peo" in (interrupted[0]["title"] or "")
    assert len(with_class(doc, "done")) == 2  # speech_1 and speech_3 played out
    assert len(with_class(doc, "tool")) == 3
    assert [a["title"] for a in with_class(doc, "handoff")] == [
        "handoff start → greeter (trigger: session_start)",
        "handoff greeter → billing (trigger: tool:transfer_to_billing)",
    ]
    markers = [a["class"] for a in with_class(doc, "marker")]
    assert markers == ["marker handoff", "marker handoff", "marker error", "marker closed"]
    text = "".join(doc.text)
    assert "T4 agent (billing)" in text  # the tool chain is grouped by turn
    assert "620 ms" in text
    assert "card declined" in text


def test_items_are_positioned_on_one_time_axis() -> None:
    doc = parse(render_timeline_html(sample_records()))
    first_turn = with_class(doc, "turn")[0]
    # turn_1 runs from 100.6 to 102.4 on a 100.0 .. 116.0 axis.
    style = first_turn["style"] or ""
    left, width = (float(v) for v in re.findall(r"([\d.]+)%", style))
    assert left == pytest.approx(100 * 0.6 / 16, abs=1e-3)
    assert width == pytest.approx(100 * 1.8 / 16, abs=1e-3)


def test_record_text_is_escaped_and_page_is_self_contained() -> None:
    sink = io.StringIO()
    log = DecisionLog(sink, "s'<x>", clock=lambda: 1.0)
    log.tool_ran(
        turn_id="t'1",
        call_id="c",
        tool="<script>alert(1)</script>",
        outcome="ok",
        latency=0.5,
        arguments="</code><img src=x onerror=alert(1)>",
        output="https://evil.example/x.js",
    )
    from trioagents.observability import read_decision_log

    page = render_timeline_html(read_decision_log(sink.getvalue().splitlines()))
    assert "<script>alert" not in page
    assert "<img" not in page
    assert page.count("<script>") == 1  # ours only
    doc = parse(page)
    assert not [a for _, a in doc.elements if a.get("src") or a.get("href")]
    assert "<link" not in page
    assert "@import" not in page


def test_mixed_or_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="several sessions"):
        render_timeline_html(sample_records("a") + sample_records("b"))
    with pytest.raises(ValueError, match="no decision"):
        render_timeline_html([])


def test_trace_main_writes_the_page(tmp_path: Path) -> None:
    log = tmp_path / "session.jsonl"
    with log.open("w") as out:
        write_sample_session(out)
    err = io.StringIO()
    assert trace_main([str(log)], stderr=err) == 0
    page = (tmp_path / "session.html").read_text()
    assert "Session ses_demo" in page
    assert trace_main([str(log), "-o", str(tmp_path / "x.html")], stderr=err) == 0
    assert (tmp_path / "x.html").read_text() == page


def test_trace_main_errors(tmp_path: Path) -> None:
    log = tmp_path / "mixed.jsonl"
    with log.open("w") as out:
        write_sample_session(out, "ses_a")
        write_sample_session(out, "ses_b")
    err = io.StringIO()
    assert trace_main([str(log)], stderr=err) == 2
    assert "ses_a, ses_b" in err.getvalue()
    assert trace_main([str(log), "--session", "ses_b", "-o", str(tmp_path / "b.html")]) == 0
    assert trace_main([str(log), "--session", "nope"], stderr=err) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text(log.read_text().splitlines()[0] + "\n{oops}\n")
    err = io.StringIO()
    assert trace_main([str(bad)], stderr=err) == 2
    assert "line 2" in err.getvalue()
    assert trace_main([str(tmp_path / "missing.jsonl")], stderr=err) == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert trace_main([str(empty)], stderr=err) == 2


# Headless Chromium: the page renders, its script runs, no network is needed.


def _chromium() -> str:
    found = shutil.which("chromium-browser")
    if found:
        return found
    try:
        return ensure_debian_binary("chromium", "chromium")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    try:
        subprocess.run(
            ["apt-get", *APT_WAIT, "install", "-y", "chromium"],
            check=True,
            capture_output=True,
            timeout=900,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"chromium missing and apt-get install failed: {exc}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("chromium not on PATH after apt-get install")
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.interop
def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "timeline.html"
    page.write_text(render_timeline_html(sample_records()), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert 'data-ready="1"' in dom  # the inline script ran to the end
    assert "16 timeline items" in dom  # 6 turns + 3 speech + 3 tools + 4 markers
    shot = tmp_path / "shot.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a drawn page, not a blank one
