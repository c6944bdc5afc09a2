"""The demo's pure parts: number normalization, tones, the reporter, agent loading."""

from __future__ import annotations

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from trioagents.cli import _main
from trioagents.cli._demo_agent import DEFAULT_AGENT, load_agent_spec
from trioagents.cli._demo_caller import MID_SENTENCE_PAUSE, CallerScript
from trioagents.cli._demo_pipeline import (
    CallerVoice,
    DigitNormalizingSTT,
    ToneTTS,
    choose_agent_pipeline,
    grammar_phrases,
    spoken_form,
    tone_for,
    without_pauses,
    written_form,
)
from trioagents.cli._demo_report import DemoReporter
from trioagents.core import AudioFrame, ConfigurationError, SpeechEvent, SpeechEventType
from trioagents.voice import TurnMetricsCollected


def test_spoken_and_written_forms() -> None:
    assert spoken_form("Ada, 4 people at 7pm") == "Ada, four people at seven pm"
    assert spoken_form("table for 12 at 10 am") == "table for twelve at ten am"
    assert spoken_form("room 42") == "room 42"  # beyond twelve: left alone
    assert written_form("ada four people at seven pm") == "ada 4 people at 7pm"
    assert written_form("seven p m") == "7pm"
    assert written_form("someone at nine") == "someone at 9"


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["ada", "people", "at", "table", "for", "yes"]),
            st.integers(0, 12).map(str),
            st.integers(1, 12).map(lambda h: f"{h}pm"),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_written_form_inverts_spoken_form(words: list[str]) -> None:
    line = " ".join(words)
    assert written_form(spoken_form(line)) == line


class _Recognizer:
    label = "fixed"

    async def recognize(self, frames: object, *, language: str | None = None) -> SpeechEvent:
        return SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT, "two people at eight pm", language)


async def test_digit_normalizing_stt_rewrites_only_the_text() -> None:
    event = await DigitNormalizingSTT(_Recognizer()).recognize([], language="en")
    assert (event.type, event.text, event.language) == (
        SpeechEventType.FINAL_TRANSCRIPT,
        "2 people at 8pm",
        "en",
    )


async def test_tone_tts_beeps_one_per_word_in_20ms_frames() -> None:
    tts = ToneTTS(sample_rate=16000)
    async with tts.synthesize("three short words") as audio:
        frames: list[AudioFrame] = [frame async for frame in audio]
    assert all(f.sample_rate == 16000 and f.samples_per_channel <= 320 for f in frames)
    assert sum(f.duration for f in frames) == pytest.approx(3 * 0.18, abs=0.02)
    assert max(f.rms() for f in frames) > 0.1


def test_text_mode_pipeline_has_no_stt_and_says_so() -> None:
    pipeline = choose_agent_pipeline(["yes"], speech=False)
    assert pipeline.stt is None
    assert any("lk.chat" in note for note in pipeline.notes)


async def test_reporter_pairs_turns_and_summarizes() -> None:
    lines: list[str] = []
    reporter = DemoReporter(lines.append)
    reporter.agent_said("Welcome!", 0.3)
    reporter.caller_said("hello", "spoken")
    reporter.agent_heard("hello")
    reporter.metrics(TurnMetricsCollected("s", 0.5, 0.01, 0.02, 0.6, trio.current_time()))
    reporter.agent_said("Hi there", 0.8)
    reporter.caller_said("bye", "spoken")
    reporter.job_status = "success"
    summary = reporter.summary()
    assert [(t.caller_line, t.reply) for t in reporter.turns] == [
        (None, "Welcome!"),
        ("hello", "Hi there"),
        ("bye", None),
    ]
    assert "turns answered: 1 of 2 caller lines" in summary
    assert any("median 800 ms" in line for line in summary)
    assert "session e2e latency: median 600 ms" in summary
    assert any("AGENT   Hi there   [heard after 800 ms]" in line for line in lines)


def test_the_grammar_also_accepts_the_pieces_between_pauses_and_commas() -> None:
    phrases = grammar_phrases(["Hi, I'd like it", "Ada, 4 people at ... 7pm", "Hi"])
    assert len(phrases) == len(set(phrases)) == 9
    assert set(phrases) == {
        "Hi I'd like it", "Hi", "I'd like it",
        "Ada four people at seven pm", "Ada four people at", "Ada",
        "four people at seven pm", "four people at", "seven pm",
    }  # fmt: skip
    assert without_pauses("Ada, 4 people at ... 7pm") == "Ada, 4 people at 7pm"


