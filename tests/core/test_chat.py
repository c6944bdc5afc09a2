from __future__ import annotations

import pytest

from trioagents.core import (
    AgentHandoff,
    ChatContext,
    ChatMessage,
    ConfigurationError,
    FunctionCall,
    FunctionCallOutput,
)


def _ctx() -> ChatContext:
    ctx = ChatContext()
    ctx.add_message("system", "be brief")
    ctx.add_message("user", "one")
    ctx.add_message("assistant", "reply one")
    ctx.append(FunctionCall(call_id="c1", name="book", arguments='{"n": 2}'))
    ctx.append(FunctionCallOutput(call_id="c1", name="book", output="ok"))
    ctx.add_message("user", "two")
    ctx.append(AgentHandoff(old_agent="A", new_agent="B"))
    ctx.add_message("assistant", "reply t", interrupted=True, metrics={"ttft": 0.1})
    return ctx


def test_dict_round_trip_is_exact() -> None:
    ctx = _ctx()
    assert ChatContext.from_dict(ctx.to_dict()) == ctx


def test_copy_is_independent() -> None:
    ctx = _ctx()
    other = ctx.copy()
    other.add_message("user", "three")
    assert len(ctx) == 8
    assert len(other) == 9


def test_last_turns_keeps_instructions() -> None:
    ctx = _ctx()
    last = ctx.last_turns(1)
    assert [type(i).__name__ for i in last] == [
        "ChatMessage",
        "ChatMessage",
        "AgentHandoff",
        "ChatMessage",
    ]
    assert last.items[0] == ctx.items[0]
    assert last.items[1].content == "two"  # type: ignore[union-attr]
    assert len(ctx.last_turns(0)) == 1
    assert ctx.last_turns(5) == ctx


def test_bad_records_fail_loudly() -> None:
    with pytest.raises(ConfigurationError, match="unknown chat item type"):
        ChatContext.from_dict([{"type": "nope"}])
    with pytest.raises(ConfigurationError, match="unknown fields"):
        ChatContext.from_dict([{"type": "message", "role": "user", "content": "x", "extra": 1}])
    with pytest.raises(ConfigurationError, match="bad message record"):
        ChatContext.from_dict([{"type": "message", "role": "user"}])
    with pytest.raises(ConfigurationError, match="unknown chat role"):
        ChatMessage(role="robot", content="x")  # type: ignore[arg-type]
