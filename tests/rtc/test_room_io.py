"""The voice adapter over a real room: audio output playout, input, event forwarding."""

from __future__ import annotations

import pytest
import trio

from trioagents.core import AudioFrame, ChatMessage
from trioagents.roomio import RoomAudioOutput, open_room_io
from trioagents.voice import (
    AgentSession,
    AgentStateChanged,
    AudioInput,
    AudioOutput,
    ConversationItemAdded,
    UserInputTranscribed,
)

from .fake_server import make_token, open_fake_server, tone

pytestmark = pytest.mark.slow


def frames(seconds: float, rate: int = 24000) -> list[AudioFrame]:
    signal = tone(300.0, seconds, rate=rate)
    step = rate // 50
    return [AudioFrame.from_mono(signal[i : i + step], rate) for i in range(0, len(signal), step)]


async def play(output: RoomAudioOutput, items: list[AudioFrame]) -> None:
    for frame in items:
        await output.wait_for_capacity()
        output.capture_frame(frame)


async def test_room_audio_output_playout_and_interrupt() -> None:
    with trio.fail_after(15):
        async with (
            open_fake_server() as server,
            open_room_with(server) as room,
            room.publish_audio(sample_rate=24000) as source,
        ):
            output = RoomAudioOutput(source)
            assert isinstance(output, AudioOutput)
            assert output.can_pause
            await play(output, frames(0.4))
            output.flush()
            finished = await output.wait_for_playout()
            assert not finished.interrupted
            assert finished.playback_position == pytest.approx(0.4, abs=0.005)

            # second segment: interrupted after ~0.3 s of a 2 s reply
            started = trio.current_time()
            with trio.move_on_after(0.3):
                await play(output, frames(2.0))
            output.clear_buffer()
            finished = await output.wait_for_playout()
            assert finished.interrupted
            elapsed = trio.current_time() - started
            assert 0.05 < finished.playback_position <= elapsed + 0.02
            assert source.queued_duration == 0

            # pause keeps the queue: nothing is consumed while paused
            await play(output, frames(0.1))
            output.pause()
            queued = source.queued_duration
            await trio.sleep(0.1)
            assert source.queued_duration == pytest.approx(queued)
            output.resume()
            output.flush()
            finished = await output.wait_for_playout()
            assert finished.playback_position == pytest.approx(0.1, abs=0.005)


async def test_open_room_io_forwards_state_and_transcripts() -> None:
    session: AgentSession[None] = AgentSession()
    received: list[tuple[str, str, dict[str, str]]] = []
    all_received = trio.Event()

    with trio.fail_after(15):
        async with open_fake_server() as server, open_room_with(server) as room:

            async def on_stream(reader):  # type: ignore[no-untyped-def]
                text = await reader.read_all()
                received.append((reader.info.topic, text, reader.final_attributes))
                if len(received) == 3:
                    all_received.set()

            room.register_text_stream_handler("echo:lk.transcription", on_stream)
            async with open_room_io(room, session) as io:
                assert io.linked_identity == "bot"
                assert isinstance(io.audio_input, AudioInput)
                count = 0
                async for frame in io.audio_input:
                    assert frame.sample_rate == 24000
                    count += 1
                    if count == 5:
                        break
                session.bus.publish(AgentStateChanged("initializing", "listening", 0.0))
                session.bus.publish(UserInputTranscribed("hello ag", False, 0.0))
                session.bus.publish(UserInputTranscribed("hello agent", True, 0.0))
                reply = ChatMessage(role="assistant", content="Hi! How can I help?")
                session.bus.publish(ConversationItemAdded(reply, 0.0))
                await all_received.wait()  # sent after the attribute update was answered
            assert server.attribute_updates[0] == {"lk.agent.state": "listening"}
            assert room.local_participant.attributes["lk.agent.state"] == "listening"
            # handlers of concurrent streams finish in any order: compare by text
            by_text = {text: attrs for _, text, attrs in received}
            assert {t: a["lk.transcription_final"] for t, a in by_text.items()} == {
                "hello ag": "false",
                "hello agent": "true",
                "Hi! How can I help?": "true",
            }
            assert by_text["hello ag"]["lk.transcribed_track_id"] == "TR_bot"
            assert by_text["hello ag"]["lk.segment_id"] == by_text["hello agent"]["lk.segment_id"]
            assert by_text["Hi! How can I help?"]["lk.segment_id"] == reply.id
            # user transcripts go out on the user's behalf (as livekit-agents sends them),
            # every packet of the stream; the agent's own line claims nobody else
            claimed: dict[str, set[str]] = {}
            segment_of: dict[str, str] = {}
            for packet in server.received_packets:
                kind = packet.WhichOneof("value")
                if kind == "stream_header":
                    segment_of[packet.stream_header.stream_id] = packet.stream_header.attributes[
                        "lk.segment_id"
                    ]
                if kind in ("stream_header", "stream_chunk", "stream_trailer"):
                    stream_id = getattr(packet, kind).stream_id
                    claimed.setdefault(segment_of[stream_id], set()).add(
                        packet.participant_identity
                    )
            user_segment = by_text["hello agent"]["lk.segment_id"]
            assert claimed == {user_segment: {"bot"}, reply.id: {""}}


def open_room_with(server):  # type: ignore[no-untyped-def]
    from trioagents.rtc import open_room

    return open_room(server.url, make_token())
