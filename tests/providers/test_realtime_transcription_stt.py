"""OpenAIRealtimeSTT against the loopback fake: events, audio, commits, the ends.

Run as test_deepgram_stt.py runs (autojump clock, real sockets on 127.0.0.1, each
test under a virtual ``fail_after``); losing the connection, cancelling and leaving
early are test_streaming_stt_contract.py's, for both providers.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.core import ConfigurationError, LocalProtocolError, SpeechEventType, silence
from trioagents.protocol import RealtimeTranscriptionOptions
from trioagents.providers import OpenAIConnection, OpenAIRealtimeSTT
from trioagents.testing import (
    FakeRealtimeTranscriptionOptions,
    Timeline,
    open_fake_realtime_transcription,
    speech,
)

from ._realtime_transcription_support import FAST_VAD, KEY, realtime
from ._streaming_stt_support import transcribe, two_utterances

S = SpeechEventType
ITEM = "conversation.item.input_audio_transcription."


async def test_transcripts_and_speech_events(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with open_fake_realtime_transcription(timeline) as server:
            run = await transcribe(realtime(server.base_url), timeline, language="en-GB")
    assert run.error is None
    assert run.finals == ["turn on the lights", "thank you"]
    kinds = [k for k in run.kinds() if k is not S.INTERIM_TRANSCRIPT]
    # the server's VAD brackets each utterance (the noise too); each final follows its end
    utterance = [S.START_OF_SPEECH, S.END_OF_SPEECH, S.FINAL_TRANSCRIPT]
    assert kinds == [*utterance, S.START_OF_SPEECH, S.END_OF_SPEECH, *utterance]
    interims = [e.text for e in run.events if e.type is S.INTERIM_TRANSCRIPT]
    assert interims[0] == "turn"
    assert all(e.language == "en-GB" for e in run.events if e.text)
    ends = [e.audio_end for e in run.events if e.type is S.FINAL_TRANSCRIPT]
    assert ends == [pytest.approx(1.3), pytest.approx(2.7)]  # speech end + 100 ms of silence
    session = server.sessions[0]
    assert session.headers["authorization"] == f"Bearer {KEY}"
    assert "openai-beta" not in session.headers
    assert session.query == {"intent": ["transcription"]}
    audio_input = session.session["audio"]["input"]
    assert audio_input["transcription"] == {"model": "gpt-4o-mini-transcribe", "language": "en"}
    assert audio_input["turn_detection"]["silence_duration_ms"] == 100
    assert session.controls == ["session.update", "input_audio_buffer.commit"]
    assert session.audio_seconds == pytest.approx(timeline.duration)


async def test_the_beta_form(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    options = RealtimeTranscriptionOptions(turn_detection=FAST_VAD, api="beta")
    with trio.fail_after(60):
        async with open_fake_realtime_transcription(timeline) as server:
            run = await transcribe(realtime(server.base_url, options=options), timeline)
    assert run.finals == ["turn on the lights", "thank you"]
    session = server.sessions[0]
    assert session.api == "beta"
    assert session.headers["openai-beta"] == "realtime=v1"
    assert session.controls == ["transcription_session.update", "input_audio_buffer.commit"]


async def test_finals_in_audio_order_when_completions_are_not(
    autojump_clock: trio.abc.Clock,
) -> None:
    timeline = Timeline([speech(0.2, 0.6, "first words"), speech(0.9, 1.3, "then these")], tail=2)
    late_first = FakeRealtimeTranscriptionOptions(item_lags=(1.0,))
    with trio.fail_after(60):
        async with open_fake_realtime_transcription(timeline, late_first) as server:
            run = await transcribe(realtime(server.base_url), timeline)
    assert server.sessions[0].finals == ["then these", "first words"]  # as the server sent
    assert run.finals == ["first words", "then these"]
    ends = [e.audio_end for e in run.events if e.type is S.FINAL_TRANSCRIPT]
    assert ends == [pytest.approx(0.7), pytest.approx(1.4)]


async def test_session_id_and_timestamps_on_trio_clock(autojump_clock: trio.abc.Clock) -> None:
    timeline = Timeline([speech(0.5, 1.0, "hello there")], tail=0.5)
    with trio.fail_after(60):
        async with (
            open_fake_realtime_transcription(timeline) as server,
            realtime(server.base_url).stream() as stream,
        ):
            start = trio.current_time()
            for index in range(150):
                await stream.push_frame(timeline.frame(index))
            await stream.end_input()
            events = [event async for event in stream]
    assert stream.session_id == "sess_fake_0"
    final = next(e for e in events if e.type is S.FINAL_TRANSCRIPT)
    assert final.text == "hello there"
    assert final.timestamp >= start


@pytest.mark.parametrize("input_rate", [48000, 24000, 8000])
async def test_audio_is_resampled_to_24k(input_rate: int, autojump_clock: trio.abc.Clock) -> None:
    timeline = Timeline([speech(0.2, 0.8, "resample me")], tail=0.4, sample_rate=input_rate)
    with trio.fail_after(60):
        async with open_fake_realtime_transcription(timeline) as server:
            run = await transcribe(realtime(server.base_url), timeline)
    assert run.finals == ["resample me"]
    assert server.sessions[0].audio_bytes == round(timeline.duration * 24000) * 2


async def test_without_turn_detection_flush_commits(autojump_clock: trio.abc.Clock) -> None:
    timeline = Timeline([speech(0.0, 2.0, "one two three four")], tail=0.1)
    options = RealtimeTranscriptionOptions(model="gpt-realtime-whisper", turn_detection=None)
    with trio.fail_after(60):
        async with (
            open_fake_realtime_transcription(timeline) as server,
            realtime(server.base_url, options=options).stream() as stream,
        ):
            for index in range(100):  # the first second: half the words
                await stream.push_frame(timeline.frame(index))
            await stream.flush()
            await stream.flush()  # nothing new: no second commit
            got = []
            async for event in stream:
                got.append(event)
                if event.type is S.END_OF_SPEECH:
                    break
            await stream.end_input()
            rest = [e async for e in stream]
    kinds = [e.type for e in got if e.type is not S.INTERIM_TRANSCRIPT]
    assert kinds == [S.START_OF_SPEECH, S.FINAL_TRANSCRIPT, S.END_OF_SPEECH]
    assert next(e.text for e in got if e.type is S.FINAL_TRANSCRIPT) == "one two"
    assert next(e.text for e in got if e.type is S.INTERIM_TRANSCRIPT) == "one"
    assert [e.text for e in rest if e.type is S.FINAL_TRANSCRIPT] == []  # nothing after 1 s
    session = server.sessions[0]
    assert session.session["audio"]["input"]["turn_detection"] is None
    assert session.controls == [
        "session.update",
        "input_audio_buffer.commit",
        "input_audio_buffer.commit",  # end_input's: 0 s of audio, answered "empty"
    ]
    assert session.sent_of("error")[0]["error"]["code"] == "input_audio_buffer_commit_empty"


async def test_end_input_commits_an_unfinished_utterance(autojump_clock: trio.abc.Clock) -> None:
    """The closing commit transcribes what the user was still saying."""
    timeline = Timeline([speech(0.2, 3.0, "a long sentence cut short")], tail=0.0)
    with trio.fail_after(60):
        async with (
            open_fake_realtime_transcription(timeline) as server,
            realtime(server.base_url).stream() as stream,
        ):
            for index in range(200):  # to 2.0 s, mid-speech
                await stream.push_frame(timeline.frame(index))
            await stream.end_input()
            events = [e async for e in stream]
    assert [e.text for e in events if e.type is S.FINAL_TRANSCRIPT] == ["a long sentence"]
    assert events[-1].type is S.END_OF_SPEECH  # the stream ended while speaking
    assert server.sessions[0].sent_of("input_audio_buffer.committed")


async def test_push_after_end_input_is_refused(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    with trio.fail_after(60):
        async with (
            open_fake_realtime_transcription(timeline) as server,
            realtime(server.base_url).stream() as stream,
        ):
            await stream.end_input()
            await stream.end_input()  # idempotent
            await stream.flush()  # nothing after the end
            with pytest.raises(LocalProtocolError):
                await stream.push_frame(silence(0.01, 16000))
            assert [e async for e in stream] == []
    assert server.sessions[0].controls == ["session.update", "input_audio_buffer.commit"]


async def test_server_checks_the_key(autojump_clock: trio.abc.Clock) -> None:
    timeline = two_utterances()
    options = FakeRealtimeTranscriptionOptions(api_key=KEY)
    with trio.fail_after(60):
        async with open_fake_realtime_transcription(timeline, options) as server:
            good = await transcribe(realtime(server.base_url), timeline)
            other = OpenAIRealtimeSTT(
                connection=OpenAIConnection(base_url=server.base_url, api_key="sk-other")
            )
            bad = await transcribe(other, timeline)
    assert good.error is None
    assert bad.error is not None
    assert (bad.error.status, bad.error.retryable) == (401, False)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        OpenAIRealtimeSTT(connection=OpenAIConnection(base_url="http://x/v1?a=1", api_key=""))
    with pytest.raises(ConfigurationError):
        OpenAIRealtimeSTT(connection=OpenAIConnection(base_url="http://x/v1"), close_grace=0)
    stt = OpenAIRealtimeSTT(connection=OpenAIConnection(api_key="sk-secret"))
    assert stt.label == "openai-realtime/gpt-4o-mini-transcribe"
    assert "sk-secret" not in repr(stt.connection)
