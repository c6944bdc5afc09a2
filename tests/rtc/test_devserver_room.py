"""Two of our Rooms in the embedded dev server: media, data, RPC, a dropped signal.

Real peer connections on loopback, real clock, each test bounded by fail_after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest
import trio
from livekit.protocol import models

from trioagents.core import AudioFrame
from trioagents.devserver import DevServer, open_devserver
from trioagents.protocol import VideoGrants, mint_token
from trioagents.rtc import (
    ConnectionLost,
    ConnectionResumed,
    DataReceived,
    ReconnectPolicy,
    RemoteTrackSubscribed,
    Room,
    RoomOptions,
    RpcInvocation,
    TextStreamReader,
    open_room,
)

from .fake_server import dominant_frequency, tone
from .tcp_proxy import open_tcp_proxy

pytestmark = pytest.mark.slow

FAST = RoomOptions(reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=0.2), seed=3)


def token(server: DevServer, identity: str) -> str:
    grants = VideoGrants(room_join=True, room="room", can_update_own_metadata=True)
    return mint_token(server.api_key, server.api_secret, identity=identity, video=grants)


async def wait_for_audio_track(room: Room, identity: str) -> str:
    while True:
        participant = room.remote_participants.get(identity)
        if participant is not None:
            for publication in participant.tracks.values():
                if publication.kind == "audio":
                    return publication.sid
        await room.wait_state_changed()


@asynccontextmanager
async def speaking(room: Room, freq: float) -> AsyncIterator[None]:
    """Publish a continuous tone for the block."""
    async with room.publish_audio(sample_rate=48000) as source, trio.open_nursery() as nursery:

        async def play() -> None:
            signal = tone(freq, 60.0)
            for start in range(0, len(signal), 960):
                await source.capture_frame(AudioFrame.from_mono(signal[start : start + 960], 48000))

        nursery.start_soon(play)
        yield
        nursery.cancel_scope.cancel()


async def heard_frequency(room: Room, track_sid: str, seconds: float = 0.6) -> float:
    async with room.subscribe_audio(track_sid, sample_rate=16000) as stream:
        return await loud_frequency(stream, 16000, seconds)


async def loud_frequency(frames: AsyncIterator[AudioFrame], rate: int, seconds: float) -> float:
    """The dominant frequency of the next ``seconds`` of non-silent audio."""
    chunks: list[np.ndarray] = []
    async for frame in frames:
        if np.abs(frame.data).max() > 1000:
            chunks.append(frame.data[:, 0])
        if sum(map(len, chunks)) >= int(seconds * rate):
            break
    assert chunks, "only silence arrived"
    return dominant_frequency(np.concatenate(chunks), rate)


async def test_media_both_ways_data_and_rpc_between_two_rooms() -> None:
    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "agent")) as agent,
            open_room(server.url, token(server, "user")) as user,
            speaking(agent, 660.0),
            speaking(user, 440.0),
        ):
            user_track = await wait_for_audio_track(agent, "user")
            agent_track = await wait_for_audio_track(user, "agent")
            assert abs(await heard_frequency(agent, user_track) - 440.0) < 10
            assert abs(await heard_frequency(user, agent_track) - 660.0) < 10

            await user.send_data(b"ping", topic="t", destination_identities=["agent"])
            async for event in agent.events():
                if isinstance(event, DataReceived):
                    assert (event.payload, event.topic, event.sender_identity) == (
                        b"ping",
                        "t",
                        "user",
                    )
                    break

            async def double(invocation: RpcInvocation) -> str:
                assert invocation.caller_identity == "user"
                return invocation.payload * 2

            agent.register_rpc_method("double", double)
            assert await user.perform_rpc("agent", "double", "ab") == "abab"

            await agent.set_attributes({"lk.agent.state": "speaking"})
            while user.remote_participants["agent"].attributes.get("lk.agent.state") != "speaking":
                await user.wait_state_changed()


async def test_text_streams_of_a_topic_arrive_in_the_order_they_were_opened() -> None:
    """Chat lines sent back to back, and two interleaved streams, read in send order."""
    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "agent")) as agent,
            open_room(server.url, token(server, "user")) as user,
            agent.text_streams("lk.chat") as lines,
        ):
            with pytest.raises(ValueError, match="already being read"):
                agent.register_text_stream_handler("lk.chat", _ignore_stream)
            sent = [f"line {i}" for i in range(20)]
            for line in sent:
                await user.send_text(line, topic="lk.chat")
            async with (
                user.open_text_stream("lk.chat") as first,
                user.open_text_stream("lk.chat") as second,
            ):
                await second.write("second, written first")
                await first.write("first, written second")
            got = []
            async for reader in lines:
                assert reader.info.sender_identity == "user"
                got.append(await reader.read_all())
                if len(got) == len(sent) + 2:
                    break
            assert got == [*sent, "first, written second", "second, written first"]
            assert agent.statistics().dropped_streams == 0


async def test_an_agent_sends_user_transcripts_on_the_users_behalf() -> None:
    """As with livekit-server: an agent's stream naming the user arrives as the user's
    (marked generated); its own lines, and a standard participant's claim, as the sender."""
    agent_grants = VideoGrants(room_join=True, room="room", agent=True)
    with trio.fail_after(20):
        async with open_devserver() as server:
            agent_token = mint_token(
                server.api_key, server.api_secret, identity="agent", video=agent_grants
            )
            async with (
                open_room(server.url, agent_token) as agent,
                open_room(server.url, token(server, "user")) as user,
                open_room(server.url, token(server, "other")) as other,
                user.text_streams("lk.transcription") as transcripts,
            ):
                await agent.send_text("you said", topic="lk.transcription", sender_identity="user")
                await agent.send_text("I said", topic="lk.transcription")
                await other.send_text("forged", topic="lk.transcription", sender_identity="user")
                seen = []
                async for reader in transcripts:
                    text = await reader.read_all()
                    seen.append((text, reader.info.sender_identity, reader.info.generated))
                    if len(seen) == 3:
                        break
                assert sorted(seen) == [
                    ("I said", "agent", False),
                    ("forged", "other", False),
                    ("you said", "user", True),
                ]


