"""RealtimeModel against the loopback fake OpenAI Realtime server.

Virtual time (autojump) with real sockets on 127.0.0.1: both peers are Trio tasks
of this process, so Trio is idle only when nothing is in flight. Every test is
bounded by a virtual-time ``fail_after``.
"""

from __future__ import annotations

import json

import pytest
import trio

from trioagents.core import (
    ChatMessage,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
    InputCommitted,
    InputSpeechStarted,
    InputSpeechStopped,
    InputTranscribed,
    RealtimeInputEvent,
    RealtimeLLM,
    ToolSpec,
)
from trioagents.protocol import OpenAIRealtimeOptions, ServerVAD
from trioagents.testing import (
    FakeAudioInput,
    FakeRealtimeOptions,
    RealtimeReply,
    RealtimeToolCall,
    Timeline,
    open_fake_realtime,
    speech,
)

from ._realtime_support import KEY, realtime, reply

WEATHER = ToolSpec("get_weather", "Weather.", {"type": "object", "properties": {}})


async def test_a_reply_is_audio_its_transcript_and_usage(autojump_clock: trio.abc.Clock) -> None:
    async with open_fake_realtime([RealtimeReply("Hello there, how are you?")]) as server:
        model = realtime(server)
        assert isinstance(model, RealtimeLLM)
        with trio.fail_after(10):
            async with model.session(instructions="Be nice.", tools=[WEATHER]) as session:
                out = await reply(session)
    assert out.error is None
    assert out.text == "Hello there, how are you?"
    assert out.status == "completed"
    assert out.audio_seconds == pytest.approx(len(out.text) / 16, abs=0.021)
    assert out.spoken_chars == len(out.text)  # the fake's markers: every character
    assert all(f.frame.duration <= 0.0201 and f.frame.sample_rate == 24000 for f in out.frames)
    assert out.usage
    assert out.usage[0].completion_tokens > 0
    connection = server.last
    assert connection.headers["authorization"] == f"Bearer {KEY}"
    assert connection.query["model"] == ["gpt-realtime"]
    update = connection.of_type("session.update")[0].body["session"]
    assert update["instructions"] == "Be nice."
    assert update["tools"][0]["name"] == "get_weather"
    assert [e.type for e in connection.events] == ["session.update", "response.create"]


async def test_tool_calls_arrive_whole(autojump_clock: trio.abc.Clock) -> None:
    script = [RealtimeReply("One moment.", (RealtimeToolCall("get_weather", '{"city": "Paris"}'),))]
    async with open_fake_realtime(script) as server:
        with trio.fail_after(10):
            async with realtime(server).session(instructions="", tools=[WEATHER]) as session:
                out = await reply(session)
                assert [c.name for c in out.calls] == ["get_weather"]
                call = out.calls[0]
                assert json.loads(call.arguments) == {"city": "Paris"}
                assert call.call_id in session.known_calls
                output = FunctionCallOutput(call.call_id, "get_weather", '{"sky": "blue"}')
                await session.add_item(output)
                await server.wait_for(lambda s: bool(s.last.function_outputs()))
    assert server.last.function_outputs()[0]["output"] == '{"sky": "blue"}'


async def test_leaving_a_reply_early_cancels_it(autojump_clock: trio.abc.Clock) -> None:
    options = FakeRealtimeOptions(pace=1.0)  # real-time generation: still running when left
    script = [RealtimeReply("A long answer that goes on and on and on."), RealtimeReply("Ok.")]
    async with open_fake_realtime(script, options=options) as server:
        with trio.fail_after(20):
            async with realtime(server).session(instructions="") as session:
                first = await reply(session, limit=10)
                second = await reply(session)  # waits for the cancelled one's response.done
    assert first.error is None
    assert len(first.frames) == 10
    assert second.text == "Ok."
    connection = server.last
    assert [r.status for r in connection.replies] == ["cancelled", "completed"]
    cancel = connection.of_type("response.cancel")
    assert len(cancel) == 1
    assert cancel[0].body["response_id"] == connection.replies[0].response_id


