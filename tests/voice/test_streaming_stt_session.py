"""An AgentSession whose STT is a websocket STT, against its loopback fake server.

``DeepgramSTT`` with the fake Deepgram, ``OpenAIRealtimeSTT`` with the fake OpenAI
realtime transcription. The user is a scripted timeline played by FakeAudioInput;
the audio goes through the session's recognition pump into a real websocket, the
fake server transcribes the markers, and the user's words must reach the history
(and get answers). With and without a VAD (without one, the provider's speech
events -- Deepgram's SpeechStarted / speech_final, OpenAI's server VAD -- drive the
user state), and with the stream dying mid-utterance under a retry policy.
Virtual time, real loopback sockets.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

from trioagents.core import STT, VAD
from trioagents.protocol import DeepgramOptions, RealtimeTranscriptionOptions, ServerVAD
from trioagents.providers import (
    DeepgramConnection,
    DeepgramSTT,
    OpenAIConnection,
    OpenAIRealtimeSTT,
    RetryPolicy,
    with_retry,
)
from trioagents.testing import (
    CloseAfter,
    FakeAudioInput,
    FakeAudioOutput,
    FakeDeepgramServer,
    FakeLLM,
    FakeRealtimeTranscriptionServer,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    open_fake_deepgram,
    open_fake_realtime_transcription,
    speech,
)
from trioagents.voice import Agent, AgentSession, UserInputTranscribed

TIMELINE = Timeline(
    [speech(0.5, 1.6, "turn on the lights"), speech(5.0, 5.8, "thank you")], tail=6.0
)
ANSWERS = {
    "turn on the lights": LLMScript("Done, the lights are on."),
    "thank you": LLMScript("You're welcome."),
}


def deepgram(server: FakeDeepgramServer) -> DeepgramSTT:
    return DeepgramSTT(
        DeepgramOptions(endpointing_ms=300, utterance_end_ms=1000),
        connection=DeepgramConnection(base_url=server.url, api_key="dg-key", idle_timeout=3.0),
    )


def openai(server: FakeRealtimeTranscriptionServer) -> OpenAIRealtimeSTT:
    return OpenAIRealtimeSTT(
        RealtimeTranscriptionOptions(turn_detection=ServerVAD(silence_duration_ms=300)),
        connection=OpenAIConnection(base_url=server.base_url, api_key="sk-key", idle_timeout=3.0),
    )


Opener = Callable[[Timeline], AbstractAsyncContextManager[Any]]
PROVIDERS: dict[str, tuple[Opener, Callable[[Any], STT], str]] = {
    "deepgram": (open_fake_deepgram, deepgram, "Token dg-key"),
    "openai": (open_fake_realtime_transcription, openai, "Bearer sk-key"),
}


async def converse(stt: STT, vad: VAD | None) -> tuple[AgentSession[None], list[str]]:
    llm, tts = FakeLLM(ANSWERS), FakeTTS()
    session: AgentSession[None] = AgentSession(stt=stt, llm=llm, tts=tts, vad=vad)
    heard: list[str] = []
    events = session.subscribe()

    async def collect() -> None:
        heard.extend(
            [
                event.transcript
                async for event in events
                if isinstance(event, UserInputTranscribed) and event.is_final
            ]
        )

    audio = FakeAudioInput(TIMELINE)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(collect)
        async with session.start(
            Agent(instructions="You are a test agent."),
            audio_input=audio,
            audio_output=FakeAudioOutput(),
        ):
            await trio.sleep_until(audio.to_clock(11.0))
    return session, heard


def said(session: AgentSession[None], role: str) -> list[str]:
    return [m.content for m in session.history.messages() if m.role == role]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@pytest.mark.parametrize("with_vad", [True, False])
async def test_users_words_reach_the_history(
    provider: str, with_vad: bool, autojump_clock: trio.abc.Clock
) -> None:
    open_server, client, authorization = PROVIDERS[provider]
    with trio.fail_after(120):
        async with open_server(TIMELINE) as server:
            session, heard = await converse(client(server), FakeVAD() if with_vad else None)
    assert said(session, "user") == ["turn on the lights", "thank you"]
    assert said(session, "assistant") == ["Done, the lights are on.", "You're welcome."]
    assert heard == ["turn on the lights", "thank you"]
    [stream] = server.sessions  # one websocket for the whole session
    assert stream.headers["authorization"] == authorization
    assert stream.audio_seconds >= 10.9


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_a_stream_dying_mid_utterance_is_resumed(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    open_server, client, _ = PROVIDERS[provider]
    with trio.fail_after(120):
        async with open_server(TIMELINE) as server:
            server.script(CloseAfter(1.2))  # inside "turn on the lights"
            policy = RetryPolicy(base_delay=0.2, rng=random.Random(0))
            session, _ = await converse(with_retry(client(server), policy), FakeVAD())
    assert said(session, "user") == ["turn on the lights", "thank you"]
    assert len(server.sessions) == 2
    assert server.sessions[1].finals == ["turn on the lights", "thank you"]
