"""VAD-segmented batch STT and sentence-by-sentence streaming TTS."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio

from trioagents.core import (
    STT,
    AudioFrame,
    LocalProtocolError,
    ProviderConnectionError,
    SpeechEvent,
    SpeechEventType,
    StreamingTTS,
)
from trioagents.providers import EnergyVAD, SentenceStreamTTS, VADSegmentedSTT

from ._fakes import Call, FakeTTS
from ._support import tone_burst


class CountingBatchSTT:
    label = "counting"

    def __init__(self, fail: bool = False) -> None:
        self.utterances: list[float] = []
        self._fail = fail

    async def recognize(
        self, frames: Sequence[AudioFrame], *, language: str | None = None
    ) -> SpeechEvent:
        await trio.sleep(0.2)
        if self._fail:
            raise ProviderConnectionError("down", provider=self.label)
        seconds = sum(frame.duration for frame in frames)
        self.utterances.append(seconds)
        return SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT, text=f"{seconds:.1f}s")


async def test_segments_each_utterance_exactly(autojump_clock: trio.abc.Clock) -> None:
    batch = CountingBatchSTT()
    stt = VADSegmentedSTT(batch, EnergyVAD())
    assert isinstance(stt, STT)
    audio = tone_burst(speech=1.0, tail=1.0) + tone_burst(speech=0.5, tail=1.0)
    async with stt.stream() as stream:
        for frame in audio:  # pushed far faster than recognition runs
            await stream.push_frame(frame)
        await stream.end_input()
        events = [event async for event in stream]
    types = [event.type for event in events]
    assert (
        types
        == [
            SpeechEventType.START_OF_SPEECH,
            SpeechEventType.END_OF_SPEECH,
            SpeechEventType.FINAL_TRANSCRIPT,
        ]
        * 2
    )
    # each utterance: its speech, the hangover and at most the pre-roll, never the other one
    assert batch.utterances[0] == pytest.approx(1.0 + 0.55 + 0.3, abs=0.1)
    assert batch.utterances[1] == pytest.approx(0.5 + 0.55 + 0.3, abs=0.1)


async def test_recognition_error_reaches_the_consumer(autojump_clock: trio.abc.Clock) -> None:
    stt = VADSegmentedSTT(CountingBatchSTT(fail=True), EnergyVAD())
    got: list[SpeechEventType] = []
    with pytest.raises(ProviderConnectionError):
        await _drain(stt, got)
    assert got == [SpeechEventType.START_OF_SPEECH, SpeechEventType.END_OF_SPEECH]


async def _drain(stt: VADSegmentedSTT, got: list[SpeechEventType]) -> None:
    async with stt.stream() as stream:
        for frame in tone_burst():
            await stream.push_frame(frame)
        await stream.end_input()
        async for event in stream:
            got.append(event.type)  # noqa: PERF401 - keep what arrived before the error


async def test_sentence_tts_synthesizes_in_order_before_input_ends(
    autojump_clock: trio.abc.Clock,
) -> None:
    inner = FakeTTS("t")
    spoken: list[str] = []
    original = inner.synthesize

    def spy(text: str):  # type: ignore[no-untyped-def]
        spoken.append(text)
        return original(text)

    inner.synthesize = spy  # type: ignore[method-assign]
    tts = SentenceStreamTTS(inner)
    assert isinstance(tts, StreamingTTS)
    async with tts.stream() as stream:
        await stream.push_text("The first sentence is here. The sec")
        frames = stream.__aiter__()
        await frames.__anext__()  # audio before the input ended: pre-synthesis
        assert spoken == ["The first sentence is here."]
        await stream.push_text("ond one follows")
        await stream.end_input()
        rest = [frame async for frame in frames]
        with pytest.raises(LocalProtocolError):
            await stream.push_text("late")
    assert spoken == ["The first sentence is here.", "The second one follows"]
    assert len(rest) == 5


async def test_sentence_tts_error_propagates(autojump_clock: trio.abc.Clock) -> None:
    tts = SentenceStreamTTS(FakeTTS("t", Call(error=ProviderConnectionError("x", provider="t"))))
    with pytest.raises(ProviderConnectionError):
        await _speak(tts, "Just one sentence to say.")


async def _speak(tts: SentenceStreamTTS, text: str) -> None:
    async with tts.stream() as stream:
        await stream.push_text(text)
        await stream.end_input()
        async for _ in stream:
            pass