async def test_a_signal_drop_is_resumed_on_the_same_tracks() -> None:
    """LiveKit's resume: a new socket with reconnect=1, same participant and tracks,
    ICE restarted on both PCs; the audio keeps flowing both ways throughout."""
    with trio.fail_after(25):
        async with (
            open_devserver() as server,
            open_tcp_proxy(server.port) as proxy,
            open_room(f"ws://127.0.0.1:{proxy.port}", token(server, "agent"), FAST) as agent,
            open_room(server.url, token(server, "user")) as user,
            speaking(user, 440.0),
            speaking(agent, 660.0),
        ):
            user_track = await wait_for_audio_track(agent, "user")
            agent_track = await wait_for_audio_track(user, "agent")
            sid = agent.local_participant.sid
            async with agent.subscribe_audio(user_track, sample_rate=16000) as from_user:
                async for _ in from_user:
                    break
                proxy.sever()
                events = agent.events()
                async for event in events:
                    if isinstance(event, ConnectionLost):
                        break
                async for event in events:
                    if isinstance(event, ConnectionResumed):
                        break
                assert proxy.connections == 2
                stats = agent.statistics()
                assert (stats.joins, stats.resumes) == (1, 1)
                assert agent.local_participant.sid == sid  # the same participant
                chunks: list[np.ndarray] = []
                async for frame in from_user:
                    chunks.append(frame.data[:, 0])
                    if len(chunks) >= 40:
                        break
                samples = np.concatenate(chunks[10:])
                assert abs(dominant_frequency(samples, 16000) - 440.0) < 10
            # the user never saw the agent leave: same track, still heard
            assert await wait_for_audio_track(user, "agent") == agent_track
            assert abs(await heard_frequency(user, agent_track) - 660.0) < 10
            await agent.set_attributes({"after": "resume"})  # signalling works again
            info = server.registry.rooms["room"].participants["agent"].info
            assert info.sid == sid
            assert info.attributes["after"] == "resume"


