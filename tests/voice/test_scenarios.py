"""Scripted spoken conversations under virtual time: turns, barge-in, endpointing."""

from __future__ import annotations

import itertools

import pytest
import trio
import trio.testing

from trioagents.core import ChatMessage
from trioagents.testing import FakeAudioOutput, FakeTTS, LLMScript, noise, speech
from trioagents.voice import (
    Agent,
    AgentStateChanged,
    ConversationItemAdded,
    FalseInterruptionDetected,
    SessionOptions,
    TurnMetricsCollected,
)

from .harness import heard_text_from_audio, open_call

LONG = (
    "Our opening hours are nine to five on weekdays. On Saturdays we open at ten. "
    "We are closed on Sundays and on public holidays."
)


def assistant_messages(call) -> list[ChatMessage]:  # type: ignore[no-untyped-def]
    return [m for m in call.session.history.messages() if m.role == "assistant"]


async def test_basic_turn_metrics(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hello there")],
        responses={"hello there": LLMScript("Hi! How can I help you today?", ttft=0.2)},
        tts=FakeTTS(ttfb=0.1),
    ) as call:
        await call.sleep_until(6.0)
    [metrics] = call.of_type(TurnMetricsCollected)
    # user stops at 1.5; VAD silence 0.3; endpointing 0.5 from the last speech → commit 2.0
    assert metrics.end_of_utterance_delay == pytest.approx(0.5)
    # preemptive LLM started on the final transcript (1.5 + 0.1 STT delay); ttft 0.2
    assert metrics.llm_ttft == pytest.approx(0.2)
    assert metrics.tts_ttfb == pytest.approx(0.1)
    # TTS requested at commit (2.0) + ttfb 0.1 → first frame at 2.1 = 0.6 after speech end
    assert metrics.e2e_latency == pytest.approx(0.6)
    [user, reply] = call.session.history.messages()
    assert (user.role, user.content) == ("user", "hello there")
    assert reply.content == "Hi! How can I help you today?"
    assert not reply.interrupted
    assert len(call.llm.requests) == 1
    states = [e.new_state for e in call.of_type(AgentStateChanged)]
    assert states == ["listening", "thinking", "speaking", "listening"]
    assert call.llm.streams.all_closed()
    assert call.tts.streams.all_closed()


@pytest.mark.parametrize("barge_in", [3.0, 3.37, 4.01])
async def test_barge_in_at_min_duration(
    autojump_clock: trio.testing.MockClock, barge_in: float
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hours"), speech(barge_in, barge_in + 1.0, "thanks bye")],
        responses={"hours": LLMScript(LONG, ttft=0.1, token_delay=0.01)},
    ) as call:
        await call.sleep_until(barge_in + 0.4)
        assert call.session.agent_state == "speaking"
        await call.sleep_until(10.0)
    cut = call.at(barge_in + 0.5)
    assert call.audio_out.clears[0] == pytest.approx(cut, abs=1e-6)
    first_reply = [f for f in call.audio_out.accepted if f.at < call.at(barge_in + 1.0)]
    assert all(f.at <= cut + 1e-9 for f in first_reply), "a frame left after the cancel point"
    heard = assistant_messages(call)[0]
    assert heard.interrupted
    played = call.audio_out.segments[0].markers
    assert heard.content == heard_text_from_audio(LONG, played)
    assert LONG.startswith(heard.content)
    assert call.llm.streams.all_closed()
    assert call.tts.streams.all_closed()


async def test_min_interruption_words(autojump_clock: trio.testing.MockClock) -> None:
    options = SessionOptions(min_interruption_words=3)
    async with open_call(
        [
            speech(0.5, 1.5, "hours"),
            speech(3.0, 4.0, "okay"),
            speech(5.0, 6.2, "wait wait please stop now"),
        ],
        responses={"hours": LLMScript(LONG + " " + LONG, ttft=0.1)},
        options=options,
    ) as call:
        await call.sleep_until(4.5)
        assert not call.audio_out.clears, "one word must not interrupt"
        assert call.session.agent_state == "speaking"
        await call.sleep_until(12.0)
    # three words are in the interim transcript by 5.0 + 0.6 (3/5 of the words)
    assert len(call.audio_out.clears) == 1
    assert call.at(5.5) <= call.audio_out.clears[0] <= call.at(5.9)
    assert assistant_messages(call)[0].interrupted


