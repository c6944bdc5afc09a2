"""session.usage: tokens, characters and audio seconds per provider (virtual time)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.providers import ScriptedLLM
from trioagents.testing import FakeTTS, LLMScript, speech
from trioagents.voice import Agent, AgentSession, SessionUsage, SessionUsageUpdated

from .harness import open_call

REPLY = "Hi! How can I help you today?"


async def test_text_turns_count_requests_and_tokens(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session: AgentSession[None] = AgentSession(llm=ScriptedLLM(default="one two three"))
    events = session.subscribe()
    async with session.start(Agent(instructions="test")):
        await session.run(user_input="hello")
        await session.run(user_input="again")
    usage = session.usage
    [llm] = usage.of("llm")
    assert (llm.provider, llm.requests, llm.completion_tokens) == ("scripted-llm", 2, 6)
    assert usage.llm_completion_tokens == 6
    assert usage.of("tts") == usage.of("stt") == ()
    updates = [e.usage async for e in events if isinstance(e, SessionUsageUpdated)]
    assert [u.llm_completion_tokens for u in updates] == [3, 6]  # one per turn that used


async def test_a_spoken_turn_counts_stt_audio_tts_characters_and_audio(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hello there")], responses={"hello there": LLMScript(REPLY)}
    ) as call:
        await call.sleep_until(8.0)
        heard_so_far = call.session.usage.stt_audio_seconds
    usage: SessionUsage = call.session.usage
    assert 7.0 <= heard_so_far <= 8.01  # every input frame went to the STT (1 s batches)
    # the rest reported when listening ended, but for the chunk still being joined
    # (SessionOptions.stt_chunk_duration, 40 ms): it never reached the STT
    assert usage.stt_audio_seconds >= 7.99 - 0.04
    [tts] = usage.of("tts")
    assert tts.provider == "fake-tts"
    assert abs(tts.characters - len(REPLY)) <= 1  # as the sentences went to the TTS
    assert tts.audio_seconds == pytest.approx(tts.characters / 16.0, abs=0.03)
    [llm] = usage.of("llm")
    assert llm.requests == 1  # the preemptive generation was adopted, not repeated


async def test_cut_speech_counts_what_was_synthesized(
    autojump_clock: trio.testing.MockClock,
) -> None:
    long = "This is a long answer that will be cut. " * 5
    async with open_call(
        [speech(0.5, 1.5, "tell me"), speech(3.0, 4.0, "stop please")],
        responses={"tell me": LLMScript(long.strip())},
        tts=FakeTTS(frame_interval=0.02),  # synthesizes in real time, as a service would
    ) as call:
        await call.sleep_until(10.0)
    [tts] = call.session.usage.of("tts")
    played = sum(segment.position for segment in call.audio_out.segments)
    assert tts.characters < len(long)  # the sentences after the cut were never sent
    assert tts.audio_seconds >= played > 0  # synthesized ahead of playout, all counted
