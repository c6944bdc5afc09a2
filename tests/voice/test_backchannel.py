"""Backchannel vs barge-in: "mm-hm" over the agent is not a turn; "wait, stop" is."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.testing import FakeAudioOutput, FakeSTT, LLMScript, Timeline, speech
from trioagents.voice import DEFAULT_BACKCHANNEL_WORDS, FalseInterruptionDetected, SessionOptions
from trioagents.voice._interruption import is_backchannel

from .harness import open_call

LONG = (
    "Our opening hours are nine to five on weekdays. On Saturdays we open at ten. "
    "We are closed on Sundays and on public holidays. Anything else I can do for you?"
)
RESPONSES = {"hours": LLMScript(LONG, ttft=0.1)}


@pytest.mark.parametrize("text", ["Mm-hmm.", "yeah", "Yeah, okay!", "uh huh", "I see", "right"])
def test_acknowledgements_are_backchannels(text: str) -> None:
    assert is_backchannel(text, DEFAULT_BACKCHANNEL_WORDS)


@pytest.mark.parametrize("text", ["", "yeah but wait", "stop", "no", "what about sunday"])
def test_other_words_are_not(text: str) -> None:
    assert not is_backchannel(text, DEFAULT_BACKCHANNEL_WORDS)


def test_an_empty_word_list_disables_backchannels() -> None:
    assert not is_backchannel("yeah", frozenset())


def user_messages(call) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.content for m in call.session.history.messages() if m.role == "user"]


async def test_a_backchannel_does_not_interrupt_the_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    options = SessionOptions(min_interruption_words=1)
    async with open_call(
        [speech(0.5, 1.5, "hours"), speech(3.0, 4.0, "yeah okay")],
        responses=RESPONSES,
        options=options,
    ) as call:
        await call.sleep_until(4.5)
        assert call.session.agent_state == "speaking"
        await call.sleep_until(25.0)
    assert not call.audio_out.clears
    [reply] = [m for m in call.session.history.messages() if m.role == "assistant"]
    assert not reply.interrupted
    assert reply.content == LONG
    assert user_messages(call) == ["hours"]  # the acknowledgement is not a turn
    assert len(call.llm.requests) == 1


async def test_words_that_take_the_floor_interrupt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    options = SessionOptions(min_interruption_words=1)
    async with open_call(
        [speech(0.5, 1.5, "hours"), speech(3.0, 4.0, "yeah but wait")],
        responses=RESPONSES,
        options=options,
    ) as call:
        await call.sleep_until(12.0)
    [cut] = call.audio_out.clears
    # "yeah but wait": interims every 0.2 s reveal words in proportion to the audio;
    # "yeah" alone (to 3.6) does not interrupt, "yeah but" (3.8) does
    assert cut == pytest.approx(call.at(3.8), abs=0.011)
    # the sink-revoke invariant: no frame of the cut reply accepted after the cut
    first_reply = [f for f in call.audio_out.accepted if f.at < call.at(4.0)]
    assert all(f.at <= cut + 1e-9 for f in first_reply)
    first = next(m for m in call.session.history.messages() if m.role == "assistant")
    assert first.interrupted
    assert user_messages(call) == ["hours", "yeah but wait"]


async def test_a_paused_reply_resumes_as_soon_as_the_words_are_a_backchannel(
    autojump_clock: trio.testing.MockClock,
) -> None:
    segments = [speech(0.5, 1.5, "hours"), speech(3.0, 4.0, "mm-hmm")]
    stt = FakeSTT(Timeline(segments, tail=30.0), interim_interval=60.0)  # finals only
    async with open_call(
        segments, responses=RESPONSES, output=FakeAudioOutput(can_pause=True), stt=stt
    ) as call:
        await call.sleep_until(3.6)
        assert call.audio_out.paused  # the VAD alone: paused at 0.5 s of speech
        await call.sleep_until(25.0)
    [resumed] = call.of_type(FalseInterruptionDetected)
    # resumed with the final transcript (4.0 + FakeSTT's 0.1 s), not 2 s later
    assert resumed.created_at == pytest.approx(call.at(4.11), abs=0.02)
    [reply] = [m for m in call.session.history.messages() if m.role == "assistant"]
    assert not reply.interrupted
    assert reply.content == LONG
    assert user_messages(call) == ["hours"]


async def test_a_backchannel_heard_early_does_not_even_pause(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hours"), speech(3.0, 4.0, "mm-hmm")],
        responses=RESPONSES,
        output=FakeAudioOutput(can_pause=True),
    ) as call:
        await call.sleep_until(25.0)
    assert call.audio_out.pauses == 0  # the interim "mm-hmm" came before 0.5 s of speech
    assert not call.of_type(FalseInterruptionDetected)
    assert user_messages(call) == ["hours"]
