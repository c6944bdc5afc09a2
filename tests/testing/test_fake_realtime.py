"""The fake OpenAI Realtime server speaks the protocol as the real one does.

Driven with a raw trio-websocket client (not our provider), so the fake's own
behaviour is what is tested: the greeting, the refusals the real server gives,
the beta event names, the key check, the recorded events.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import trio

from trioagents.core import ConnectError
from trioagents.protocol import OpenAIRealtimeOptions
from trioagents.testing import (
    FakeRealtimeOptions,
    FakeRealtimeServer,
    RealtimeReply,
    open_fake_realtime,
)
from trioagents.transport import WebSocketClient, open_websocket_client

from ..providers._realtime_support import realtime, reply


def _url(server: FakeRealtimeServer, query: str = "?model=gpt-realtime") -> str:
    return server.base_url.replace("http://", "ws://") + "/realtime" + query


async def _events(ws: WebSocketClient, until: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        event = json.loads(await ws.receive_message())
        seen.append(event)
        if event["type"] == until:
            return seen


async def test_the_real_servers_refusals(autojump_clock: trio.abc.Clock) -> None:
    async with (
        open_fake_realtime([RealtimeReply("Hello there.")]) as server,
        open_websocket_client(_url(server)) as ws,
    ):
        assert json.loads(await ws.receive_message())["type"] == "session.created"
        await ws.send_text(json.dumps({"type": "response.cancel", "event_id": "c1"}))
        [error] = await _events(ws, "error")
        assert (error["error"]["code"], error["error"]["event_id"]) == (
            "response_cancel_not_active",
            "c1",
        )
        await ws.send_text(json.dumps({"type": "response.create", "event_id": "r1"}))
        await ws.send_text(json.dumps({"type": "response.create", "event_id": "r2"}))
        events = await _events(ws, "response.done")
        refused = [e for e in events if e["type"] == "error"]
        assert [e["error"]["code"] for e in refused] == ["conversation_already_has_active_response"]
        item_id = next(e["item_id"] for e in events if e["type"] == "response.output_audio.delta")
        truncate = {"type": "conversation.item.truncate", "item_id": item_id, "audio_end_ms": 9999}
        await ws.send_text(json.dumps({**truncate, "event_id": "t1"}))
        [error] = await _events(ws, "error")
        assert error["error"]["code"] == "audio_end_ms_exceeds_audio"
        await ws.send_text(json.dumps({**truncate, "audio_end_ms": 250, "event_id": "t2"}))
        [truncated] = await _events(ws, "conversation.item.truncated")
        assert truncated["audio_end_ms"] == 250
    assert server.last.item(item_id)["text"] == "Hell"  # 250 ms at 16 characters per second
    assert [e.type for e in server.last.events][:2] == ["response.cancel", "response.create"]


@pytest.mark.parametrize("query", ["", "?model="])
async def test_a_url_without_model_is_refused(query: str, autojump_clock: trio.abc.Clock) -> None:
    async with open_fake_realtime() as server:
        with pytest.raises(ConnectError) as caught:
            async with open_websocket_client(_url(server, query)):
                pass
    assert caught.value.status == 404


async def test_the_key_is_checked(autojump_clock: trio.abc.Clock) -> None:
    async with open_fake_realtime(options=FakeRealtimeOptions(api_key="right")) as server:
        with pytest.raises(ConnectError) as caught:
            async with open_websocket_client(_url(server)):
                pass
        headers = [(b"Authorization", b"Bearer right")]
        async with open_websocket_client(_url(server), extra_headers=headers) as ws:
            assert json.loads(await ws.receive_message())["type"] == "session.created"
    assert caught.value.status == 401


async def test_beta_names_and_the_beta_client(autojump_clock: trio.abc.Clock) -> None:
    fake = FakeRealtimeOptions(beta_names=True)
    async with open_fake_realtime([RealtimeReply("Hi.")], options=fake) as server:
        model = realtime(server, options=OpenAIRealtimeOptions(api="beta"))
        with trio.fail_after(10):
            async with model.session(instructions="x") as session:
                out = await reply(session)
    assert out.text == "Hi."
    assert out.audio_seconds == pytest.approx(3 / 16, abs=0.021)
    connection = server.last
    assert connection.headers["openai-beta"] == "realtime=v1"
    assert connection.session["input_audio_format"] == "pcm16"


async def test_audio_is_recorded_without_its_payload(autojump_clock: trio.abc.Clock) -> None:
    async with (
        open_fake_realtime() as server,
        open_websocket_client(_url(server)) as ws,
    ):
        await ws.receive_message()
        audio = base64.b64encode(b"\x01\x00" * 240).decode()
        await ws.send_text(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        await server.wait_for(lambda s: bool(s.last.events))
    [event] = server.last.events
    assert event.body["audio"] == 480
    assert server.last.audio_seconds == pytest.approx(0.01)
