"""``transcription_node`` and ``tts_stream_node`` (LiveKit's node shapes, channel style)."""

from __future__ import annotations

import re

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import AudioFrame, ChatMessage, ConfigurationError
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTextOutput,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    UserSpeech,
    speech,
)
from trioagents.voice import Agent, AgentSession, SessionOptions

from .harness import heard_text_from_audio, open_call
from .test_properties import REPLY, Watch, WatchedOutput, timelines

MARKDOWN = "Here is **the plan** for today. First, *coffee* with `friends`. Then work."


def strip_markdown(text: str) -> str:
    return re.sub(r"[*`_]", "", text)


class PlainAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="plain")

    async def transcription_node(
        self, text: trio.MemoryReceiveChannel[str], out: trio.MemorySendChannel[str]
    ) -> None:
        async for piece in text:
            await out.send(strip_markdown(piece))


class ShoutingAgent(Agent):
    """A length-preserving transcript form: the heard part must map exactly."""

    def __init__(self) -> None:
        super().__init__(instructions="shout")

    async def transcription_node(
        self, text: trio.MemoryReceiveChannel[str], out: trio.MemorySendChannel[str]
    ) -> None:
        async for piece in text:
            await out.send(piece.upper())


class StreamAgent(Agent):
    """Overrides the stream form: filters text in, counts frames out."""

    def __init__(self) -> None:
        super().__init__(instructions="stream")
        self.calls = 0
        self.sentences: list[str] = []
        self.frames = 0
        self.cleaned_up = 0

    async def tts_stream_node(
        self, text: trio.MemoryReceiveChannel[str], frames: trio.MemorySendChannel[AudioFrame]
    ) -> None:
        self.calls += 1
        filtered_send, filtered = trio.open_memory_channel[str](0)
        louder_send, louder = trio.open_memory_channel[AudioFrame](0)

        async def filter_text() -> None:
            async with filtered_send:
                async for sentence in text:
                    self.sentences.append(sentence)
                    await filtered_send.send(sentence.replace("lol", ""))

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(filter_text)

                async def synthesize() -> None:
                    async with louder_send:
                        await super(StreamAgent, self).tts_stream_node(filtered, louder_send)

                nursery.start_soon(synthesize)
                async for frame in louder:
                    self.frames += 1
                    await frames.send(frame)
        finally:
            self.cleaned_up += 1


# ------------------------------------------------------------ transcription_node


async def test_transcription_node_shapes_what_is_shown_and_recorded_not_what_is_spoken(
    autojump_clock: trio.testing.MockClock,
) -> None:
    text_output = FakeTextOutput()
    async with open_call(
        [speech(0.5, 1.0, "plan please")],
        responses={"plan please": LLMScript(MARKDOWN, ttft=0.1)},
        agent=PlainAgent(),
        text_output=text_output,
    ) as voice_call:
        await voice_call.sleep_until(20.0)
    replies = [m.content for m in voice_call.session.history.messages() if m.role == "assistant"]
    assert replies == [strip_markdown(MARKDOWN)]
    assert text_output.finals() == [strip_markdown(MARKDOWN)]
    assert all("*" not in p.text for p in text_output.published)
    spoken = " ".join(r.request for r in voice_call.tts.streams.records)
    assert "**the plan**" in spoken  # the TTS got the original text


async def test_transcription_node_in_text_mode(autojump_clock: trio.testing.MockClock) -> None:
    session: AgentSession[None] = AgentSession(llm=FakeLLM(default=LLMScript(MARKDOWN)))
    async with session.start(PlainAgent()):
        result = await session.run(user_input="plan")
    result.expect.next_event().is_message(role="user")
    message = result.expect.next_event().is_message(role="assistant")
    assert message.content == strip_markdown(MARKDOWN)


async def test_a_transcription_node_sending_non_text_is_a_configuration_error() -> None:
    from trioagents.voice._playout import transcribe

    class Broken(Agent):
        async def transcription_node(
            self, text: trio.MemoryReceiveChannel[str], out: trio.MemorySendChannel[str]
        ) -> None:
            async for _ in text:
                await out.send(42)  # type: ignore[arg-type]

    with pytest.raises(ConfigurationError, match="str"):
        await transcribe(Broken(instructions="x"), "hello")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(segments=timelines(), ttfb=st.floats(0.0, 0.5), interrupts=st.lists(st.floats(0, 10)))
