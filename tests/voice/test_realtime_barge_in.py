"""Barge-in on a realtime reply, end to end over loopback websockets.

The user asks; the model's reply (82 characters, 5.1 s of audio) is generated at
twice real time and played in real time; the user speaks again mid-reply. The
fake's VAD reports ``speech_started``; in that cancel:

(a) no frame of the cut reply reaches the sink after the cancel (the sink's clear);
(b) the fake receives ``response.cancel`` (while it still generates) and
    ``conversation.item.truncate`` with ``audio_end_ms`` = the position the sink
    reported played (within one 20 ms frame);
(c) the chat context holds exactly the heard words (within one word) of the
    frames the sink played (their samples say which characters were spoken).

A Hypothesis property draws the barge-in instant.
"""

from __future__ import annotations

import pytest
import trio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trioagents.protocol import OpenAIRealtimeOptions
from trioagents.testing import (
    FakeAudioOutput,
    FakeRealtimeOptions,
    FakeVAD,
    RealtimeReply,
    heard_chars,
    noise,
    speech,
)
from trioagents.voice import AgentStateChanged, FalseInterruptionDetected, SpeechHandle

from .realtime_support import RealtimeCall, open_realtime_call

LONG = "The weather today is sunny with a light breeze from the west and warm afternoons."
ASK = speech(0.5, 1.5, "what is the weather")
PACE = FakeRealtimeOptions(pace=0.5)  # generation at twice real time: 2.6 s for 5.1 s
SCRIPT = [RealtimeReply(LONG), RealtimeReply("Okay.")]
FRAME = 0.02


def check_barge_in(call: RealtimeCall) -> None:
    out, connection = call.audio_out, call.server.last
    first, second = connection.replies[0], connection.replies[1]
    cut = out.segments[0]
    assert cut.interrupted
    clear_at = out.clears[0]
    # (a) nothing of the first reply after the cancel: the next frame is the second reply's
    later = [frame.at for frame in out.accepted if frame.at > clear_at + 1e-9]
    assert not later or min(later) >= second.requested_at
    # (b) cancel (if it was still generating) and truncate at the played position
    [truncate] = connection.of_type("conversation.item.truncate")
    assert truncate.body["item_id"] == first.item_id
    assert abs(truncate.body["audio_end_ms"] / 1000 - cut.position) <= FRAME + 1e-9
    assert truncate.at - clear_at < 0.05
    cancels = connection.of_type("response.cancel")
    if first.status == "cancelled":
        assert len(cancels) == 1
        assert cancels[0].at - clear_at < 0.05
        assert cancels[0].at <= truncate.at
    else:
        assert first.audio_sent == pytest.approx(len(LONG) / 16, abs=FRAME)
    # (c) the heard words, and only them, are in the chat context
    chars = heard_chars(cut.markers)[0] if cut.markers else 0
    heard = whole_words(chars)
    assistant = [m for m in call.session.history.messages() if m.role == "assistant"]
    if not heard:
        assert assistant[0].content == "Okay."
        return
    recorded = assistant[0].content.split()
    assert assistant[0].interrupted
    assert assistant[0].id == first.item_id
    assert abs(len(recorded) - len(heard)) <= 1
    assert recorded == LONG.split()[: len(recorded)]
    assert assistant[1].content == "Okay."


def whole_words(chars: int) -> list[str]:
    """The words of LONG whose every character was played."""
    words = LONG[:chars].split()
    mid_word = 0 < chars < len(LONG) and not LONG[chars - 1].isspace()
    if mid_word and not LONG[chars].isspace():
        words.pop()  # cut inside a word: not heard; a cut just after a space keeps it
    return words


async def run_barge_in(at: float) -> RealtimeCall:
    segments = [ASK, speech(at, at + 0.5, "stop please")]
    with trio.fail_after(60):
        async with open_realtime_call(segments, SCRIPT, fake=PACE, tail=6.0) as call:
            await call.sleep_until(at + 4.0)
    return call