async def test_manual_subscription() -> None:
    with trio.fail_after(15):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "user")) as user,
            speaking(user, 440.0),
            open_room(
                server.url, token(server, "agent"), RoomOptions(auto_subscribe=False)
            ) as agent,
        ):
            sid = await wait_for_audio_track(agent, "user")
            with trio.move_on_after(0.5):
                async for event in agent.events():
                    assert not isinstance(event, RemoteTrackSubscribed), "not asked for"
            await agent.set_subscribed(sid)
            assert abs(await heard_frequency(agent, sid) - 440.0) < 10


async def test_agent_session_speaks_into_the_room() -> None:
    """A real AgentSession over room IO: say() → TTS → published track, state, transcript."""
    from trioagents.roomio import open_room_io
    from trioagents.testing import FakeTTS, FakeVAD
    from trioagents.voice import Agent, AgentSession

    text = "Hello from the room."
    states: list[str] = []
    transcript_final = trio.Event()
    back_to_listening = trio.Event()
    partials: list[str] = []

    async def on_transcript(reader):  # type: ignore[no-untyped-def]
        received = await reader.read_all()
        if reader.final_attributes.get("lk.transcription_final") != "true":
            partials.append(received)
        elif received == text:
            transcript_final.set()

    async def watch_state(user: Room) -> None:
        while True:
            agent = user.remote_participants.get("agent")
            state = agent.attributes.get("lk.agent.state") if agent else None
            if state and (not states or states[-1] != state):
                states.append(state)
                if state == "listening" and "speaking" in states:
                    back_to_listening.set()
            await user.wait_state_changed()

    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "user")) as user,
            speaking(user, 440.0),  # the user is linked by its microphone track
            open_room(server.url, token(server, "agent")) as room,
            trio.open_nursery() as nursery,
        ):
            user.register_text_stream_handler("lk.transcription", on_transcript)
            nursery.start_soon(watch_state, user)
            session: AgentSession[None] = AgentSession(tts=FakeTTS(), vad=FakeVAD())
            async with (
                open_room_io(room, session) as io,
                session.start(
                    Agent(instructions="test"),
                    audio_input=io.audio_input,
                    audio_output=io.audio_output,
                    text_output=io.text_output,
                ),
            ):
                assert io.linked_identity == "user"
                # the user's tone counts as speech: do not let it interrupt the greeting
                handle = session.say(text, allow_interruptions=False)
                await handle.wait_for_playout()
                played = io.source.statistics().played
                assert played == pytest.approx(len(text) / 16.0, abs=0.05)  # FakeTTS rate
                await transcript_final.wait()
                await back_to_listening.wait()
            # word by word as it played: growing prefixes of the text, before the final
            assert partials
            # (the last non-final update may already carry the whole text when the final
            # is queued after it was sent: both are "heard so far")
            assert all(text.startswith(p) for p in partials), partials
            assert any(len(p) < len(text) for p in partials), partials
            assert states[-2:] == ["speaking", "listening"]
            nursery.cancel_scope.cancel()


async def _ignore_stream(reader: TextStreamReader) -> None:
    await reader.read_all()


