"""Manual turn detection (push to talk): commit_user_turn / clear_user_turn, virtual time."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioagents.core import ChatMessage, ConfigurationError
from trioagents.testing import FakeSTT, LLMScript, Timeline, speech
from trioagents.voice import SessionOptions

from .harness import open_call

MANUAL = SessionOptions(turn_detection="manual")


def said(call, role: str) -> list[ChatMessage]:  # type: ignore[no-untyped-def]
    return [m for m in call.session.history.messages() if m.role == role]


async def test_no_turn_ends_until_the_application_commits_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "hello there")],
        responses={"hello there": LLMScript("Hi!")},
        options=MANUAL,
    ) as call:
        await call.sleep_until(10.0)  # auto mode would have answered at ~2.0
        assert said(call, "user") == []
        assert call.audio_out.accepted == []
        call.session.commit_user_turn()
        await call.sleep_until(12.0)
    [user] = said(call, "user")
    assert user.content == "hello there"
    assert user.created_at == pytest.approx(call.at(10.0))  # the STT had caught up
    assert [m.content for m in said(call, "assistant")] == ["Hi!"]


async def test_commit_at_release_waits_for_the_final_transcript(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Released mid-recognition: the commit waits for the STT, then has every word."""
    segments = [speech(0.5, 1.5, "book a table for four")]
    stt = FakeSTT(Timeline(segments, tail=30.0), final_delay=0.4)
    async with open_call(
        segments, responses={"book a table for four": LLMScript("Sure.")}, options=MANUAL, stt=stt
    ) as call:
        await call.sleep_until(1.55)  # released just after the last word
        call.session.commit_user_turn()
        await call.sleep_until(5.0)
    [user] = said(call, "user")
    assert user.content == "book a table for four"
    assert call.at(1.9) <= user.created_at <= call.at(2.0)  # final at 1.5 + 0.4


async def test_an_stt_that_does_not_catch_up_in_time_gives_the_words_so_far(
    autojump_clock: trio.testing.MockClock,
) -> None:
    segments = [speech(0.5, 1.5, "one two three four five")]
    # interims after 0.3, 0.6 and 0.9 s of speech: the last has 4 of the 5 words
    stt = FakeSTT(Timeline(segments, tail=30.0), final_delay=5.0, interim_interval=0.3)
    async with open_call(segments, options=MANUAL, stt=stt, default=LLMScript("ok")) as call:
        await call.sleep_until(1.6)
        call.session.commit_user_turn(transcript_timeout=0.5)
        await call.sleep_until(10.0)
    user = said(call, "user")
    assert user[0].created_at == pytest.approx(call.at(2.1))
    assert user[0].content == "one two three four"  # the last interim transcript
    assert len(said(call, "assistant")) == 1


async def test_skip_reply_records_the_turn_without_answering(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "note this down")], options=MANUAL, default=LLMScript("ok")
    ) as call:
        await call.sleep_until(3.0)
        call.session.commit_user_turn(skip_reply=True)
        await call.sleep_until(8.0)
    assert [m.content for m in said(call, "user")] == ["note this down"]
    assert said(call, "assistant") == []
    assert call.audio_out.accepted == []  # a preemptive generation was dropped


async def test_clear_drops_the_turn_and_the_stt_catching_up_on_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    segments = [speech(0.5, 1.5, "cancel this"), speech(3.0, 4.0, "hello there")]
    stt = FakeSTT(Timeline(segments, tail=30.0), final_delay=0.5)
    async with open_call(
        segments, options=MANUAL, stt=stt, responses={"hello there": LLMScript("Hi!")}
    ) as call:
        await call.sleep_until(1.6)  # released, then cancelled before the final (2.0)
        call.session.clear_user_turn()
        await call.sleep_until(4.0)
        call.session.commit_user_turn()
        await call.sleep_until(8.0)
    assert [m.content for m in said(call, "user")] == ["hello there"]
    assert [m.content for m in said(call, "assistant")] == ["Hi!"]