async def test_barge_in_mid_reply(autojump_clock: trio.abc.Clock) -> None:
    call = await run_barge_in(3.2)
    check_barge_in(call)
    assert call.server.last.replies[0].status == "cancelled"
    assert call.said("user") == ["what is the weather", "stop please"]
    states = [e.new_state for e in call.of_type(AgentStateChanged)]
    turn = ["thinking", "speaking", "listening"]
    assert states == ["listening", *turn, *turn]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(at=2.0625)  # a cut just after "The ": the whole first word was heard
@given(at=st.floats(1.9, 6.5))
async def test_barge_in_at_any_instant(autojump_clock: trio.abc.Clock, at: float) -> None:
    """Before the first frame, while generating, after generation, near the end."""
    check_barge_in(await run_barge_in(at))


async def test_an_uninterruptible_reply_is_not_cut(autojump_clock: trio.abc.Clock) -> None:
    segments = [speech(3.2, 3.7, "stop please")]
    with trio.fail_after(60):
        async with open_realtime_call(segments, SCRIPT, fake=PACE, tail=8.0) as call:
            await call.sleep_until(1.0)
            handle: SpeechHandle = call.session.generate_reply(allow_interruptions=False)
            await handle
            await call.sleep_until(12.0)
    connection = call.server.last
    assert not connection.of_type("response.cancel")
    assert not connection.of_type("conversation.item.truncate")
    assert not call.audio_out.segments[0].interrupted
    # while it plays the model hears silence (discard_audio_if_uninterruptible): no turn
    assert not connection.of_type("input_audio_buffer.speech_started")
    assert call.said("user") == []
    assert call.said("assistant") == [LONG]
    assert len(connection.replies) == 1


async def test_our_vad_barges_in_without_the_models_turn_detection(
    autojump_clock: trio.abc.Clock,
) -> None:
    """turn_detection=None: our VAD's interruption condition (0.5 s of speech) cuts it."""
    options = OpenAIRealtimeOptions(turn_detection=None, input_transcription_model=None)
    segments = [ASK, speech(3.0, 4.0, "stop please")]
    with trio.fail_after(60):
        async with open_realtime_call(
            segments, SCRIPT, fake=PACE, options=options, with_stt=True, vad=FakeVAD()
        ) as call:
            await call.sleep_until(9.0)
    connection = call.server.last
    cut = call.audio_out.segments[0]
    assert cut.interrupted
    assert call.audio_out.clears[0] == pytest.approx(call.at(3.5), abs=0.02)
    [truncate] = connection.of_type("conversation.item.truncate")
    assert abs(truncate.body["audio_end_ms"] / 1000 - cut.position) <= FRAME + 1e-9
    assert len(connection.of_type("response.cancel")) == 1
    assert len(connection.of_type("input_audio_buffer.commit")) == 2
    assert call.said("user") == ["what is the weather", "stop please"]
    recorded = call.said("assistant")[0].split()
    heard = whole_words(heard_chars(cut.markers)[0])
    assert abs(len(recorded) - len(heard)) <= 1


async def test_a_false_interruption_pauses_and_resumes_the_reply(
    autojump_clock: trio.abc.Clock,
) -> None:
    """turn_detection=None with a pausable output: a noise over the reply pauses it
    (our VAD: 0.5 s of sound, no words); 2 s after it ends the reply resumes whole."""
    options = OpenAIRealtimeOptions(turn_detection=None, input_transcription_model=None)
    segments = [ASK, noise(3.0, 3.8)]
    with trio.fail_after(60):
        async with open_realtime_call(
            segments,
            SCRIPT,
            fake=PACE,
            options=options,
            with_stt=True,
            vad=FakeVAD(),
            audio_out=FakeAudioOutput(can_pause=True),
        ) as call:
            await call.sleep_until(12.0)
    connection = call.server.last
    assert call.audio_out.pauses == 1
    [resumed] = call.of_type(FalseInterruptionDetected)
    assert resumed.resumed
    # 2 s after our VAD said the noise ended (3.8 s + its 0.3 s silence window)
    assert resumed.created_at == pytest.approx(call.at(6.1), abs=0.02)
    assert not call.audio_out.segments[0].interrupted
    assert not connection.of_type("response.cancel")
    assert not connection.of_type("conversation.item.truncate")
    assert call.said("assistant")[0] == LONG