async def test_room_io_turns_the_linked_participants_chat_lines_into_turns() -> None:
    """lk.chat from the linked user, in order, interrupting; others' lines are not turns."""
    from trioagents.core import ChatMessage
    from trioagents.providers import Rule, ScriptedLLM
    from trioagents.roomio import TextInputEvent, open_room_io
    from trioagents.testing import FakeTTS
    from trioagents.voice import Agent, AgentSession, ConversationItemAdded

    llm = ScriptedLLM([Rule("long", "a long answer " * 20)], default="ok")
    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "user")) as user,
            open_room(server.url, token(server, "other")) as other,
            speaking(user, 440.0),  # the user is linked by its microphone track
            open_room(server.url, token(server, "agent")) as room,
        ):
            session: AgentSession[None] = AgentSession(llm=llm, tts=FakeTTS())
            events = session.subscribe()
            async with (
                open_room_io(room, session) as io,
                session.start(
                    Agent(instructions="test"),
                    audio_output=io.audio_output,
                    text_output=io.text_output,
                ),
            ):
                await other.send_text("not my agent", topic="lk.chat")
                async with user.text_streams("lk.transcription") as transcripts:
                    await user.send_text("tell me something long", topic="lk.chat")
                    async for reader in transcripts:  # the answer is being heard
                        if (await reader.read_all()).startswith("a long answer a long"):
                            break
                await user.send_text("never mind", topic="lk.chat")
                said: list[ChatMessage] = []
                async for event in events:
                    item = event.item if isinstance(event, ConversationItemAdded) else None
                    if isinstance(item, ChatMessage):
                        said.append(item)
                        if item.role == "assistant" and item.content == "ok":
                            break
            users = [m.content for m in said if m.role == "user"]
            assert users == ["tell me something long", "never mind"]
            long_answer = [m for m in said if m.content.startswith("a long answer")]
            assert len(long_answer) == 1
            assert long_answer[0].interrupted  # cut by the second line
            assert len(long_answer[0].content) < len("a long answer " * 20)

    lines: list[TextInputEvent] = []
    ten = trio.Event()

    async def collect(session: AgentSession[None], event: TextInputEvent) -> None:
        lines.append(event)
        if len(lines) == 10:
            ten.set()
        await trio.lowlevel.checkpoint()

    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "user")) as user,
            speaking(user, 440.0),
            open_room(server.url, token(server, "agent")) as room,
        ):
            session = AgentSession(llm=llm, tts=FakeTTS())
            async with open_room_io(room, session, text_input=collect):
                for i in range(10):
                    await user.send_text(f"line {i}", topic="lk.chat")
                await ten.wait()
            assert [e.text for e in lines] == [f"line {i}" for i in range(10)]
            assert {e.participant_identity for e in lines} == {"user"}
            room.register_text_stream_handler("lk.chat", _ignore_stream)  # free again
            with pytest.raises(ValueError, match="already has a text stream handler"):
                async with open_room_io(room, session):
                    pass


async def test_room_io_follows_the_participant_across_republishing() -> None:
    """Text-only at first (linked anyway), then two successive microphone tracks."""
    from trioagents.roomio import open_room_io
    from trioagents.voice import AgentSession

    with trio.fail_after(30):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "user")) as user,
            open_room(server.url, token(server, "agent")) as room,
        ):
            session: AgentSession[None] = AgentSession()
            async with open_room_io(room, session, input_sample_rate=16000) as io:
                assert io.linked_identity == "user"  # no track needed to link
                assert io.audio_input.track_sid == ""
                frames = io.audio_input.__aiter__()
                async with speaking(user, 440.0):
                    assert abs(await loud_frequency(frames, 16000, 0.4) - 440.0) < 10
                    first = io.audio_input.track_sid
                # unpublished; the next microphone is a new track with a new sid
                async with speaking(user, 660.0):
                    assert abs(await loud_frequency(frames, 16000, 0.8) - 660.0) < 10
                    assert io.audio_input.track_sid not in ("", first)
                assert io.audio_input.tracks_followed == 2


@pytest.mark.parametrize("close_on_disconnect", [True, False])
async def test_the_session_ends_when_the_linked_participant_hangs_up(
    close_on_disconnect: bool,
) -> None:
    from trioagents.roomio import open_room_io
    from trioagents.rtc import ParticipantDisconnected
    from trioagents.testing import FakeTTS
    from trioagents.voice import Agent, AgentSession

    hang_up = trio.Event()

    async def caller(server: DevServer) -> None:
        async with open_room(server.url, token(server, "user")):
            await hang_up.wait()  # then leave: CLIENT_INITIATED

    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "agent")) as room,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(caller, server)
            session: AgentSession[None] = AgentSession(tts=FakeTTS())
            async with (
                open_room_io(room, session, close_on_disconnect=close_on_disconnect) as io,
                session.start(Agent(instructions="test"), audio_output=io.audio_output),
            ):
                hang_up.set()
                if close_on_disconnect:
                    await trio.sleep_forever()  # cancelled by the session's close
                async for event in room.events():
                    if isinstance(event, ParticipantDisconnected):
                        break
                reason = room.departure_reason("user")
                assert reason == models.DisconnectReason.CLIENT_INITIATED
                assert session.close_reason is None  # still serving: the caller may return
    expected = "participant_disconnected" if close_on_disconnect else "user_initiated"
    assert session.close_reason == expected


