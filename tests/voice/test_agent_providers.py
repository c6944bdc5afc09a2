"""Per-agent providers: ``Agent(stt=, llm=, tts=, vad=, turn_detection=)`` win over the
session's while that agent is active (LiveKit semantics), handoffs included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import call
from trioagents.core import AgentHandoff, ChatMessage, ConfigurationError
from trioagents.testing import (
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import Agent, AgentSession, SessionOptions, function_tool

from .harness import open_call


class LabelledTTS(FakeTTS):
    @property
    def label(self) -> str:
        return "bookings-voice"


BOOKINGS: dict[str, Any] = {}  # the providers Bookings() is built with, set per test


@pytest.fixture(autouse=True)
def _reset_bookings() -> Iterator[None]:
    BOOKINGS.clear()
    yield
    BOOKINGS.clear()


class FrontDesk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="front desk")

    @function_tool
    async def to_bookings(self) -> Bookings:
        """Transfer to bookings."""
        return Bookings()


class Bookings(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="bookings", **BOOKINGS)

    async def on_enter(self) -> None:
        self.session.say("Bookings here, how many people?")


def spoken_by(tts: FakeTTS) -> str:
    return " ".join(record.request for record in tts.streams.records)


async def test_a_handoff_to_an_agent_with_its_own_tts_speaks_with_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bookings_tts = BOOKINGS["tts"] = LabelledTTS(ttfb=0.1)
    async with open_call(
        [speech(0.5, 1.5, "book a table"), speech(8.0, 9.0, "for two")],
        responses={
            "book a table": [LLMScript("Transferring you.", tool_calls=[call("to_bookings")])],
            "for two": LLMScript("Two it is.", ttft=0.2),
        },
        tts=FakeTTS(ttfb=0.1),
        agent=FrontDesk(),
    ) as voice_call:
        await voice_call.sleep_until(15.0)
        assert voice_call.session.current_agent.name == "Bookings"
    assert spoken_by(voice_call.tts) == "Transferring you."
    assert spoken_by(bookings_tts) == "Bookings here, how many people? Two it is."
    said = [i.content for i in voice_call.session.history if isinstance(i, ChatMessage)]
    assert said == [
        "book a table",
        "Transferring you.",
        "Bookings here, how many people?",
        "for two",
        "Two it is.",
    ]
    tts_usage = {u.provider: u.characters for u in voice_call.session.usage.of("tts")}
    assert tts_usage == {
        "fake-tts": len("Transferring you."),
        "bookings-voice": len("Bookings here, how many people?") + len("Two it is."),
    }


async def test_the_new_agents_stt_and_vad_take_over_listening(
    autojump_clock: trio.testing.MockClock,
) -> None:
    segments = [speech(0.5, 1.5, "book a table"), speech(8.0, 9.0, "for two")]
    bookings_stt = BOOKINGS["stt"] = FakeSTT(Timeline(segments, tail=30.0))
    bookings_vad = BOOKINGS["vad"] = FakeVAD()
    async with open_call(
        segments,
        responses={
            "book a table": [LLMScript("One moment.", tool_calls=[call("to_bookings")])],
            "for two": LLMScript("Two it is.", ttft=0.2),
        },
        agent=FrontDesk(),
    ) as voice_call:
        await voice_call.sleep_until(15.0)
    switched_at = next(
        i.created_at for i in voice_call.session.history if isinstance(i, AgentHandoff)
    )
    [old_stt] = voice_call.stt.streams.records
    [new_stt] = bookings_stt.streams.records
    assert old_stt.closed_at == pytest.approx(switched_at, abs=0.05)
    assert new_stt.opened_at == pytest.approx(switched_at, abs=0.05)
    [old_vad] = voice_call.vad.streams.records
    [new_vad] = bookings_vad.streams.records
    assert old_vad.closed_at is not None
    assert old_vad.closed_at <= voice_call.at(8.0)  # swapped before the user spoke again
    assert new_vad.opened_at <= voice_call.at(8.0)
    said = [i.content for i in voice_call.session.history if isinstance(i, ChatMessage)]
    assert said[-2:] == ["for two", "Two it is."]  # heard through the new STT


async def test_an_agents_own_llm_answers_for_it(autojump_clock: trio.testing.MockClock) -> None:
    session_llm = FakeLLM(default=LLMScript("from the session"))
    own_llm = FakeLLM(default=LLMScript("from the agent"))
    session: AgentSession[None] = AgentSession(llm=session_llm)
    async with session.start(Agent(instructions="x", llm=own_llm)):
        await session.run(user_input="hello")
    assert [m.content for m in session.history.messages()] == ["hello", "from the agent"]
    assert session_llm.requests == []
    assert len(own_llm.requests) == 1


async def test_per_agent_turn_detection_overrides_the_session_mode(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # the session is push-to-talk; this agent ends turns on VAD silence itself
    async with open_call(
        [speech(0.5, 1.5, "hello")],
        default=LLMScript("Hi.", ttft=0.1),
        options=SessionOptions(turn_detection="manual"),
        agent=Agent(instructions="auto agent", turn_detection="vad"),
    ) as voice_call:
        await voice_call.sleep_until(6.0)
    said = [i.content for i in voice_call.session.history if isinstance(i, ChatMessage)]
    assert said == ["hello", "Hi."]


async def test_manual_turns_for_one_agent_only(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hello")],
        default=LLMScript("Hi.", ttft=0.1),
        agent=Agent(instructions="ptt agent", turn_detection="manual"),
    ) as voice_call:
        await voice_call.sleep_until(6.0)
        assert voice_call.session.history.messages() == []  # nothing committed by itself
        voice_call.session.commit_user_turn(transcript_timeout=0.5, stt_flush_duration=0.0)
        await voice_call.sleep_until(10.0)
    said = [i.content for i in voice_call.session.history if isinstance(i, ChatMessage)]
    assert said == ["hello", "Hi."]


def test_unsupported_turn_detection_modes_are_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match=r"'stt'.*not supported"):
        Agent(instructions="x", turn_detection="stt")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="turn_detection"):
        Agent(instructions="x", turn_detection=3)  # type: ignore[arg-type]


async def test_an_agent_tts_is_enough_for_audio_output(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session: AgentSession[None] = AgentSession(llm=FakeLLM())
    tts = FakeTTS()
    async with session.start(Agent(instructions="x", tts=tts), audio_output=FakeAudioOutput()):
        await session.say("hello")
    assert spoken_by(tts) == "hello"
    with pytest.raises(ConfigurationError, match=r"Agent\(tts=\.\.\.\)"):
        async with AgentSession(llm=FakeLLM()).start(
            Agent(instructions="x"), audio_output=FakeAudioOutput()
        ):
            pass