@pytest.mark.parametrize("discard", [True, False])
async def test_uninterruptible_say(autojump_clock: trio.testing.MockClock, discard: bool) -> None:
    options = SessionOptions(discard_audio_if_uninterruptible=discard)
    async with open_call(
        [speech(1.0, 2.5, "stop talking please")], tail=12.0, options=options
    ) as call:
        handle = call.session.say(LONG, allow_interruptions=False)
        await handle
        await call.sleep_until(12.0)
    assert not handle.interrupted
    assert not call.audio_out.clears
    said = assistant_messages(call)
    assert [m.content for m in said] == [LONG]
    # the STT heard silence (discard), or the turn is recorded but gets no reply
    user = [m.content for m in call.session.history.messages() if m.role == "user"]
    assert user == ([] if discard else ["stop talking please"])
    assert call.llm.requests == []


@pytest.mark.parametrize("can_pause", [False, True])
async def test_interrupt_before_first_audio(
    autojump_clock: trio.testing.MockClock, can_pause: bool
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "book a table"), speech(2.2, 3.2, "for four people")],
        responses={
            "book a table": LLMScript("Sure, for how many people?", ttft=1.0),
            "for four people": LLMScript("Booked for four.", ttft=0.1),
        },
        output=FakeAudioOutput(can_pause=can_pause),
        options=SessionOptions(preemptive_generation=False),
    ) as call:
        await call.sleep_until(8.0)
    # the stale reply was ready at 3.0 but the user was speaking: it never played
    second_commit = call.at(3.2 + 0.5)
    assert all(f.at >= second_commit for f in call.audio_out.accepted)
    speaking = [e for e in call.of_type(AgentStateChanged) if e.new_state == "speaking"]
    assert speaking
    assert all(e.created_at >= second_commit for e in speaking)
    replies = assistant_messages(call)
    assert [m.content for m in replies] == ["Booked for four."]
    assert call.llm.streams.all_closed()
    assert call.tts.streams.all_closed()


async def test_false_interruption_resumes(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hours"), noise(3.0, 3.7)],
        responses={"hours": LLMScript(LONG, ttft=0.1)},
        output=FakeAudioOutput(can_pause=True),
    ) as call:
        await call.sleep_until(3.6)
        assert call.audio_out.paused
        assert call.session.agent_state == "listening"
        await call.sleep_until(20.0)
    [resumed] = call.of_type(FalseInterruptionDetected)
    # noise ends 3.7, VAD end of speech at 4.0 (last speech 3.7); timer 2.0 s from then
    assert resumed.resumed
    assert resumed.created_at == pytest.approx(call.at(6.0), abs=0.011)
    [reply] = assistant_messages(call)
    assert reply.content == LONG
    assert not reply.interrupted
    assert not call.audio_out.clears


async def test_false_interruption_suppressed_when_turn_commits(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hours"), speech(3.0, 3.8, "what about sunday")],
        responses={"hours": LLMScript(LONG, ttft=0.1)},
        output=FakeAudioOutput(can_pause=True),
    ) as call:
        await call.sleep_until(20.0)
    assert not call.of_type(FalseInterruptionDetected)
    first = assistant_messages(call)[0]
    assert first.interrupted
    assert LONG.startswith(first.content)
    # paused at 3.5, interrupted by the final transcript at 3.9: what played before the pause
    assert call.audio_out.clears[0] == pytest.approx(call.at(3.9), abs=0.011)
    user_turns = [m.content for m in call.session.history.messages() if m.role == "user"]
    assert user_turns == ["hours", "what about sunday"]


class KeywordTurnDetector:
    """Unlikely to be done when the transcript ends with a dangling word."""

    unlikely_threshold = 0.5

    async def predict_end_of_turn(self, chat_ctx, transcript, audio):  # type: ignore[no-untyped-def]
        await trio.sleep(0.05)  # model latency, inside the endpointing wait
        return 0.1 if transcript.split()[-1] in {"to", "and", "the"} else 0.9


# with a detector, LiveKit's defaults: 2.5 s when unlikely done, 0.3 s when likely --
# here 0.35 s: the detector is asked at the VAD's end of speech (0.3 s of silence)
# and answers 50 ms later
@pytest.mark.parametrize(("text", "delay"), [("I want to", 2.5), ("I am done", 0.35)])
async def test_turn_detector_chooses_endpointing_delay(
    autojump_clock: trio.testing.MockClock, text: str, delay: float
) -> None:
    async with open_call([speech(0.5, 1.5, text)], turn_detector=KeywordTurnDetector()) as call:
        await call.sleep_until(8.0)
    [metrics] = call.of_type(TurnMetricsCollected)
    assert metrics.end_of_utterance_delay == pytest.approx(delay)


