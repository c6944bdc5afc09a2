"""The demo's reporter: one printed line per thing that happened, then a summary.

Everything is reported from Trio tasks of one process (the caller, the agent's
session events, the demo's own steps), so the reporter is a plain object with
synchronous methods: printing is the only effect, times come from
``trio.current_time()`` relative to the demo's start.

Two latencies are shown per turn, measured by different parties on purpose:

* ``heard after``: the simulated caller's end of speech (its last frame left its
  track) → the first agent audio it received (energy onset on the agent's track).
  This includes both Opus legs through the dev server and the jitter buffers;
  it is what a person on the call would experience.
* ``metrics``: the agent session's own ``TurnMetricsCollected`` event (end of
  turn delay, LLM time to first token, TTS time to first byte, end-to-end from
  the user's last speech to the first frame at the agent's sink).

A *false cut* is a user turn the agent committed while the caller was still
saying its line (between the line's first and last frame): the agent took a
pause mid-sentence for the end of the turn.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from ..voice import TurnMetricsCollected

__all__ = ["DemoReporter", "Turn"]


@dataclass(slots=True)
class Turn:
    """One exchange: what the caller said (``None`` for the greeting) and the answer."""

    caller_line: str | None
    heard_as: str | None = None
    reply: str | None = None
    latency: float | None = None
    caller_heard: str | None = None  # the caller's transcription of the reply's audio
    metrics: TurnMetricsCollected | None = None


@dataclass(slots=True)
class DemoReporter:
    emit: Callable[[str], None] = print
    started_at: float = field(default_factory=trio.current_time)
    turns: list[Turn] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    job_status: str = "unknown"
    user_turns_at: list[float] = field(default_factory=list)  # when the agent committed each
    false_cuts: int = 0

    def _line(self, text: str) -> None:
        self.emit(f"{trio.current_time() - self.started_at:6.2f}s  {text}")

    def step(self, text: str) -> None:
        """A step of the demo itself (server up, worker registered, ...)."""
        self._line(text)

    def note(self, text: str) -> None:
        """What the demo used or fell back to; printed now and in the summary."""
        if text not in self.notes:
            self.notes.append(text)
            self._line(f"using {text}")

    def caller_said(self, line: str, how: str) -> None:
        self.turns.append(Turn(line))
        self._line(f"CALLER  {line}   ({how})")

    def agent_heard(self, text: str) -> None:
        """A final transcript of the caller (sent back as lk.transcription); a line
        said with pauses comes in pieces, joined."""
        if self.turns and self.turns[-1].caller_line is not None:
            turn = self.turns[-1]
            turn.heard_as = text if turn.heard_as is None else f"{turn.heard_as} {text}"
        self._line(f"        (agent heard: {text!r})")

    def user_turn_committed(self, at: float) -> None:
        """The agent's session recorded a user turn (its ``ConversationItemAdded``)."""
        self.user_turns_at.append(at)

    def caller_line_ended(self, started: float, ended: float) -> None:
        """The caller's line played from ``started`` to ``ended``: count false cuts."""
        cuts = sum(1 for at in self.user_turns_at if started <= at < ended)
        if cuts:
            self.false_cuts += cuts
            self._line(f"        FALSE CUT: the agent ended the caller's turn mid-line ({cuts}x)")

    def agent_said(self, text: str, latency: float | None) -> None:
        if not self.turns or self.turns[-1].reply is not None:
            self.turns.append(Turn(None))
        turn = self.turns[-1]
        turn.reply, turn.latency = text, latency
        shown = f"   [heard after {latency * 1000:.0f} ms]" if latency is not None else ""
        self._line(f"AGENT   {text}{shown}")

    def caller_heard(self, reply: int, text: str) -> None:
        """What the caller transcribed of the agent's ``reply``-th reply (offline STT)."""
        answered = [turn for turn in self.turns if turn.reply is not None]
        if reply >= len(answered):
            return
        answered[reply].caller_heard = text
        self._line(f"agent said: {answered[reply].reply}")
        self._line(f"        (caller heard: {text!r})")

    def metrics(self, event: TurnMetricsCollected) -> None:
        for turn in reversed(self.turns):
            if turn.metrics is None and turn.caller_line is not None:
                turn.metrics = event
                break
        parts = {
            "end of turn": event.end_of_utterance_delay,
            "llm ttft": event.llm_ttft,
            "tts ttfb": event.tts_ttfb,
            "e2e": event.e2e_latency,
        }
        shown = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items() if v is not None)
        if shown:
            self._line(f"        metrics: {shown}")

    def summary(self) -> list[str]:
        """The closing lines (also emitted)."""
        answered = [t for t in self.turns if t.caller_line is not None and t.reply is not None]
        latencies = sorted(t.latency for t in answered if t.latency is not None)
        lines = ["", "== summary"]
        lines.append(f"turns answered: {len(answered)} of {self._caller_turns()} caller lines")
        if latencies:
            lines.append(
                "caller-measured latency (end of speech → first agent audio): "
                f"median {statistics.median(latencies) * 1000:.0f} ms, "
                f"min {latencies[0] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
            )
        e2e = sorted(
            t.metrics.e2e_latency
            for t in answered
            if t.metrics is not None and t.metrics.e2e_latency is not None
        )
        if e2e:
            lines.append(f"session e2e latency: median {statistics.median(e2e) * 1000:.0f} ms")
        lines.append(f"false cuts (turn taken while the caller was mid-line): {self.false_cuts}")
        share = _words_heard(self.turns)
        if share is not None:
            lines.append(f"agent words the caller heard (its own STT): {share * 100:.0f}%")
        lines.append(f"job status on the dev server: {self.job_status}")
        lines += [f"used {note}" for note in self.notes]
        lines.append(f"total {trio.current_time() - self.started_at:.1f} s")
        for line in lines:
            self.emit(line)
        return lines

    def _caller_turns(self) -> int:
        return sum(1 for t in self.turns if t.caller_line is not None)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _words_heard(turns: list[Turn]) -> float | None:
    """Share of the agent's reply words found in what the caller transcribed."""
    said = heard = 0
    for turn in turns:
        if turn.reply is None or turn.caller_heard is None:
            continue
        transcribed = set(_words(turn.caller_heard))
        words = _words(turn.reply)
        said += len(words)
        heard += sum(1 for word in words if word in transcribed)
    return heard / said if said else None
