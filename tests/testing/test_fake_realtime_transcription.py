"""The fake OpenAI realtime transcription: its recognizer (sync, audio-time) and its server."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import trio

from trioagents.core import ConfigurationError
from trioagents.testing import (
    FakeRealtimeTranscriptionOptions,
    Timeline,
    noise,
    open_fake_realtime_transcription,
    speech,
)
from trioagents.testing._realtime_transcription_recognizer import FakeTranscriber
from trioagents.transport import WebSocketClient, open_websocket_client

ITEM = "conversation.item.input_audio_transcription."
TIMELINE = Timeline([speech(0.2, 1.0, "one two three four")], tail=1.5, sample_rate=24000)


def pcm(timeline: Timeline, start: float, end: float) -> bytes:
    first, last = round(start / 0.01), round(end / 0.01)
    return b"".join(timeline.frame(i).to_bytes() for i in range(first, last))


def of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def transcriber(
    options: FakeRealtimeTranscriptionOptions | None = None, timeline: Timeline = TIMELINE
) -> FakeTranscriber:
    return FakeTranscriber(timeline, options or FakeRealtimeTranscriptionOptions(), 0)


def test_server_vad_segments_and_transcribes() -> None:
    fake = transcriber()
    out = fake.audio(pcm(TIMELINE, 0, TIMELINE.duration))
    kinds = [m["type"] for m in out if not m["type"].endswith("delta")]
    assert kinds == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        ITEM + "completed",
    ]
    started, stopped, committed, done = (m for m in out if not m["type"].endswith("delta"))
    assert started["audio_start_ms"] == 0  # 0.2 s less 300 ms of padding, not before 0
    assert stopped["audio_end_ms"] == 1500  # speech end + 500 ms of silence
    assert committed["previous_item_id"] is None
    assert committed["item_id"] == started["item_id"] == done["item_id"]
    deltas = [m["delta"] for m in of(out, ITEM + "delta")]
    assert deltas[:2] == ["one", " two"]
    assert "".join(deltas) == done["transcript"] == "one two three four"


def test_any_split_gives_the_same_events() -> None:
    data = pcm(TIMELINE, 0, TIMELINE.duration)
    whole = transcriber().audio(data)
    split = transcriber()
    pieces: list[dict[str, Any]] = []
    for i in range(0, len(data), 998):
        pieces += split.audio(data[i : i + 998])
    assert pieces == whole


def test_manual_commits() -> None:
    fake = transcriber()
    fake.turn_detection = None
    out = fake.audio(pcm(TIMELINE, 0, 0.6))
    assert not of(out, "input_audio_buffer.speech_started")
    assert [m["delta"] for m in of(out, ITEM + "delta")] == ["one", " two"]
    out = fake.commit()
    assert [m["type"] for m in out] == ["input_audio_buffer.committed", ITEM + "completed"]
    assert out[-1]["transcript"] == "one two"
    first = out[0]["item_id"]
    fake.audio(pcm(TIMELINE, 0.6, 0.65))
    (error,) = fake.commit()  # 50 ms: too small
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    fake.audio(pcm(TIMELINE, 0.65, TIMELINE.duration))
    out = fake.commit()
    assert out[0]["previous_item_id"] == first
    assert of(out, ITEM + "completed")[0]["transcript"] == "three four"


def test_lags_reorder_completions_and_a_commit_releases_them() -> None:
    timeline = Timeline(
        [speech(0.1, 0.5, "first"), speech(1.2, 1.6, "second")], tail=2.0, sample_rate=24000
    )
    fake = transcriber(FakeRealtimeTranscriptionOptions(item_lags=(1.5,)), timeline)
    out = fake.audio(pcm(timeline, 0, timeline.duration))
    assert [m["transcript"] for m in of(out, ITEM + "completed")] == ["second", "first"]
    fake = transcriber(FakeRealtimeTranscriptionOptions(final_lag=5.0), timeline)
    out = fake.audio(pcm(timeline, 0, timeline.duration))
    assert not of(out, ITEM + "completed")
    done = of(fake.commit(), ITEM + "completed")
    assert [m["transcript"] for m in done] == ["first", "second", ""]


def test_noise_is_heard_and_transcribes_to_nothing() -> None:
    timeline = Timeline([noise(0.1, 0.4)], tail=1.0, sample_rate=24000)
    out = transcriber(timeline=timeline).audio(pcm(timeline, 0, timeline.duration))
    assert len(of(out, "input_audio_buffer.speech_started")) == 1
    assert [m["transcript"] for m in of(out, ITEM + "completed")] == [""]


def test_clear_drops_the_buffer() -> None:
    fake = transcriber()
    fake.turn_detection = None
    fake.audio(pcm(TIMELINE, 0, 0.8))
    assert fake.clear() == [{"type": "input_audio_buffer.cleared"}]
    fake.audio(pcm(TIMELINE, 0.8, 1.2))
    assert of(fake.commit(), ITEM + "completed")[0]["transcript"] == "four"


def test_options_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        FakeRealtimeTranscriptionOptions(interim_interval=0)
    with pytest.raises(ConfigurationError):
        FakeRealtimeTranscriptionOptions(item_lags=(-1.0,))


# ------------------------------------------------------------------ the server


async def events(ws: WebSocketClient, count: int) -> list[dict[str, Any]]:
    return [json.loads(await ws.receive_message()) for _ in range(count)]


async def until(ws: WebSocketClient, kind: str) -> list[dict[str, Any]]:
    got = [json.loads(await ws.receive_message())]
    while got[-1]["type"] != kind:
        got.append(json.loads(await ws.receive_message()))
    return got


async def send(ws: WebSocketClient, kind: str, **fields: Any) -> None:
    await ws.send_text(json.dumps({"type": kind, **fields}))


GA_UPDATE = {
    "type": "transcription",
    "audio": {"input": {"transcription": {"model": "m"}, "turn_detection": None}},
}


async def test_a_ga_session(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(30):
        async with (
            open_fake_realtime_transcription(TIMELINE) as server,
            open_websocket_client(server.url) as ws,
        ):
            (created,) = await events(ws, 1)
            assert created["type"] == "session.created"
            assert created["session"]["type"] == "transcription"
            await send(ws, "session.update", session=GA_UPDATE)
            (updated,) = await events(ws, 1)
            assert updated["type"] == "session.updated"
            assert updated["session"]["audio"]["input"]["turn_detection"] is None
            audio = base64.b64encode(pcm(TIMELINE, 0, 1.2)).decode()
            await send(ws, "input_audio_buffer.append", audio=audio)
            await send(ws, "input_audio_buffer.commit")
            answered = [e["type"] for e in await until(ws, ITEM + "completed")]
            assert answered[-2:] == ["input_audio_buffer.committed", ITEM + "completed"]
            assert set(answered[:-2]) == {ITEM + "delta"}
            await send(ws, "response.create")
            (error,) = await events(ws, 1)
            assert error["error"]["code"] == "invalid_event"
    session = server.sessions[0]
    assert session.api == "ga"
    assert session.controls == ["session.update", "input_audio_buffer.commit", "response.create"]
    assert session.finals == ["one two three four"]
    assert session.audio_seconds == pytest.approx(1.2)
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/v1")


@pytest.mark.parametrize(
    ("update", "code"),
    [
        ({"type": "realtime"}, "invalid_value"),
        (
            {"type": "transcription", "audio": {"input": {"format": {"type": "audio/pcm"}}}},
            "invalid_value",
        ),
        ({"type": "transcription", "instructions": "x"}, "unknown_parameter"),
        (
            {"type": "transcription", "audio": {"input": {"turn_detection": {"type": "x"}}}},
            "invalid_value",
        ),
        ("not an object", "invalid_type"),
    ],
)
async def test_bad_updates_are_refused(
    update: object, code: str, autojump_clock: trio.abc.Clock
) -> None:
    with trio.fail_after(30):
        async with (
            open_fake_realtime_transcription(TIMELINE) as server,
            open_websocket_client(server.url) as ws,
        ):
            await events(ws, 1)
            await send(ws, "session.update", session=update)
            (error,) = await events(ws, 1)
    assert error["type"] == "error"
    assert error["error"]["code"] == code


async def test_a_beta_session(autojump_clock: trio.abc.Clock) -> None:
    headers = [(b"OpenAI-Beta", b"realtime=v1")]
    with trio.fail_after(30):
        async with (
            open_fake_realtime_transcription(TIMELINE) as server,
            open_websocket_client(server.url, extra_headers=headers) as ws,
        ):
            (created,) = await events(ws, 1)
            assert created["type"] == "transcription_session.created"
            await send(ws, "session.update", session=GA_UPDATE)  # the GA name: refused
            (error,) = await events(ws, 1)
            assert error["error"]["code"] == "invalid_event"
            beta = {"input_audio_format": "pcm16", "turn_detection": None}
            await send(ws, "transcription_session.update", session=beta)
            (updated,) = await events(ws, 1)
    assert updated["type"] == "transcription_session.updated"
    assert updated["session"]["turn_detection"] is None
    assert server.sessions[0].api == "beta"


async def test_a_wrong_key_is_refused_in_band(autojump_clock: trio.abc.Clock) -> None:
    options = FakeRealtimeTranscriptionOptions(api_key="sk-right")
    headers = [(b"Authorization", b"Bearer sk-wrong")]
    with trio.fail_after(30):
        async with (
            open_fake_realtime_transcription(TIMELINE, options) as server,
            open_websocket_client(server.url, extra_headers=headers) as ws,
        ):
            (error,) = await events(ws, 1)
            with pytest.raises(Exception, match="closed") as closed:
                await ws.receive_message()
    assert error["error"]["code"] == "invalid_api_key"
    assert closed.value.code == 3000  # type: ignore[attr-defined]
    assert server.sessions[0].ended_by == "server"
