"""The OpenAI realtime transcription core: URL, session.update, parsing, the client state."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import ConfigurationError, LocalProtocolError, RemoteProtocolError
from trioagents.protocol import (
    COMMIT_EMPTY,
    RealtimeTranscriptionOptions,
    RealtimeTranscriptionProtocol,
    SemanticVAD,
    ServerVAD,
    TranscriptFinalized,
    TranscriptionAudioCommitted,
    TranscriptionCompleted,
    TranscriptionErrorReported,
    TranscriptionFailed,
    TranscriptionMessageIgnored,
    TranscriptionSessionConfigured,
    TranscriptionSpeechStarted,
    TranscriptionSpeechStopped,
    TranscriptionState,
    TranscriptUpdated,
    parse_transcription_event,
    realtime_transcription_url,
    session_update_message,
)

ITEM = "conversation.item.input_audio_transcription."
SECOND = b"\x00\x00" * 24000  # one second of 24 kHz PCM16


def msg(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": "event_1", **fields})


def committed(item: str, previous: str | None = None) -> str:
    return msg("input_audio_buffer.committed", item_id=item, previous_item_id=previous)


def completed(item: str, transcript: str) -> str:
    return msg(ITEM + "completed", item_id=item, content_index=0, transcript=transcript)


def finals(outputs: list[Any]) -> list[tuple[str, float | None]]:
    return [(o.transcript, o.audio_end) for o in outputs if isinstance(o, TranscriptFinalized)]


# ------------------------------------------------------------------ URL and session


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.openai.com/v1", "wss://api.openai.com/v1/realtime?intent=transcription"),
        ("http://127.0.0.1:8080/v1/", "ws://127.0.0.1:8080/v1/realtime?intent=transcription"),
        ("wss://example.test", "wss://example.test/realtime?intent=transcription"),
    ],
)
def test_url(base: str, expected: str) -> None:
    assert realtime_transcription_url(base) == expected


def test_url_adds_the_connection_query_and_refuses_bad_bases() -> None:
    url = realtime_transcription_url("https://x.test/openai", {"api-version": "2025-08-28"})
    assert url == "wss://x.test/openai/realtime?intent=transcription&api-version=2025-08-28"
    for bad in ("ftp://x.test/v1", "https:///v1", "https://x.test/v1?key=1"):
        with pytest.raises(ConfigurationError):
            realtime_transcription_url(bad)


def test_ga_session_update() -> None:
    options = RealtimeTranscriptionOptions(
        model="gpt-4o-transcribe",
        prompt="names: Ada",
        noise_reduction="near_field",
        turn_detection=ServerVAD(0.6, 200, 300),
    )
    message = session_update_message(options, "en-GB")
    assert message == {
        "type": "session.update",
        "session": {
            "type": "transcription",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {
                        "model": "gpt-4o-transcribe",
                        "language": "en",
                        "prompt": "names: Ada",
                    },
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.6,
                        "prefix_padding_ms": 200,
                        "silence_duration_ms": 300,
                    },
                    "noise_reduction": {"type": "near_field"},
                }
            },
        },
    }


def test_manual_commit_whisper_and_semantic_vad() -> None:
    whisper = RealtimeTranscriptionOptions(
        model="gpt-realtime-whisper", turn_detection=None, delay="low", language=None
    )
    audio_input = session_update_message(whisper)["session"]["audio"]["input"]
    assert audio_input["turn_detection"] is None
    assert audio_input["transcription"] == {"model": "gpt-realtime-whisper", "delay": "low"}
    assert not whisper.server_segments
    semantic = RealtimeTranscriptionOptions(turn_detection=SemanticVAD("high"))
    turns = session_update_message(semantic)["session"]["audio"]["input"]["turn_detection"]
    assert turns == {"type": "semantic_vad", "eagerness": "high"}


def test_beta_session_update() -> None:
    options = RealtimeTranscriptionOptions(api="beta", noise_reduction="far_field")
    assert session_update_message(options, "de") == {
        "type": "transcription_session.update",
        "session": {
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "gpt-4o-mini-transcribe", "language": "de"},
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
            },
            "input_audio_noise_reduction": {"type": "far_field"},
        },
    }


@pytest.mark.parametrize(
    "build",
    [
        lambda: RealtimeTranscriptionOptions(model=""),
        lambda: RealtimeTranscriptionOptions(api="v2"),  # type: ignore[arg-type]
        lambda: RealtimeTranscriptionOptions(noise_reduction="loud"),  # type: ignore[arg-type]
        lambda: RealtimeTranscriptionOptions(api="beta", delay="low"),
        lambda: ServerVAD(threshold=1.5),
        lambda: ServerVAD(silence_duration_ms=0),
        lambda: SemanticVAD("eager"),  # type: ignore[arg-type]
    ],
)
def test_configuration_errors(build: Any) -> None:
    with pytest.raises(ConfigurationError):
        build()


# ------------------------------------------------------------------ parsing


def test_parse_every_event() -> None:
    session = {"type": "transcription", "audio": {}}
    assert parse_transcription_event(msg("session.created", session=session)) == (
        TranscriptionSessionConfigured(True, session)
    )
    beta = parse_transcription_event(msg("transcription_session.updated", session={}))
    assert beta == TranscriptionSessionConfigured(False, {})
    started = msg("input_audio_buffer.speech_started", item_id="i1", audio_start_ms=250)
    assert parse_transcription_event(started) == TranscriptionSpeechStarted("i1", 0.25)
    stopped = msg("input_audio_buffer.speech_stopped", item_id="i1", audio_end_ms=1300)
    assert parse_transcription_event(stopped) == TranscriptionSpeechStopped("i1", 1.3)
    assert parse_transcription_event(committed("i2", "i1")) == (
        TranscriptionAudioCommitted("i2", "i1")
    )
    assert parse_transcription_event(completed("i2", "hi")) == TranscriptionCompleted("i2", "hi")
    failed = msg(ITEM + "failed", item_id="i2", error={"type": "server_error", "code": None})
    event = parse_transcription_event(failed)
    assert isinstance(event, TranscriptionFailed)
    assert (event.item_id, event.kind, event.code) == ("i2", "server_error", None)
    error = msg("error", error={"type": "invalid_request_error", "code": COMMIT_EMPTY})
    reported = parse_transcription_event(error)
    assert isinstance(reported, TranscriptionErrorReported)
    assert (reported.kind, reported.code) == ("invalid_request_error", COMMIT_EMPTY)
    assert parse_transcription_event(msg("conversation.item.added")) == (
        TranscriptionMessageIgnored("conversation.item.added")
    )
    assert parse_transcription_event(msg(ITEM + "segment")) == (
        TranscriptionMessageIgnored(ITEM + "segment")
    )


@pytest.mark.parametrize(
    "message",
    [
        b'{"type": "error"}',  # a binary frame
        "not json",
        "[1, 2]",
        '{"type": 3}',
        '{"event_id": "x"}',
        msg("input_audio_buffer.speech_started", item_id="i", audio_start_ms=-1),
        msg("input_audio_buffer.speech_stopped", item_id="i", audio_end_ms="100"),
        '{"type": "input_audio_buffer.speech_stopped", "item_id": "i", "audio_end_ms": NaN}',
        msg("input_audio_buffer.committed", item_id=7),
        msg(ITEM + "delta", item_id="i", delta=None),
        msg(ITEM + "completed", item_id="i"),
        msg("error", error="boom"),
        msg("session.updated", session=[]),
        "[" * 5000 + "]" * 5000,
    ],
)
def test_malformed_messages(message: str | bytes) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_transcription_event(message)
    assert caught.value.payload is None or len(caught.value.payload) <= 4096


# ------------------------------------------------------------------ the client


def test_a_server_vad_utterance() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    update = json.loads(protocol.session_update())
    assert update["type"] == "session.update"
    assert protocol.owes_answer
    protocol.receive(msg("session.updated", session={}))
    assert not protocol.owes_answer
    append = json.loads(protocol.append(SECOND))
    assert base64.b64decode(append["audio"]) == SECOND
    assert protocol.audio_seconds == 1.0
    protocol.receive(msg("input_audio_buffer.speech_started", item_id="a", audio_start_ms=200))
    assert protocol.speaking
    protocol.receive(msg("input_audio_buffer.speech_stopped", item_id="a", audio_end_ms=900))
    assert not protocol.speaking
    protocol.receive(committed("a"))
    assert protocol.owes_answer  # the transcript
    updated = protocol.receive(msg(ITEM + "delta", item_id="a", delta="turn"))
    assert updated[-1] == TranscriptUpdated("a", "turn")
    updated = protocol.receive(msg(ITEM + "delta", item_id="a", delta=" on"))
    assert updated[-1] == TranscriptUpdated("a", "turn on")
    assert finals(protocol.receive(completed("a", "turn on"))) == [("turn on", 0.9)]
    assert not protocol.owes_answer


def test_out_of_order_completions_are_released_in_audio_order() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    for item, end in (("a", 1000), ("b", 2000), ("c", 3000)):
        protocol.receive(msg("input_audio_buffer.speech_stopped", item_id=item, audio_end_ms=end))
    protocol.receive(committed("a"))
    protocol.receive(committed("b", "a"))
    protocol.receive(committed("c", "b"))
    assert finals(protocol.receive(completed("c", "three"))) == []
    assert finals(protocol.receive(completed("b", "two"))) == []
    released = finals(protocol.receive(completed("a", "one")))
    assert released == [("one", 1.0), ("two", 2.0), ("three", 3.0)]


def test_previous_item_id_places_an_item() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    protocol.receive(committed("a"))
    protocol.receive(committed("c", "b"))  # b unknown: appended after a
    protocol.receive(committed("b", "a"))  # after a, before c
    out = protocol.receive(completed("a", "1")) + protocol.receive(completed("c", "3"))
    out += protocol.receive(completed("b", "2"))
    assert [t for t, _ in finals(out)] == ["1", "2", "3"]


@given(st.permutations(range(6)))
def test_any_completion_order_gives_commit_order(order: list[int]) -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    previous = None
    for index in range(6):
        protocol.receive(committed(f"i{index}", previous))
        previous = f"i{index}"
    out: list[Any] = []
    for index in order:
        out += protocol.receive(completed(f"i{index}", str(index)))
    assert [t for t, _ in finals(out)] == [str(i) for i in range(6)]
    assert not protocol.owes_answer


def test_client_commits_end_at_the_audio_sent_before_them() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions(turn_detection=None))
    assert protocol.commit() is None  # nothing appended
    protocol.append(SECOND)
    assert json.loads(protocol.commit() or "") == {"type": "input_audio_buffer.commit"}
    assert protocol.commit() is None  # nothing since
    protocol.append(SECOND[: len(SECOND) // 2])
    protocol.commit()
    protocol.receive(committed("a"))
    protocol.receive(committed("b", "a"))
    out = protocol.receive(completed("a", "x")) + protocol.receive(completed("b", "y"))
    assert finals(out) == [("x", 1.0), ("y", 1.5)]


def test_end_input_is_a_barrier() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    protocol.append(SECOND)
    end = protocol.end_input()
    assert json.loads(end) == {"type": "input_audio_buffer.commit"}
    assert protocol.state is TranscriptionState.ENDING
    assert not protocol.finished
    for step in (lambda: protocol.append(SECOND), protocol.commit, protocol.end_input):
        with pytest.raises(LocalProtocolError):
            step()
    # a VAD commit the client had not read yet, then the barrier's empty answer
    protocol.receive(msg("input_audio_buffer.speech_stopped", item_id="a", audio_end_ms=800))
    protocol.receive(committed("a"))
    error = msg("error", error={"type": "invalid_request_error", "code": COMMIT_EMPTY})
    protocol.receive(error)
    assert not protocol.finished  # "a" still owes its transcript
    assert finals(protocol.receive(completed("a", "hello"))) == [("hello", 0.8)]
    assert protocol.finished
    assert protocol.connection_closed(1000, None).expected
    assert protocol.state is TranscriptionState.CLOSED


def test_a_close_before_the_end_is_unexpected() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    closed = protocol.connection_closed(1011, "boom")
    assert not closed.expected
    assert (closed.code, closed.reason) == (1011, "boom")
    assert protocol.connection_closed(None, None).expected  # already closed


def test_audio_must_hold_whole_samples() -> None:
    with pytest.raises(LocalProtocolError):
        RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions()).append(b"\x00")


def test_bounds() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    for index in range(256):
        protocol.receive(committed(f"i{index}"))
    with pytest.raises(RemoteProtocolError):
        protocol.receive(committed("one-too-many"))
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    for _ in range(65):
        protocol.receive(msg(ITEM + "delta", item_id="i", delta="x" * 1000))
    with pytest.raises(RemoteProtocolError):
        protocol.receive(msg(ITEM + "delta", item_id="i", delta="x" * 1000))


def test_a_completion_without_a_commit_is_accepted() -> None:
    protocol = RealtimeTranscriptionProtocol(RealtimeTranscriptionOptions())
    assert finals(protocol.receive(completed("ghost", "boo"))) == [("boo", None)]
