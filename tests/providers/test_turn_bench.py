"""bench/turn_detection.py's decision model: when the session would commit a turn.

The benchmark prints figures; these check that its replay of the session's
endpointing (``simulate``) counts a cut, a cancelled wait, the max delay and the
detector timeout the way the session does. No audio, no model, no clock.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench._turn_corpus import Clip
from bench.turn_detection import Config, Segment, Verdict, simulate
from trioagents.voice import SessionOptions

# "a table for ... four people": words end at 1.0 s (for) and 3.0 s (people)
CLIP = Clip("t", "a table for four people", np.zeros(16000, np.float32),
            (0.4, 0.7, 1.0, 2.6, 3.0), 1.0, 1.2)  # fmt: skip
PAUSED = [Segment(0.35, 1.0, 1.2), Segment(2.25, 3.0, 3.2)]  # resumes at 2.2 (+ 0.05)
DETECTOR = Config("d", 0.2, SessionOptions(), "d")


def answers(*verdicts: Verdict):  # type: ignore[no-untyped-def]
    return list(verdicts).__getitem__


def test_a_fixed_delay_shorter_than_the_pause_cuts_the_user_off() -> None:
    outcome = simulate(CLIP, PAUSED, None, Config("none", 0.2, SessionOptions()))
    assert outcome.committed_at == pytest.approx(1.5)  # 1.0 + min_endpointing_delay 0.5
    assert outcome.cut(CLIP)


def test_an_unlikely_verdict_waits_the_max_delay_and_speech_cancels_it() -> None:
    verdicts = answers(Verdict(0.05, 0.04), Verdict(0.9, 0.04))
    outcome = simulate(CLIP, PAUSED, verdicts, DETECTOR)
    assert not outcome.cut(CLIP)
    assert outcome.committed_at == pytest.approx(3.3)  # 3.0 + 0.3 (likely done)
    assert outcome.probability == 0.9


def test_the_commit_waits_for_the_detector_but_not_past_its_timeout() -> None:
    slow = simulate(CLIP, PAUSED[1:], answers(Verdict(0.9, 0.2)), DETECTOR)
    assert slow.committed_at == pytest.approx(3.4)  # ended 3.2 + answered after 0.2 s
    late = simulate(CLIP, PAUSED[1:], answers(Verdict(0.05, 0.9)), DETECTOR)
    assert late.probability is None  # no verdict after 0.5 s: VAD endpointing (0.5 s)
    assert late.committed_at == pytest.approx(3.7)


def test_no_wait_starts_before_a_word_was_heard() -> None:
    early = [Segment(0.1, 0.2, 0.4), *PAUSED]
    likely = Verdict(0.9, 0.0)
    outcome = simulate(CLIP, early, answers(likely, likely, likely), DETECTOR)
    assert outcome.committed_at == pytest.approx(1.3)  # after "for", not after 0.2 s
