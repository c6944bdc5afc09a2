"""The fake Deepgram: its recognizer (synchronous, audio-time driven) and its server."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from trioagents.core import ConfigurationError, ConnectError
from trioagents.testing import FakeDeepgramOptions, Timeline, open_fake_deepgram, speech
from trioagents.testing._deepgram_recognizer import FakeRecognizer, StreamConfig
from trioagents.transport import open_websocket_client


def pcm(timeline: Timeline, start: float, end: float) -> bytes:
    first, last = round(start / 0.01), round(end / 0.01)
    return b"".join(timeline.frame(i).to_bytes() for i in range(first, last))


def results(messages: list[dict[str, Any]], *, final: bool) -> list[str]:
    return [
        m["channel"]["alternatives"][0]["transcript"]
        for m in messages
        if m["type"] == "Results" and m["is_final"] is final
    ]


TIMELINE = Timeline([speech(0.2, 1.0, "one two three four")], tail=1.5)


def recognizer(options: FakeDeepgramOptions | None = None, **config: Any) -> FakeRecognizer:
    return FakeRecognizer(
        TIMELINE, StreamConfig(**config), options or FakeDeepgramOptions(), "request"
    )


def test_endpointing_final_with_speech_final_and_events() -> None:
    fake = recognizer(interim_results=True, endpointing=0.1, vad_events=True, utterance_end=1.0)
    out = fake.audio(pcm(TIMELINE, 0.0, TIMELINE.duration))
    started = next(m for m in out if m["type"] == "SpeechStarted")
    assert started["timestamp"] == pytest.approx(0.2)
    finals = [m for m in out if m["type"] == "Results" and m["is_final"]]
    spoken = [m for m in finals if m["channel"]["alternatives"][0]["transcript"]]
    assert len(spoken) == 1
    assert spoken[0]["channel"]["alternatives"][0]["transcript"] == "one two three four"
    assert spoken[0]["speech_final"] is True
    assert spoken[0]["start"] + spoken[0]["duration"] == pytest.approx(1.1)
    assert results(out, final=False)[:2] == ["one", "one two"]
    end = next(m for m in out if m["type"] == "UtteranceEnd")
    assert end["last_word_end"] == pytest.approx(1.0)


def test_any_split_gives_the_same_messages() -> None:
    whole = recognizer(interim_results=True).audio(pcm(TIMELINE, 0, TIMELINE.duration))
    split = recognizer(interim_results=True)
    data = pcm(TIMELINE, 0, TIMELINE.duration)
    pieces: list[dict[str, Any]] = []
    for i in range(0, len(data), 333):
        pieces += split.audio(data[i : i + 333])
    assert pieces == whole


def test_max_segment_and_final_lag() -> None:
    fake = recognizer(FakeDeepgramOptions(max_segment=0.4, final_lag=0.15), endpointing=0.1)
    out = fake.audio(pcm(TIMELINE, 0.0, 0.6))
    assert results(out, final=True) == []  # the 0.2..0.6 span is final, not sent yet
    out = fake.audio(pcm(TIMELINE, 0.6, 0.75))
    first = [m for m in out if m["type"] == "Results" and m["is_final"]]
    assert [m["channel"]["alternatives"][0]["transcript"] for m in first] == ["one two"]
    assert first[0]["speech_final"] is False
    assert first[0]["start"] + first[0]["duration"] == pytest.approx(0.6)
    out = fake.audio(pcm(TIMELINE, 0.75, 1.5))
    assert results(out, final=True) == ["three four", ""]  # then an empty speech_final
    assert [m["speech_final"] for m in out if m["type"] == "Results"] == [False, True]


def test_missing_audio_means_missing_words() -> None:
    fake = recognizer(endpointing=0.1)
    out = fake.audio(pcm(TIMELINE, 0.0, 0.2) + pcm(TIMELINE, 0.6, 1.5))
    assert results(out, final=True) == ["one two"]


def test_finalize_and_close_stream() -> None:
    fake = recognizer(endpointing=None)
    assert fake.audio(pcm(TIMELINE, 0.0, 0.7)) == []
    flushed = fake.finalize()
    assert [m["from_finalize"] for m in flushed] == [True]
    assert results(flushed, final=True) == ["one two"]
    fake.audio(pcm(TIMELINE, 0.7, 1.2))
    closing = fake.close_stream()
    assert results(closing, final=True) == ["three four"]
    assert closing[-1]["type"] == "Metadata"
    assert closing[-1]["duration"] == pytest.approx(1.2)


def test_silence_gets_empty_finals() -> None:
    silent = Timeline([], tail=3.0)
    fake = FakeRecognizer(silent, StreamConfig(), FakeDeepgramOptions(), "r")
    out = fake.audio(pcm(silent, 0.0, 3.0))
    assert results(out, final=True) == ["", "", ""]


def test_query_parsing() -> None:
    config = StreamConfig.from_query(
        {
            "sample_rate": ["8000"],
            "interim_results": ["true"],
            "endpointing": ["false"],
            "utterance_end_ms": ["1000"],
        }
    )
    assert config == StreamConfig(8000, True, None, False, 1.0)
    with pytest.raises(ValueError, match="mono"):
        StreamConfig.from_query({"encoding": ["opus"]})
    with pytest.raises(ConfigurationError):
        FakeDeepgramOptions(interim_interval=0)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/v1/listen?encoding=mulaw", 400), ("/v1/speak", 404)],
)
async def test_server_refuses_what_deepgram_refuses(
    path: str, status: int, autojump_clock: trio.abc.Clock
) -> None:
    with trio.fail_after(30):
        async with open_fake_deepgram(TIMELINE) as server:
            url = server.url.replace("/v1/listen", path)
            with pytest.raises(ConnectError) as info:
                async with open_websocket_client(url):
                    pass
    assert info.value.status == status
    assert server.sessions[0].refused == status