async def test_cancelled_scope_cancels_the_reply_and_is_not_an_error(
    autojump_clock: trio.abc.Clock,
) -> None:
    options = FakeRealtimeOptions(pace=1.0)
    async with open_fake_realtime([RealtimeReply("x" * 80)], options=options) as server:
        with trio.fail_after(20):
            async with realtime(server).session(instructions="") as session:
                with trio.move_on_after(1.0):
                    await reply(session)
                await server.wait_for(lambda s: bool(s.last.of_type("response.cancel")))
                await server.wait_for(lambda s: s.last.replies[0].status == "cancelled")


async def test_truncate_and_delete(autojump_clock: trio.abc.Clock) -> None:
    async with open_fake_realtime([RealtimeReply("Sixteen chars..")]) as server:
        with trio.fail_after(10):
            async with realtime(server).session(instructions="") as session:
                out = await reply(session)
                item_id = out.frames[0].item_id
                assert item_id in session.known_items
                await session.truncate(item_id, 0.5)
                await server.wait_for(lambda s: bool(s.last.of_type("conversation.item.truncate")))
                await session.add_item(ChatMessage(role="user", content="hi"))
                await session.add_item(FunctionCall("call_x", "f", "{}"))
                await session.delete_item(item_id)
                await server.wait_for(lambda s: s.last.item(item_id) is None)
    truncate = server.last.of_type("conversation.item.truncate")[0].body
    assert (truncate["item_id"], truncate["audio_end_ms"]) == (item_id, 500)
    kinds = [(i["type"], i.get("role")) for i in server.last.items]
    assert kinds == [("message", "user"), ("function_call", None)]


async def test_server_vad_reports_speech_commit_and_transcript(
    autojump_clock: trio.abc.Clock,
) -> None:
    timeline = Timeline([speech(0.2, 1.0, "what is the weather")], tail=1.0)
    options = OpenAIRealtimeOptions(turn_detection=ServerVAD(silence_duration_ms=300))
    async with open_fake_realtime(timeline=timeline) as server:
        events: list[RealtimeInputEvent] = []
        with trio.fail_after(10):
            async with (
                realtime(server, options=options).session(instructions="") as session,
                trio.open_nursery() as nursery,
            ):

                async def listen() -> None:
                    async for event in session.input_events():
                        events.append(event)
                        if isinstance(event, InputTranscribed) and event.final:
                            nursery.cancel_scope.cancel()

                nursery.start_soon(listen)
                async for frame in FakeAudioInput(timeline):
                    await session.push_audio(frame)
                await trio.sleep_forever()
    kinds = [type(e) for e in events]
    assert kinds[:3] == [InputSpeechStarted, InputSpeechStopped, InputCommitted]
    started, stopped = events[0], events[1]
    assert isinstance(started, InputSpeechStarted)
    assert isinstance(stopped, InputSpeechStopped)
    assert started.audio_at == pytest.approx(0.2, abs=0.02)
    assert stopped.audio_at == pytest.approx(1.0, abs=0.02)
    last = events[-1]
    assert isinstance(last, InputTranscribed)
    assert last.text == "what is the weather"
    assert server.last.audio_seconds >= 1.29  # through the 300 ms silence window


async def test_manual_commit_without_server_vad(autojump_clock: trio.abc.Clock) -> None:
    timeline = Timeline([speech(0.0, 0.5, "hello")], tail=0.1)
    options = OpenAIRealtimeOptions(turn_detection=None)
    async with open_fake_realtime(timeline=timeline) as server:
        with trio.fail_after(10):
            model = realtime(server, options=options)
            assert not model.server_turn_detection
            async with model.session(instructions="") as session:
                async for frame in FakeAudioInput(timeline):
                    await session.push_audio(frame)
                await session.commit_input()
                async for event in session.input_events():
                    if isinstance(event, InputTranscribed) and event.final:
                        assert event.text == "hello"
                        break
    assert not server.last.of_type("input_audio_buffer.speech_started")
    update = server.last.of_type("session.update")[0].body["session"]
    assert update["audio"]["input"]["turn_detection"] is None


def test_construction() -> None:
    model = realtime("http://127.0.0.1:1/v1", voice="cedar", model="gpt-realtime-mini")
    assert (model.options.voice, model.options.model) == ("cedar", "gpt-realtime-mini")
    assert model.label == "openai-realtime/gpt-realtime-mini"
    off = realtime("http://127.0.0.1:1/v1", turn_detection=None)
    assert not off.server_turn_detection
    with pytest.raises(ConfigurationError):
        realtime("ftp://127.0.0.1:1/v1")
