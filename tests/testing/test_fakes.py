"""The fakes behave like the real thing on Trio's clock."""

from __future__ import annotations

import numpy as np
import pytest
import trio
import trio.testing

from trioagents.core import (
    AudioFrame,
    ChatContext,
    ConfigurationError,
    LLMTextDelta,
    ProviderStatusError,
    SpeechEventType,
    VADEventType,
)
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    heard_chars,
    noise,
    speech,
)


def tone(marker: int, seconds: float = 0.02, rate: int = 24000) -> AudioFrame:
    return AudioFrame(np.full((round(seconds * rate), 1), marker, dtype=np.int16), rate)


def test_timeline_validation() -> None:
    with pytest.raises(ConfigurationError, match="overlap"):
        Timeline([speech(0, 1, "a"), speech(0.5, 2, "b")])
    with pytest.raises(ConfigurationError, match="start < end"):
        Timeline([noise(1, 1)])
    with pytest.raises(ConfigurationError, match="noise"):
        speech(0, 1, "  ")


async def test_audio_input_paces_frames(autojump_clock: trio.testing.MockClock) -> None:
    timeline = Timeline([speech(0.02, 0.04, "hi")], tail=0.02)
    source = FakeAudioInput(timeline)
    t0 = trio.current_time()
    got = [(round(trio.current_time() - t0, 3), int(f.data[0, 0])) async for f in source]
    assert got == [(0.01, 0), (0.02, 0), (0.03, 1), (0.04, 1), (0.05, 0), (0.06, 0)]
    assert source.finished.is_set()


async def test_vad_events(autojump_clock: trio.testing.MockClock) -> None:
    vad = FakeVAD(min_silence_duration=0.03)
    async with vad.stream() as stream:
        for marker in [0, 1, 1, 0, 0, 0, 0]:
            await stream.push_frame(AudioFrame(np.full((160, 1), marker, np.int16), 16000))
        await stream.end_input()
        events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert kinds[0] is VADEventType.START_OF_SPEECH
    assert kinds[-1] is VADEventType.END_OF_SPEECH
    assert max(e.speech_duration for e in events) == pytest.approx(0.02)
    assert vad.streams.all_closed()


async def test_stt_transcribes_segments(autojump_clock: trio.testing.MockClock) -> None:
    timeline = Timeline([speech(0.0, 0.5, "one two three"), noise(0.6, 0.8)], tail=0.3)
    stt = FakeSTT(timeline, final_delay=0.1, interim_interval=0.2)
    async with stt.stream() as stream, trio.open_nursery() as nursery:

        async def feed() -> None:
            async for frame in FakeAudioInput(timeline):
                await stream.push_frame(frame)
            await stream.end_input()

        nursery.start_soon(feed)
        events = [e async for e in stream]
    finals = [e.text for e in events if e.type is SpeechEventType.FINAL_TRANSCRIPT]
    interims = [e.text for e in events if e.type is SpeechEventType.INTERIM_TRANSCRIPT]
    assert finals == ["one two three"]
    assert interims == ["one", "one two"]


async def test_stt_scripted_open_errors(autojump_clock: trio.testing.MockClock) -> None:
    error = ProviderStatusError("no", provider="fake-stt", status=503)
    stt = FakeSTT(Timeline([]), errors=[error])
    with pytest.raises(ProviderStatusError):
        async with stt.stream():
            pass
    async with stt.stream():
        pass
    assert stt.streams.opened == 2
    assert stt.streams.all_closed()


async def test_llm_script_timing(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM({"q": [LLMScript("a b", ttft=0.5, token_delay=0.1), LLMScript("c")]})
    ctx = ChatContext()
    ctx.add_message("user", "q")
    t0 = trio.current_time()
    async with llm.chat(ctx) as stream:
        got = [(round(trio.current_time() - t0, 3), e) async for e in stream]
    assert got == [(0.5, LLMTextDelta("a ")), (0.6, LLMTextDelta("b"))]
    async with llm.chat(ctx) as stream:
        assert [e async for e in stream] == [LLMTextDelta("c")]
    assert llm.streams.all_closed()


async def test_llm_hang_is_cancellable(autojump_clock: trio.testing.MockClock) -> None:
    llm = FakeLLM(default=LLMScript("x", hang=True))
    with trio.move_on_after(5):
        async with llm.chat(ChatContext()) as stream:
            async for _ in stream:
                pass
    assert llm.streams.records[0].closed_at == pytest.approx(5.0 + llm.streams.records[0].opened_at)


async def test_tts_duration_and_markers(autojump_clock: trio.testing.MockClock) -> None:
    tts = FakeTTS(ttfb=0.2)
    t0 = trio.current_time()
    async with tts.synthesize("hello") as audio:
        frames = [f async for f in audio]
    assert trio.current_time() - t0 == pytest.approx(0.2)
    assert sum(f.duration for f in frames) == pytest.approx(5 / 16)
    markers = [int(f.data[0, 0]) for f in frames]
    assert heard_chars(markers) == [5]
    assert heard_chars(markers[:8] + markers[:3]) == [markers[7] - 1, markers[2] - 1]


async def test_audio_output_plays_in_real_time(autojump_clock: trio.testing.MockClock) -> None:
    out = FakeAudioOutput(queue_duration=0.1)
    t0 = trio.current_time()
    for _ in range(20):  # 0.4 s of audio
        await out.wait_for_capacity()
        out.capture_frame(tone(7))
    # the writer is held back to 0.1 s ahead of the device
    assert trio.current_time() - t0 == pytest.approx(0.28)
    out.flush()
    done = await out.wait_for_playout()
    assert trio.current_time() - t0 == pytest.approx(0.4)
    assert done.playback_position == pytest.approx(0.4)
    assert not done.interrupted


async def test_audio_output_clear_and_pause(autojump_clock: trio.testing.MockClock) -> None:
    out = FakeAudioOutput(can_pause=True)
    for _ in range(10):
        out.capture_frame(tone(1))
    await trio.sleep(0.05)
    out.pause()
    await trio.sleep(1.0)
    out.resume()
    await trio.sleep(0.03)
    out.clear_buffer()
    done = await out.wait_for_playout()
    # 0.05 s played before the pause and 0.03 s after: four whole 20 ms frames
    assert done.interrupted
    assert done.playback_position == pytest.approx(0.08)
    assert out.pauses == 1


async def test_audio_output_that_never_reports(autojump_clock: trio.testing.MockClock) -> None:
    out = FakeAudioOutput(reports_playout=False)
    out.capture_frame(tone(1))
    out.flush()
    with trio.move_on_after(10) as scope:
        await out.wait_for_playout()
    assert scope.cancelled_caught
    assert out.segments[0].position == pytest.approx(0.02)
