"""AgentSession(llm=RealtimeModel(...)) end to end against the loopback fake server.

The user is a scripted timeline (FakeAudioInput) streamed into the model over a
real websocket; the fake's own VAD commits the turns and transcribes the
markers; its replies are audio whose samples say which characters were spoken,
played by FakeAudioOutput. Virtual time, real loopback sockets.
"""

from __future__ import annotations

import json

import pytest
import trio

from trioagents.core import ConfigurationError, FunctionCall
from trioagents.protocol import OpenAIRealtimeOptions
from trioagents.testing import (
    FakeRealtimeOptions,
    FakeTTS,
    FakeVAD,
    RealtimeReply,
    RealtimeToolCall,
    open_fake_realtime,
    speech,
)
from trioagents.voice import (
    Agent,
    AgentHandedOff,
    AgentSession,
    AgentStateChanged,
    ConversationItemAdded,
    FunctionToolsExecuted,
    TurnMetricsCollected,
    UserInputTranscribed,
    function_tool,
)

from .realtime_support import model_for, open_realtime_call

WEATHER = "what is the weather"


async def test_a_spoken_turn(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        async with open_realtime_call(
            [speech(0.5, 1.5, WEATHER)], [RealtimeReply("It is sunny today.")]
        ) as call:
            await call.sleep_until(5.0)
    assert call.said("user") == [WEATHER]
    assert call.said("assistant") == ["It is sunny today."]
    assistant = call.session.history.messages()[-1]
    connection = call.server.last
    assert assistant.id == connection.replies[0].item_id  # the model's item id
    assert not assistant.interrupted
    # the turn ends at the fake's commit (speech end + 300 ms silence), reply right after
    assert connection.replies[0].requested_at == pytest.approx(call.at(1.8), abs=0.02)
    kinds = [e.type for e in connection.events if e.type != "input_audio_buffer.append"]
    assert kinds == ["session.update", "response.create"]
    states = [e.new_state for e in call.of_type(AgentStateChanged)]
    assert states == ["listening", "thinking", "speaking", "listening"]
    finals = [e.transcript for e in call.of_type(UserInputTranscribed) if e.is_final]
    assert finals == [WEATHER]
    added = [e.item.content for e in call.of_type(ConversationItemAdded)]
    assert added == [WEATHER, "It is sunny today."]
    [metrics] = call.of_type(TurnMetricsCollected)
    assert metrics.e2e_latency is not None
    assert 0.3 <= metrics.e2e_latency < 0.4  # the server's 300 ms silence window + loopback
    usage = call.session.usage.of("llm")[0]
    assert usage.requests == 1
    assert usage.completion_tokens > 0
    played = call.audio_out.segments[0]
    assert not played.interrupted
    assert played.position == pytest.approx(len("It is sunny today.") / 16, abs=0.021)


async def test_text_runs_are_mirrored_into_the_model(autojump_clock: trio.abc.Clock) -> None:
    script = [RealtimeReply("Hello!"), RealtimeReply("Paris is in France.")]
    async with open_fake_realtime(script) as server:
        session: AgentSession[None] = AgentSession(llm=model_for(server))
        with trio.fail_after(30):
            async with session.start(Agent(instructions="Be brief.")):
                first = await session.run(user_input="hi")
                second = await session.run(user_input="where is Paris?")
    first.expect.next_event().is_message(role="user", contains="hi")
    first.expect.next_event().is_message(role="assistant", contains="Hello!")
    second.expect.next_event().is_message(role="user")
    second.expect.next_event().is_message(role="assistant", contains="Paris is in France.")
    creates = [e.body["item"] for e in server.last.of_type("conversation.item.create")]
    # only the typed turns are sent: the model's own replies are already in its conversation
    assert [(i["role"], i["content"][0]["text"]) for i in creates] == [
        ("user", "hi"),
        ("user", "where is Paris?"),
    ]
    assert [r.status for r in server.last.replies] == ["completed", "completed"]


class WeatherAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You tell the weather.")

    @function_tool
    async def get_weather(self, city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"


async def test_a_tool_call_runs_and_its_output_goes_back(autojump_clock: trio.abc.Clock) -> None:
    call_paris = RealtimeToolCall("get_weather", json.dumps({"city": "Paris"}))
    script = [RealtimeReply("Let me check.", (call_paris,)), RealtimeReply("It is sunny in Paris.")]
    with trio.fail_after(60):
        async with open_realtime_call(
            [speech(0.5, 1.5, "weather in paris")], script, agent=WeatherAgent()
        ) as call:
            await call.sleep_until(8.0)
    history = [
        (type(i).__name__, getattr(i, "content", getattr(i, "output", "")))
        for i in call.session.history
    ]
    assert history == [
        ("ChatMessage", "weather in paris"),
        ("ChatMessage", "Let me check."),
        ("FunctionCall", ""),
        ("FunctionCallOutput", "sunny in Paris"),
        ("ChatMessage", "It is sunny in Paris."),
    ]
    connection = call.server.last
    outputs = connection.function_outputs()
    assert [o["output"] for o in outputs] == ["sunny in Paris"]
    assert outputs[0]["call_id"] == next(
        i.call_id for i in call.session.history if isinstance(i, FunctionCall)
    )
    # no function_call item was sent back: the model made it
    created = [e.body["item"]["type"] for e in connection.of_type("conversation.item.create")]
    assert created == ["function_call_output"]
    assert len(connection.of_type("response.create")) == 2
    [executed] = call.of_type(FunctionToolsExecuted)
    assert [o.output for o in executed.function_call_outputs] == ["sunny in Paris"]
    tools = connection.of_type("session.update")[0].body["session"]["tools"]
    assert [t["name"] for t in tools] == ["get_weather"]


class FrontDesk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are the front desk.")

    @function_tool
    async def to_bookings(self) -> Bookings:
        """Hand the caller to the bookings desk."""
        return Bookings()


class Bookings(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You take bookings.")

    @function_tool
    async def book(self, day: str) -> str:
        """Book a table."""
        return f"booked for {day}"

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Greet the caller.")


async def test_a_handoff_updates_the_session_and_keeps_the_conversation(
    autojump_clock: trio.abc.Clock,
) -> None:
    script = [
        RealtimeReply("", (RealtimeToolCall("to_bookings"),)),
        RealtimeReply("Bookings here, which day?"),
    ]
    with trio.fail_after(60):
        async with open_realtime_call(
            [speech(0.5, 1.5, "i want a table")], script, agent=FrontDesk()
        ) as call:
            await call.sleep_until(8.0)
            assert type(call.session.current_agent) is Bookings
    [handoff] = call.of_type(AgentHandedOff)
    assert (handoff.old_agent, handoff.new_agent) == ("FrontDesk", "Bookings")
    connection = call.server.last
    assert len(call.server.sessions) == 1  # one connection for the whole call
    updates = [e for e in connection.events if e.type == "session.update"]
    assert [u.body["session"]["instructions"] for u in updates] == [
        "You are the front desk.",
        "You take bookings.",
    ]
    assert [t["name"] for t in updates[1].body["session"]["tools"]] == ["book"]
    # sent at the switch, before the new agent's first reply
    second_reply = connection.of_type("response.create")[1]
    assert updates[1].at <= second_reply.at
    assert second_reply.body["response"]["instructions"] == (
        "You take bookings.\n\nGreet the caller."
    )
    # the conversation is kept: the user's audio turn was not sent again
    user_items = [i for i in connection.items if i.get("role") == "user"]
    assert [i["text"] for i in user_items] == ["i want a table"]
    assert call.said("assistant") == ["Bookings here, which day?"]


async def test_say_needs_a_tts_with_a_realtime_model(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(30):
        async with open_realtime_call([], [RealtimeReply("x")], tail=1.0) as call:
            with pytest.raises(ConfigurationError, match="TTS"):
                call.session.say("Hello")


async def test_say_with_a_tts_plays_it_and_the_model_learns_it(
    autojump_clock: trio.abc.Clock,
) -> None:
    script = [RealtimeReply("You said hello.")]
    with trio.fail_after(60):
        async with open_realtime_call([], script, tail=1.0, tts=FakeTTS()) as call:
            await call.session.say("Welcome to the demo.")
            await call.session.generate_reply()
    assert call.said("assistant") == ["Welcome to the demo.", "You said hello."]
    created = [e.body["item"] for e in call.server.last.of_type("conversation.item.create")]
    assert [(i["role"], i["content"][0]) for i in created] == [
        ("assistant", {"type": "output_text", "text": "Welcome to the demo."})
    ]


async def test_our_turn_detection_commits_the_audio(autojump_clock: trio.abc.Clock) -> None:
    options = OpenAIRealtimeOptions(turn_detection=None, input_transcription_model=None)
    with trio.fail_after(60):
        async with open_realtime_call(
            [speech(0.5, 1.5, WEATHER)],
            [RealtimeReply("Sunny.")],
            options=options,
            with_stt=True,
            vad=FakeVAD(),
        ) as call:
            await call.sleep_until(5.0)
    assert call.said("user") == [WEATHER]
    assert call.said("assistant") == ["Sunny."]
    connection = call.server.last
    kinds = [e.type for e in connection.events if e.type != "input_audio_buffer.append"]
    # the STT's words are ours; the model has them as audio: no text item for them
    assert kinds == ["session.update", "input_audio_buffer.commit", "response.create"]
    assert connection.session["audio"]["input"]["turn_detection"] is None


async def test_our_turn_detection_needs_an_stt(autojump_clock: trio.abc.Clock) -> None:
    options = OpenAIRealtimeOptions(turn_detection=None)
    with trio.fail_after(30), pytest.raises(ConfigurationError, match="turn_detection=None"):
        async with open_realtime_call([], [RealtimeReply("x")], options=options, tail=1.0):
            pass


async def test_a_late_transcript_still_comes_before_the_reply(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The user's transcript arrives after the (short) reply played: the reply is
    recorded after it (waiting at most close_grace), so the history reads in order."""
    fake = FakeRealtimeOptions(transcription_delay=1.0)
    with trio.fail_after(60):
        async with open_realtime_call(
            [speech(0.5, 1.5, WEATHER)], [RealtimeReply("Sunny.")], fake=fake
        ) as call:
            await call.sleep_until(5.0)
    messages = call.session.history.messages()
    assert [(m.role, m.content) for m in messages] == [("user", WEATHER), ("assistant", "Sunny.")]
    assert messages[1].created_at == pytest.approx(call.at(2.8), abs=0.02)
