"""LLMTurnDetector against the loopback OpenAI-compatible server (virtual time)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.core import ChatContext, ProviderError
from trioagents.providers import LLMTurnDetector, OpenAILLM
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    OpenAIServerOptions,
    StallAfter,
    Timeline,
    open_openai_server,
    server_error,
    speech,
)
from trioagents.voice import Agent, AgentSession, TurnMetricsCollected

from ._support import connection


def detector_for(base_url: str) -> LLMTurnDetector:
    return LLMTurnDetector(OpenAILLM("judge", connection=connection(base_url)))


@pytest.mark.parametrize(
    ("answer", "probability"),
    [("COMPLETE", 0.95), ("INCOMPLETE", 0.05), ("complete.", 0.95), ("No", 0.05)],
)
async def test_the_first_word_is_the_verdict(
    autojump_clock: trio.testing.MockClock, answer: str, probability: float
) -> None:
    async with open_openai_server(OpenAIServerOptions(chat_text=answer)) as server:
        detector = detector_for(server.base_url)
        p = await detector.predict_end_of_turn(ChatContext(), "a table for", ())
    assert p == probability
    [request] = server.requests
    body = request.json()
    assert body["messages"][0]["role"] == "system"
    assert "'a table for'" in body["messages"][-1]["content"]


async def test_it_stops_reading_once_the_word_decides(
    autojump_clock: trio.testing.MockClock,
) -> None:
    text = "COMPLETE because the user asked a full question and so on"
    async with open_openai_server(OpenAIServerOptions(chat_text=text)) as server:
        detector = detector_for(server.base_url)
        assert await detector.predict_end_of_turn(ChatContext(), "hi there", ()) == 0.95
        await server.wait_disconnects()  # the response was closed before its end


async def test_the_context_sent_is_the_recent_conversation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ctx = ChatContext()
    ctx.add_message("system", "secret agent instructions")
    ctx.add_message("assistant", "How many people?")
    async with open_openai_server(OpenAIServerOptions(chat_text="COMPLETE")) as server:
        await detector_for(server.base_url).predict_end_of_turn(ctx, "four", ())
    prompt = server.requests[0].json()["messages"][-1]["content"]
    assert "assistant: How many people?" in prompt
    assert "secret agent instructions" not in prompt


async def test_an_unreadable_answer_or_a_server_error_is_a_provider_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_openai_server(OpenAIServerOptions(chat_text="maybe so")) as server:
        detector = detector_for(server.base_url)
        with pytest.raises(ProviderError, match="neither"):
            await detector.predict_end_of_turn(ChatContext(), "hello", ())
        server.script(server_error(), endpoint="chat")
        with pytest.raises(ProviderError):
            await detector.predict_end_of_turn(ChatContext(), "hello", ())


async def _one_turn_delay(base_url: str) -> list[float | None]:
    segments = [speech(0.5, 1.5, "a table for")]
    timeline = Timeline(segments, tail=8.0)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline),
        llm=FakeLLM(),
        tts=FakeTTS(),
        vad=FakeVAD(),
        turn_detector=detector_for(base_url),
    )
    events = session.subscribe()
    audio = FakeAudioInput(timeline)
    async with session.start(
        Agent(instructions="t"), audio_input=audio, audio_output=FakeAudioOutput()
    ):
        await trio.sleep_until(audio.to_clock(6.0))
    return [e.end_of_utterance_delay async for e in events if isinstance(e, TurnMetricsCollected)]


async def test_in_a_session_incomplete_means_the_long_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_openai_server(OpenAIServerOptions(chat_text="INCOMPLETE")) as server:
        assert await _one_turn_delay(server.base_url) == [pytest.approx(2.5)]


async def test_a_stalled_model_falls_back_to_vad_endpointing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_openai_server(OpenAIServerOptions(chat_text="INCOMPLETE")) as server:
        server.script(StallAfter(0), endpoint="chat")
        # asked at the VAD's end of speech (1.8), abandoned 0.5 s later: commit at 2.3
        assert await _one_turn_delay(server.base_url) == [pytest.approx(0.8, abs=0.01)]
        await server.wait_disconnects()  # the stalled request was closed
