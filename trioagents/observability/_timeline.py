"""``render_timeline_html``: one session's decisions as a self-contained HTML page.

Lanes for turns, speech (interrupted speech marked, with the reason), tools and
handoffs/errors on one time axis; below, the tool-call chain (turn → tool →
arguments → outcome → latency → output) and the full decision list. Inline CSS and a
few lines of inline JS (click an item to highlight its turn; a switch hides user
content before sharing a screenshot); no network, no external assets.

Every string from a record is HTML-escaped; nothing from a record reaches the
script (it only reads ``data-`` attributes written by us).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ._decision_log import DecisionRecord
from ._timeline_model import Bar, Marker, Timeline, build_timeline

__all__ = ["render_timeline_html"]

_LANES = (
    ("user_turns", "User turns"),
    ("agent_turns", "Agent turns"),
    ("speech", "Agent speech"),
    ("tools", "Tools"),
)
_MARKER_LANES = (("handoffs", "Handoffs"), ("errors", "Errors / close"))

_CSS = """
:root{--bg:#fbfbfd;--ink:#1d2330;--muted:#667085;--line:#e4e7ec;--user:#3b82f6;
--agent:#8b5cf6;--ok:#16a34a;--bad:#dc2626;--tool:#0d9488;--warn:#d97706}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{padding:18px 28px;border-bottom:1px solid var(--line);background:#fff;display:flex;
gap:24px;align-items:baseline;flex-wrap:wrap}h1{font-size:18px;margin:0}
.muted{color:var(--muted)}.stats span{margin-right:16px}main{padding:20px 28px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 18px;
margin-bottom:20px}h2{font-size:15px;margin:0 0 12px}
.lane{display:grid;grid-template-columns:130px 1fr;align-items:center;min-height:34px;
border-top:1px dashed var(--line)}.lane:first-of-type{border-top:none}
.lane-name{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;
letter-spacing:.04em}.track{position:relative;height:34px;margin-right:110px}
.bar{position:absolute;top:6px;height:22px;border-radius:5px;color:#fff;font-size:11.5px;
padding:3px 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:pointer;
min-width:4px;box-shadow:0 1px 1px rgba(0,0,0,.08)}
.turn.user{background:var(--user)}.turn.agent{background:var(--agent)}
.speech.done{background:var(--ok)}.speech.interrupted{background:repeating-linear-gradient(
135deg,var(--bad),var(--bad) 6px,#ef4444 6px,#ef4444 12px)}
.tool.ok,.tool.replayed{background:var(--tool)}.tool.error{background:var(--warn)}
.tool.cancelled{background:#98a2b3}
.marker{position:absolute;top:4px;transform:translateX(-7px);cursor:pointer;font-size:11.5px;
white-space:nowrap}.marker i{display:inline-block;width:14px;height:14px;
transform:rotate(45deg);margin-right:5px;vertical-align:-2px}
.handoff i{background:var(--warn)}.error i{background:var(--bad)}.closed i{background:#475467}
.axis{display:grid;grid-template-columns:130px 1fr}.ticks{position:relative;height:18px;
border-top:1px solid var(--ink);margin-right:110px}
.tick{position:absolute;top:2px;font-size:11px;white-space:nowrap;color:var(--muted);
transform:translateX(-50%)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:6px 8px;
border-bottom:1px solid var(--line);vertical-align:top}th{color:var(--muted);font-weight:600;
font-size:12px}tr.turn-head td{background:#f2f4f7;font-weight:600}
td code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;
word-break:break-word}.pill{display:inline-block;padding:1px 8px;border-radius:10px;
font-size:12px;color:#fff}.pill.ok,.pill.replayed{background:var(--tool)}
.pill.error{background:var(--warn)}.pill.cancelled{background:#98a2b3}
.hl{outline:3px solid #facc15;outline-offset:1px}tr.hl td{background:#fef9c3}
body.hide-content .content{filter:blur(5px)}label.switch{font-size:13px;cursor:pointer}
"""

_JS = """
document.addEventListener('click', function (ev) {
  var el = ev.target.closest('[data-turn]');
  document.querySelectorAll('.hl').forEach(function (x) { x.classList.remove('hl'); });
  if (!el || !el.dataset.turn) return;
  document.querySelectorAll('[data-turn="' + CSS.escape(el.dataset.turn) + '"]')
    .forEach(function (x) { x.classList.add('hl'); });
});
document.getElementById('hide-content').addEventListener('change', function (ev) {
  document.body.classList.toggle('hide-content', ev.target.checked);
});
document.getElementById('item-count').textContent =
  document.querySelectorAll('.bar, .marker').length + ' timeline items';
document.body.dataset.ready = '1';
"""


def render_timeline_html(records: Sequence[DecisionRecord], *, title: str | None = None) -> str:
    """Render one session's records; raises ``ValueError`` for none or several sessions."""
    timeline = build_timeline(records)
    heading = title or f"Session {timeline.session_id}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{escape(heading)}</title><style>{_CSS}</style></head><body>",
        _header(timeline, heading),
        "<main>",
        _timeline_section(timeline),
        _tool_chain_section(timeline),
        _decisions_section(timeline),
        f"</main><script>{_JS}</script></body></html>",
    ]
    return "".join(parts)


def _header(timeline: Timeline, heading: str) -> str:
    counts = {
        "turns": sum(1 for r in timeline.records if r.type == "turn_ended"),
        "interruptions": sum(1 for r in timeline.records if r.type == "speech_interrupted"),
        "tool calls": len(timeline.tools),
        "handoffs": sum(1 for r in timeline.records if r.type == "transition_fired"),
        "errors": sum(1 for r in timeline.records if r.type == "error"),
    }
    stats = "".join(f"<span><b>{n}</b> {escape(k)}</span>" for k, n in counts.items())
    span = timeline.end - timeline.start
    return (
        f"<header><h1>{escape(heading)}</h1><div class='stats'>{stats}"
        f"<span class='muted'>{span:.2f} s · <span id='item-count'></span></span></div>"
        "<label class='switch'><input type='checkbox' id='hide-content'> hide user content"
        "</label></header>"
    )


def _x(timeline: Timeline, at: float) -> float:
    span = max(timeline.end - timeline.start, 1e-9)
    return 100.0 * (at - timeline.start) / span


def _turn_attr(turn_id: str | None) -> str:
    return f" data-turn='{escape(turn_id, quote=True)}'" if turn_id else ""


def _bar(timeline: Timeline, bar: Bar) -> str:
    left = _x(timeline, bar.start)
    width = max(_x(timeline, bar.end) - left, 0.3)
    return (
        f"<div class='bar {escape(bar.css)}' style='left:{left:.3f}%;width:{width:.3f}%'"
        f"{_turn_attr(bar.turn_id)} title='{escape(bar.detail, quote=True)}'>"
        f"{escape(bar.label)}</div>"
    )


def _marker(timeline: Timeline, marker: Marker) -> str:
    return (
        f"<div class='marker {escape(marker.css)}' style='left:{_x(timeline, marker.at):.3f}%'"
        f"{_turn_attr(marker.turn_id)} title='{escape(marker.detail, quote=True)}'>"
        f"<i></i>{escape(marker.label)}</div>"
    )


def _timeline_section(timeline: Timeline) -> str:
    rows = []
    for lane, name in _LANES:
        items = "".join(_bar(timeline, b) for b in timeline.bars if b.lane == lane)
        rows.append(_lane(name, items))
    for lane, name in _MARKER_LANES:
        items = "".join(_marker(timeline, m) for m in timeline.markers if m.lane == lane)
        rows.append(_lane(name, items))
    return f"<section><h2>Timeline</h2>{''.join(rows)}{_axis(timeline)}</section>"


def _lane(name: str, items: str) -> str:
    return (
        f"<div class='lane'><div class='lane-name'>{escape(name)}</div>"
        f"<div class='track'>{items}</div></div>"
    )


def _axis(timeline: Timeline) -> str:
    span = timeline.end - timeline.start
    step = _nice_step(span / 8) if span > 0 else 1.0
    ticks: list[str] = []
    t = 0.0
    while t <= span + 1e-9 and len(ticks) < 50:
        left = _x(timeline, timeline.start + t)
        ticks.append(f"<span class='tick' style='left:{left:.3f}%'>{t:g} s</span>")
        t += step
    return f"<div class='axis'><div></div><div class='ticks'>{''.join(ticks)}</div></div>"


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _tool_chain_section(timeline: Timeline) -> str:
    rows, current = [], object()
    for record in timeline.tools:
        if record.turn_id != current:
            current = record.turn_id
            label = timeline.turn_labels.get(record.turn_id or "", record.turn_id or "no turn")
            rows.append(
                f"<tr class='turn-head'{_turn_attr(record.turn_id)}><td colspan='6'>"
                f"{escape(label)}</td></tr>"
            )
        outcome = str(record.data["outcome"])
        rows.append(
            f"<tr{_turn_attr(record.turn_id)}><td>{escape(str(record.data['tool']))}"
            f"<div class='muted'>{escape(str(record.data['call_id']))}</div></td>"
            f"<td class='content'><code>{_content(record, 'arguments')}</code></td>"
            f"<td><span class='pill {escape(outcome)}'>{escape(outcome)}</span></td>"
            f"<td>{float(record.data['latency']) * 1000:.0f} ms</td>"
            f"<td class='content'><code>{_content(record, 'output')}</code></td>"
            f"<td class='muted'>{record.at - timeline.start:.2f} s</td></tr>"
        )
    if not rows:
        rows.append("<tr><td colspan='6' class='muted'>No tool calls.</td></tr>")
    head = "".join(
        f"<th>{name}</th>" for name in ("Tool", "Arguments", "Outcome", "Latency", "Output", "At")
    )
    head = f"<tr>{head}</tr>"
    return f"<section><h2>Tool-call chain</h2><table>{head}{''.join(rows)}</table></section>"


def _content(record: DecisionRecord, key: str) -> str:
    value = record.content.get(key)
    return "" if value is None else escape(value if isinstance(value, str) else repr(value))


def _decisions_section(timeline: Timeline) -> str:
    rows = []
    for record in timeline.records:
        ids = " ".join(x for x in (record.turn_id, record.speech_id) if x)
        rows.append(
            f"<tr{_turn_attr(record.turn_id)}><td>{record.at - timeline.start:.2f} s</td>"
            f"<td>{escape(record.type)}</td><td>{escape(record.reason or '')}</td>"
            f"<td class='muted'>{escape(ids)}</td></tr>"
        )
    head = "<tr><th>At</th><th>Decision</th><th>Reason</th><th>Turn / speech</th></tr>"
    return f"<section><h2>Decisions</h2><table>{head}{''.join(rows)}</table></section>"