async def test_start_in_room_is_one_block_for_the_whole_call() -> None:
    """LiveKit's session.start(agent, room=...): chat in, speech and transcript out,
    and the block ends by itself when the caller hangs up."""
    from trioagents.providers import ScriptedLLM
    from trioagents.roomio import start_in_room
    from trioagents.testing import FakeTTS
    from trioagents.voice import Agent, AgentSession

    heard: list[str] = []
    hang_up = trio.Event()

    async def caller(server: DevServer) -> None:
        async with (
            open_room(server.url, token(server, "user")) as user,
            user.text_streams("lk.transcription") as transcripts,
        ):
            await user.send_text("hello", topic="lk.chat")
            async for reader in transcripts:
                text = await reader.read_all()
                if reader.final_attributes.get("lk.transcription_final") == "true":
                    heard.append(text)
                    if text == "Hi there!":
                        break
            hang_up.set()

    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "agent")) as room,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(caller, server)
            session: AgentSession[None] = AgentSession(
                llm=ScriptedLLM(default="Hi there!"), tts=FakeTTS()
            )
            async with start_in_room(session, Agent(instructions="test"), room) as io:
                assert io.linked_identity == "user"
                await trio.sleep_forever()  # until the caller hangs up
    assert heard == ["Hi there!"]
    said = [(m.role, m.content) for m in session.history.messages()]
    assert said == [("user", "hello"), ("assistant", "Hi there!")]
    assert hang_up.is_set()
    assert session.close_reason == "participant_disconnected"


async def test_room_io_on_a_room_that_ends_before_anyone_joins_raises() -> None:
    from trioagents.roomio import open_room_io
    from trioagents.rtc import RoomClosedError
    from trioagents.transport import open_livekit_api
    from trioagents.voice import AgentSession

    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_livekit_api(server.url, server.api_key, server.api_secret) as api,
            open_room(server.url, token(server, "agent")) as room,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(api.delete_room, "room")  # nobody ever came
            with pytest.raises(RoomClosedError):  # while publishing, or waiting to link
                async with open_room_io(room, AgentSession()):
                    pytest.fail("linked to nobody")
            assert room.closed


@pytest.mark.parametrize("attempt", range(3))
async def test_an_rpc_to_an_agent_that_just_appeared_is_answered(attempt: int) -> None:
    """The request reaches the agent while its data channel may still be opening: the
    dev server holds reliable packets until it opens (it used to drop them, and the
    caller waited until its own deadline)."""

    async def double(invocation: RpcInvocation) -> str:
        return invocation.payload * 2

    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "user")) as user,
            trio.open_nursery() as nursery,
        ):
            joined = trio.Event()

            async def agent_side() -> None:
                async with open_room(server.url, token(server, "agent")) as agent:
                    agent.register_rpc_method("double", double)
                    joined.set()
                    await trio.sleep_forever()

            nursery.start_soon(agent_side)
            await joined.wait()  # registered at once after the join (else: 1400)
            while "agent" not in user.remote_participants:
                await user.wait_state_changed()
            with trio.fail_after(5):  # well inside the 7 s ack timeout
                assert await user.perform_rpc("agent", "double", "ab") == "abab"
            nursery.cancel_scope.cancel()


async def test_an_assertion_in_a_start_in_room_body_comes_out_as_itself() -> None:
    """A failing check inside the call's block is the test's AssertionError, not a group."""
    from trioagents.providers import ScriptedLLM
    from trioagents.roomio import start_in_room
    from trioagents.voice import Agent, AgentSession

    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_room(server.url, token(server, "agent")) as room,
            open_room(server.url, token(server, "user")),
        ):
            session: AgentSession[None] = AgentSession(llm=ScriptedLLM(default="Hi there!"))

            async def call() -> None:
                async with start_in_room(session, Agent(instructions="test"), room) as io:
                    result = await session.run(user_input="hello")
                    assert io.linked_identity == "user"
                    result.expect.skip_next().next_event().is_message(contains="goodbye")

            with pytest.raises(AssertionError) as excinfo:
                await call()
    assert type(excinfo.value) is AssertionError
    assert "expected a message containing 'goodbye'" in str(excinfo.value)