async def test_new_speech_restarts_endpointing(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call(
        [speech(0.5, 1.5, "I want to"), speech(3.0, 3.6, "go home")],
        turn_detector=KeywordTurnDetector(),
    ) as call:
        await call.sleep_until(8.0)
    [user] = [m for m in call.session.history.messages() if m.role == "user"]
    assert user.content == "I want to go home"
    assert user.created_at == pytest.approx(call.at(3.6 + 0.3 + 0.05))


async def test_preemptive_generation_reused(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hello")], responses={"hello": LLMScript("Hi there, friend.", ttft=0.3)}
    ) as call:
        await call.sleep_until(6.0)
    [request] = call.llm.requests
    # the final transcript: first silent frame delivered at 1.51, STT final delay 0.1
    assert request.record.opened_at == pytest.approx(call.at(1.61))
    assert request.record.closed
    [metrics] = call.of_type(TurnMetricsCollected)
    assert metrics.llm_ttft == pytest.approx(0.3)


class RagAgent(Agent):
    async def on_user_turn_completed(self, turn_ctx, message):  # type: ignore[no-untyped-def]
        turn_ctx.add_message("system", "Retrieved: the shop closes at five.")


async def test_preemptive_generation_invalidated(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hello")],
        responses={"hello": LLMScript("Hi there, friend.", ttft=0.8, token_delay=0.1)},
        agent=RagAgent(instructions="test"),
    ) as call:
        await call.sleep_until(6.0)
    first, second = call.llm.requests  # exactly one extra request
    assert first.record.closed_at is not None
    assert first.record.closed_at <= second.record.opened_at
    assert first.record.first_output_at is None  # its stream was closed, not just abandoned
    assert "Retrieved" in second.chat_ctx.messages()[-1].content
    [reply] = assistant_messages(call)
    assert reply.content == "Hi there, friend."


async def test_user_keeps_talking_after_premature_end_of_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "I need"), speech(2.1, 3.5, "a taxi to the airport")],
        responses={
            "I need": LLMScript("What do you need?", ttft=0.3),
            "a taxi to the airport": LLMScript("Calling a taxi.", ttft=0.3),
        },
        tts=FakeTTS(ttfb=0.3),  # first audio would be at 2.3; the user resumes at 2.1
    ) as call:
        await call.sleep_until(8.0)
    second_commit = call.at(4.0)
    speaking = [e for e in call.of_type(AgentStateChanged) if e.new_state == "speaking"]
    assert speaking
    assert all(e.created_at >= second_commit for e in speaking)
    assert all(f.at >= second_commit for f in call.audio_out.accepted)
    assert [m.content for m in assistant_messages(call)] == ["Calling a taxi."]
    assert call.llm.streams.all_closed()
    assert call.tts.streams.all_closed()
    items = [e.item for e in call.of_type(ConversationItemAdded)]
    assert [getattr(i, "content", None) for i in items][:2] == ["I need", "a taxi to the airport"]


async def test_user_away_after_silence(autojump_clock: trio.testing.MockClock) -> None:
    options = SessionOptions(user_away_timeout=5.0)
    async with open_call([speech(0.5, 1.5, "hello")], options=options) as call:
        await call.sleep_until(30.0)
    from trioagents.voice import UserStateChanged

    changes = [(e.new_state, e.created_at) for e in call.of_type(UserStateChanged)]
    assert [state for state, _ in changes] == ["speaking", "listening", "away"]
    agent_done = max(e.created_at for e in call.of_type(AgentStateChanged))
    assert changes[-1][1] == pytest.approx(agent_done + 5.0)


async def test_transcript_paced_against_audio(autojump_clock: trio.testing.MockClock) -> None:
    from trioagents.testing import FakeTextOutput

    text_out = FakeTextOutput()
    async with open_call(
        [speech(0.5, 1.5, "hours"), speech(4.0, 5.0, "thanks")],
        responses={"hours": LLMScript(LONG, ttft=0.1)},
        text_output=text_out,
    ) as call:
        await call.sleep_until(9.0)
    first = [p for p in text_out.published if p.speech_id == text_out.published[0].speech_id]
    partial = [p for p in first if not p.final]
    assert len(partial) > 5, "words appear progressively"
    texts = [p.text for p in first]
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
    # never ahead of the audio: at each publication the words had been played
    played_by = {p.at: p.text for p in partial}
    start = call.audio_out.accepted[0].at
    for at, text in played_by.items():
        assert len(text) <= (at - start) * 16 + 1
    heard = assistant_messages(call)[0]
    assert first[-1].final
    assert first[-1].text == heard.content