async def test_a_pause_mark_is_silence_between_parts_synthesized_apart() -> None:
    tts = ToneTTS(sample_rate=16000)
    script = await CallerScript.synthesize(["a b ... c"], CallerVoice(tts, "tones"))
    seconds = sum(frame.duration for frame in script.audio[0])
    tones = (tone_for("a b", 16000).size + tone_for("c", 16000).size) / 16000
    assert seconds == pytest.approx(tones + MID_SENTENCE_PAUSE, abs=0.021)


async def test_a_turn_committed_while_the_caller_speaks_is_a_false_cut() -> None:
    lines: list[str] = []
    reporter = DemoReporter(lines.append, started_at=0.0)
    reporter.caller_said("Ada, 4 people at ... 7pm", "spoken")
    reporter.agent_heard("ada 4 people at")
    reporter.user_turn_committed(2.0)  # during the line
    reporter.agent_heard("7pm")
    reporter.user_turn_committed(4.4)  # after it
    reporter.caller_line_ended(0.5, 4.0)
    assert reporter.false_cuts == 1
    assert reporter.turns[-1].heard_as == "ada 4 people at 7pm"
    assert "false cuts (turn taken while the caller was mid-line): 1" in reporter.summary()


def test_without_smart_turn_the_pipeline_says_so_and_keeps_the_vad_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable(**_: object) -> None:
        raise ConfigurationError("no model")

    monkeypatch.setattr("trioagents.providers.SmartTurnDetector", unavailable)
    pipeline = choose_agent_pipeline(["hello"])
    assert pipeline.turn_detector is None
    assert any(n.startswith("turn detector: none, fixed 0.5 s endpointing") for n in pipeline.notes)
    assert not any("silence window" in note for note in pipeline.notes)


def test_agent_spec_loading() -> None:
    spec = load_agent_spec(DEFAULT_AGENT)
    assert spec.caller_lines == ("Hi, I'd like to book a table", "Ada, 4 people at ... 7pm", "yes")
    assert load_agent_spec(DEFAULT_AGENT, ["only this"]).caller_lines == ("only this",)
    with pytest.raises(ConfigurationError, match="module:factory"):
        load_agent_spec("nocolon")
    with pytest.raises(ConfigurationError, match="not a callable"):
        load_agent_spec("examples.restaurant_booking.main:RULES")
    with pytest.raises(ConfigurationError, match="no DEMO lines"):
        load_agent_spec("examples.scripted_call.main:FrontDesk")


def test_delegates_point_at_real_commands() -> None:
    import importlib

    for module, function, _ in _main.DELEGATES.values():
        assert callable(getattr(importlib.import_module(module), function))


def test_arbitrary_line_words_fall_back_to_the_language_model() -> None:
    """``--line`` takes any words: a word outside pocketsphinx's dictionary would make
    the decoder reject the grammar (``ValueError: Failed to parse JSGF``)."""
    pytest.importorskip("pocketsphinx")
    from trioagents.cli._demo_pipeline import _recognizer_for
    from trioagents.providers import PocketsphinxSTT

    stt, note = _recognizer_for(["Zyxqwv blorptastic, 13 cats & dogs!"])
    assert isinstance(stt, PocketsphinxSTT)
    assert stt._jsgf is None  # the open language model
    assert "open language model" in note
    assert "3 word(s)" in note
    assert "'zyxqwv', 'blorptastic', '13'" in note
    _, note = _recognizer_for(["Hello & goodbye!"])  # symbols alone are dropped
    assert "JSGF grammar" in note


async def test_a_grammar_with_symbols_is_accepted_by_the_decoder() -> None:
    pytest.importorskip("pocketsphinx")
    from trioagents.core import silence
    from trioagents.providers import PocketsphinxSTT

    stt = PocketsphinxSTT(grammar=["Hello & goodbye!", "yes; no (maybe)"])
    event = await stt.recognize([silence(0.3, 16000)])  # builds the decoder
    assert event.type == SpeechEventType.FINAL_TRANSCRIPT