async def test_property_the_heard_part_is_recorded_in_the_shown_form(
    autojump_clock: trio.testing.MockClock,
    segments: list[UserSpeech],
    ttfb: float,
    interrupts: list[float],
) -> None:
    timeline = Timeline(segments, tail=15.0)
    output = FakeAudioOutput()
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline),
        llm=FakeLLM(default=LLMScript(REPLY, ttft=0.2)),
        tts=FakeTTS(ttfb=ttfb),
        vad=FakeVAD(),
    )
    start = trio.current_time()
    async with session.start(
        ShoutingAgent(), audio_input=FakeAudioInput(timeline), audio_output=output
    ):
        for instant in sorted(interrupts):
            await trio.sleep_until(start + instant)
            session.interrupt()
        await trio.sleep_until(start + 14.0)
    replies = [m.content for m in session.history.messages() if m.role == "assistant"]
    heard = [heard_text_from_audio(REPLY, seg.markers) for seg in output.segments]
    assert replies == [h.upper() for h in heard if h]  # exactly the played words, shouted


# ------------------------------------------------------------ tts_stream_node


async def test_the_stream_node_is_called_once_per_utterance_with_its_sentences(
    autojump_clock: trio.testing.MockClock,
) -> None:
    agent = StreamAgent()
    reply = "Well lol that is funny. I did not expect it. Anyway, bye."
    async with open_call(
        [speech(0.5, 1.0, "joke")],
        responses={"joke": LLMScript(reply, ttft=0.1)},
        agent=agent,
    ) as voice_call:
        await voice_call.sleep_until(20.0)
    assert agent.calls == 1
    assert " ".join(agent.sentences) == reply
    assert agent.frames > 0
    spoken = " ".join(r.request for r in voice_call.tts.streams.records)
    assert "lol" not in spoken
    replies = [m.content for m in voice_call.session.history.messages() if m.role == "assistant"]
    assert replies == [reply]  # the chat context has the text the node consumed, in full
    assert voice_call.tts.streams.all_closed()


async def test_barge_in_cancels_the_stream_node_and_records_a_prefix(
    autojump_clock: trio.testing.MockClock,
) -> None:
    agent = StreamAgent()
    async with open_call(
        [speech(0.5, 1.0, "talk"), speech(4.0, 5.0, "stop")],
        responses={"talk": LLMScript(REPLY, ttft=0.1), "stop": LLMScript("Okay.")},
        agent=agent,
    ) as voice_call:
        await voice_call.sleep_until(15.0)
    first = next(
        i
        for i in voice_call.session.history
        if isinstance(i, ChatMessage) and i.role == "assistant"
    )
    assert first.interrupted
    assert REPLY.startswith(first.content)
    assert 0 < len(first.content) < len(REPLY)
    assert agent.cleaned_up == agent.calls == 2
    assert voice_call.tts.streams.all_closed()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    segments=timelines(),
    ttfb=st.floats(0.0, 0.5),
    frame_interval=st.sampled_from([0.0, 0.01]),
    can_pause=st.booleans(),
    interrupts=st.lists(st.floats(0.0, 10.0), max_size=3),
    close_at=st.floats(1.0, 12.0),
)
async def test_property_stream_node_keeps_barge_in_and_close_invariants(
    autojump_clock: trio.testing.MockClock,
    segments: list[UserSpeech],
    ttfb: float,
    frame_interval: float,
    can_pause: bool,
    interrupts: list[float],
    close_at: float,
) -> None:
    watch = Watch()
    timeline = Timeline(segments, tail=15.0)
    tts = FakeTTS(ttfb=ttfb, frame_interval=frame_interval)
    output = WatchedOutput(watch, can_pause=can_pause)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline),
        llm=FakeLLM(default=LLMScript(REPLY, ttft=0.2)),
        tts=tts,
        vad=FakeVAD(),
        options=SessionOptions(close_grace=0.5),
    )
    watch.session = session
    agent = StreamAgent()
    start = trio.current_time()
    async with session.start(agent, audio_input=FakeAudioInput(timeline), audio_output=output):
        for instant in sorted(interrupts):
            if instant < close_at:
                await trio.sleep_until(start + instant)
                session.interrupt()
        await trio.sleep_until(start + close_at)
    assert watch.violations == []  # no frame of a cut or closed reply reached the sink
    assert tts.streams.all_closed()
    assert agent.cleaned_up == agent.calls
    replies = [m.content for m in session.history.messages() if m.role == "assistant"]
    for reply in replies:  # an estimate by speaking rate, but always whole words of REPLY
        assert REPLY.startswith(reply)
        assert len(reply) == len(REPLY) or REPLY[len(reply)] == " "
