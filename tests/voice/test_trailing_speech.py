"""What the user said just before the session closed is on the record.

The close comes mid-speech (interim words only) or after the final transcript but
before endpointing committed the turn. Either way the history, the events and the
journal observer get the user's words, unanswered, before the close completes.
Virtual time (FakeSTT: interim words every 0.2 s, the final 0.1 s after speech).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import trio
import trio.testing

from trioagents.core import ChatMessage
from trioagents.testing import speech
from trioagents.voice import (
    ConversationItemAdded,
    HookAttribute,
    HookScopeKind,
    SessionClosed,
    SessionOptions,
    TurnCommitted,
)

from .harness import open_call


class Journal:
    """An observer that records the turn commits (what the journal would write)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.commits: list[TurnCommitted] = []
        self.delay = delay

    def on_scope_started(
        self,
        kind: HookScopeKind,
        scope_id: str,
        parent_id: str | None,
        attributes: Mapping[str, HookAttribute],
    ) -> None:
        return None

    def on_scope_ended(
        self,
        scope_id: str,
        outcome: Literal["ok", "cancelled", "error"],
        reason: str | None = None,
        attributes: Mapping[str, HookAttribute] | None = None,
    ) -> None:
        return None

    async def on_turn_committed(self, snapshot: TurnCommitted) -> None:
        await trio.sleep(self.delay)
        self.commits.append(snapshot)


def user_lines(items: object) -> list[str]:
    return [
        i.content
        for i in items  # type: ignore[attr-defined]
        if isinstance(i, ChatMessage) and i.role == "user"
    ]


async def test_a_final_transcript_waiting_for_endpointing_is_kept(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    async with open_call([speech(0.5, 2.0, "I want to book a table")], observers=[journal]) as call:
        await call.sleep_until(2.2)  # final at 2.1; endpointing would commit at 2.5
        assert user_lines(call.session.history) == []
    assert user_lines(call.session.history) == ["I want to book a table"]
    assert [i for i in call.session.history if getattr(i, "role", "") == "assistant"] == []
    [commit] = journal.commits
    assert user_lines(commit.chat_ctx) == ["I want to book a table"]
    added = [e for e in call.events if isinstance(e, ConversationItemAdded)]
    closed = call.of_type(SessionClosed)
    assert call.events.index(added[-1]) < call.events.index(closed[0])


async def test_words_heard_mid_speech_are_kept(autojump_clock: trio.testing.MockClock) -> None:
    async with open_call([speech(0.5, 4.0, "one two three four five six seven")]) as call:
        await call.sleep_until(2.3)
        assert call.session.user_state == "speaking"
    [line] = user_lines(call.session.history)
    assert line
    assert "one two three four five six seven".startswith(line)
    assert line != "one two three four five six seven"


async def test_a_committed_turn_is_not_recorded_twice(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call([speech(0.5, 1.5, "hello")]) as call:
        await call.sleep_until(6.0)
    assert user_lines(call.session.history) == ["hello"]


async def test_a_slow_journal_is_bounded_by_close_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal(delay=60.0)
    async with open_call(
        [speech(0.5, 2.0, "I want to book a table")],
        observers=[journal],
        options=SessionOptions(close_grace=1.0),
    ) as call:
        await call.sleep_until(2.2)
        closing = trio.current_time()
    assert trio.current_time() - closing <= 1.0 + 1e-6
    assert user_lines(call.session.history) == ["I want to book a table"]
    assert journal.commits == []  # cut by the bound, not waited for