async def test_committing_silence_does_nothing(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call([speech(5.0, 6.0, "later")], options=MANUAL) as call:
        await call.sleep_until(1.0)
        call.session.commit_user_turn()
        await call.sleep_until(4.0)
    assert call.session.history.messages() == []
    assert call.llm.requests == []


async def test_auto_mode_commit_ends_the_turn_before_the_endpointing_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    options = SessionOptions(min_endpointing_delay=3.0, max_endpointing_delay=3.0)
    async with open_call(
        [speech(0.5, 1.5, "hello there")], options=options, default=LLMScript("Hi!")
    ) as call:
        await call.sleep_until(1.7)  # the final came at 1.6; the wait would end at 4.5
        call.session.commit_user_turn()
        await call.sleep_until(8.0)
    [user] = said(call, "user")
    assert call.at(1.7) <= user.created_at <= call.at(2.0)  # once the VAD saw silence
    assert len(said(call, "assistant")) == 1  # answered once, not again at 4.5


def test_turn_detection_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="turn_detection"):
        SessionOptions(turn_detection="push")  # type: ignore[arg-type]


class ScopeLog:
    """A SessionObserver keeping (kind, start time, end time, outcome, reason, attributes)."""

    def __init__(self) -> None:
        self.open: dict[str, tuple[str, float, str | None]] = {}
        self.ended: list[tuple[str, float, float, str, str | None, dict[str, object]]] = []
        self.parents: dict[str, str | None] = {}

    def on_scope_started(self, kind, scope_id, parent_id, attributes) -> None:  # type: ignore[no-untyped-def]
        self.open[scope_id] = (kind, trio.current_time(), parent_id)

    def on_scope_ended(self, scope_id, outcome, reason=None, attributes=None) -> None:  # type: ignore[no-untyped-def]
        kind, started, parent = self.open.pop(scope_id)
        self.parents[kind] = parent
        self.ended.append(
            (kind, started, trio.current_time(), outcome, reason, dict(attributes or {}))
        )

    async def on_turn_committed(self, snapshot: object) -> None:
        await trio.lowlevel.checkpoint()

    def user_turns(self) -> list[tuple[str, float, float, str, str | None, dict[str, object]]]:
        return [scope for scope in self.ended if scope[0] == "user_turn"]


async def test_user_turns_are_reported_as_scopes(autojump_clock: trio.testing.MockClock) -> None:
    """From the first speech to the commit (ok), a clear, or the close (cancelled)."""
    log = ScopeLog()
    async with open_call(
        [
            speech(0.5, 1.5, "hello there"),
            speech(3.0, 4.0, "never mind"),
            speech(6.0, 7.0, "one more thing"),
        ],
        options=MANUAL,
        default=LLMScript("ok"),
        observers=[log],
    ) as call:
        await call.sleep_until(2.0)
        call.session.commit_user_turn()
        await call.sleep_until(4.5)
        call.session.clear_user_turn()
        await call.sleep_until(7.5)  # the third turn is open when the session closes
    turns = log.user_turns()
    assert [(outcome, reason) for _, _, _, outcome, reason, _ in turns] == [
        ("ok", None),
        ("cancelled", "cleared"),
        ("cancelled", "session_closed"),
    ]
    first = turns[0]
    # opened when the VAD reported the speech (one 10 ms frame in), closed at the commit
    assert first[1] == pytest.approx(call.at(0.5), abs=0.02)
    assert first[2] == pytest.approx(call.at(2.0))
    assert first[5]["lk.end_of_turn_delay"] == pytest.approx(0.5)  # from the end of speech
    assert turns[1][1] == pytest.approx(call.at(3.0), abs=0.02)
    session_scope = next(s for s in log.ended if s[0] == "session")
    assert log.parents["user_turn"] is not None
    assert session_scope[1] <= first[1]
    assert not log.open
