"""DeepgramSTT against the loopback fake Deepgram: events, audio, control messages, closing.

All under virtual time (autojump) with real sockets on 127.0.0.1: every socket peer
is a Trio task of this process, so Trio is only idle when nothing is in flight.
Each test is bounded by a virtual-time ``fail_after`` (a hang fails, it never blocks).
"""

from __future__ import annotations

import numpy as np
import pytest
import trio

from trioagents.core import (
    AudioFrame,
    ConfigurationError,
    LocalProtocolError,
    SpeechEventType,
    silence,
)
from trioagents.protocol import DeepgramOptions
from trioagents.providers import DeepgramConnection, DeepgramSTT
from trioagents.testing import (
    FakeDeepgramOptions,
    Timeline,
    open_fake_deepgram,
    speech,
)

from ._deepgram_support import KEY, deepgram, transcribe, two_utterances

S = SpeechEventType


async def test_transcripts_and_speech_events(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with open_fake_deepgram(timeline) as server:
            run = await transcribe(deepgram(server.url), timeline, language="en-GB")
    assert run.error is None
    assert run.finals == ["turn on the lights", "thank you"]
    kinds = [k for k in run.kinds() if k is not S.INTERIM_TRANSCRIPT]
    assert kinds == [S.START_OF_SPEECH, S.FINAL_TRANSCRIPT, S.END_OF_SPEECH] * 2
    interims = [e.text for e in run.events if e.type is S.INTERIM_TRANSCRIPT]
    assert interims[0] == "turn"
    assert all(e.language == "en-GB" for e in run.events if e.text)
    session = server.sessions[0]
    assert session.headers["authorization"] == f"Token {KEY}"
    assert session.query["language"] == ["en-GB"]
    assert session.query["encoding"] == ["linear16"]
    assert session.query["sample_rate"] == ["16000"]
    assert session.controls == ["Finalize", "CloseStream"]
    assert session.ended_by == "server"  # CloseStream answered: Metadata, then 1000
    assert session.audio_seconds == pytest.approx(timeline.duration)


async def test_request_id_and_timestamps_on_trio_clock(autojump_clock: trio.abc.Clock) -> None:
    timeline = Timeline([speech(0.5, 1.0, "hello there")], tail=0.5)
    with trio.fail_after(60):
        async with open_fake_deepgram(timeline) as server:
            stt = deepgram(server.url)
            async with stt.stream() as stream:
                start = trio.current_time()
                for index in range(150):
                    await stream.push_frame(timeline.frame(index))
                await stream.end_input()
                events = [event async for event in stream]
    assert stream.request_id == "fake-0"
    final = next(e for e in events if e.type is S.FINAL_TRANSCRIPT)
    assert final.text == "hello there"
    assert final.timestamp >= start
    assert final.confidence == pytest.approx(0.99)


@pytest.mark.parametrize(("input_rate", "deepgram_rate"), [(48000, 16000), (16000, 8000)])
async def test_audio_is_resampled_to_the_configured_rate(
    input_rate: int, deepgram_rate: int, autojump_clock: trio.abc.Clock
) -> None:
    timeline = Timeline([speech(0.2, 0.8, "resample me")], tail=0.4, sample_rate=input_rate)
    options = DeepgramOptions(sample_rate=deepgram_rate, endpointing_ms=100)
    with trio.fail_after(60):
        async with open_fake_deepgram(timeline) as server:
            run = await transcribe(deepgram(server.url, options=options), timeline)
    assert run.finals == ["resample me"]
    session = server.sessions[0]
    assert session.query["sample_rate"] == [str(deepgram_rate)]
    assert session.audio_bytes == round(timeline.duration * deepgram_rate) * 2


def test_stereo_is_averaged_to_mono() -> None:
    from trioagents.providers._websocket_stt import linear16

    frame = AudioFrame(np.array([[100, 300], [-200, 0]], dtype=np.int16), 16000)
    assert np.frombuffer(linear16(frame, 16000), dtype="<i2").tolist() == [200, -100]


async def test_keepalive_during_silence_only(autojump_clock: trio.abc.Clock) -> None:
    timeline = Timeline([speech(0.1, 0.5, "hi")], tail=0.1)
    with trio.fail_after(60):
        async with open_fake_deepgram(timeline) as server:
            stt = deepgram(server.url, keepalive_interval=3.0)
            async with stt.stream() as stream:
                await trio.sleep(10)  # nothing to send: KeepAlive at 3, 6, 9 s
                assert server.sessions[0].controls == ["KeepAlive"] * 3
                for index in range(70):  # 0.7 s of audio, paced in real time
                    await stream.push_frame(timeline.frame(index))
                    await trio.sleep(0.01)
                assert server.sessions[0].controls == ["KeepAlive"] * 3
                await trio.sleep(3.5)
                assert server.sessions[0].controls == ["KeepAlive"] * 4
                await stream.end_input()
                finals = [e.text async for e in stream if e.type is S.FINAL_TRANSCRIPT]
    assert finals == ["hi"]


async def test_flush_sends_finalize_and_gets_a_final(autojump_clock: trio.abc.Clock) -> None:
    timeline = Timeline([speech(0.0, 2.0, "one two three four")], tail=0.1)
    options = DeepgramOptions(endpointing_ms=None, interim_results=False)
    with trio.fail_after(60):
        async with (
            open_fake_deepgram(timeline) as server,
            deepgram(server.url, options=options).stream() as stream,
        ):
            for index in range(100):  # the first second: half the words
                await stream.push_frame(timeline.frame(index))
            await stream.flush()
            event = await stream.__anext__()
            assert event.type is S.START_OF_SPEECH
            event = await stream.__anext__()
            assert (event.type, event.text) == (S.FINAL_TRANSCRIPT, "one two")
            assert server.sessions[0].controls == ["Finalize"]
            await stream.end_input()
            rest = [e.type async for e in stream]
    assert rest == [S.END_OF_SPEECH]  # the stream ended while the user was speaking


async def test_push_after_end_input_is_refused(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with (
            open_fake_deepgram(timeline) as server,
            deepgram(server.url).stream() as stream,
        ):
            await stream.end_input()
            await stream.end_input()  # idempotent
            with pytest.raises(LocalProtocolError):
                await stream.push_frame(silence(0.01, 16000))
            assert [e async for e in stream] == []
    assert server.sessions[0].controls == ["Finalize", "CloseStream"]


async def test_server_checks_the_key(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with open_fake_deepgram(timeline, FakeDeepgramOptions(api_key=KEY)) as server:
            good = await transcribe(deepgram(server.url), timeline)
            other = DeepgramSTT(connection=DeepgramConnection(base_url=server.url, api_key="x"))
            bad = await transcribe(other, timeline)
    assert good.error is None
    assert bad.error is not None
    assert bad.error.status == 401


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="mono"):
        DeepgramSTT(DeepgramOptions(channels=2))
    with pytest.raises(ConfigurationError):
        DeepgramSTT(connection=DeepgramConnection(base_url="http://x/v1/listen"))
    with pytest.raises(ConfigurationError):
        DeepgramConnection(idle_timeout=0)
    with pytest.raises(ConfigurationError):
        DeepgramConnection(keepalive_interval=0)
    assert "dg-" not in repr(DeepgramConnection(api_key="dg-secret"))
