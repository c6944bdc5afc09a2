"""A realtime session when the model fails: reconnects, retries, and the error policy.

Text mode (no audio) on the loopback fake, virtual time. A lost connection is the
link's: it reconnects after a backoff and restores the conversation as text; a
reply cut before anything played is asked again once on the new connection. A
refused key ends the session (not retryable); reply-level errors go through the
error policy like a chat LLM's.
"""

from __future__ import annotations

import logging

import pytest
import trio

from trioagents.core import ProviderStatusError, SkipTurn
from trioagents.testing import (
    CloseDuringReply,
    ErrorForReply,
    FakeRealtimeOptions,
    RealtimeReply,
    open_fake_realtime,
    realtime_unauthorized,
    realtime_unavailable,
)
from trioagents.voice import Agent, AgentSession, ErrorOccurred, SessionClosed

from .realtime_support import model_for

CANARY = "sk-CANARY-session-91d2"


async def test_a_lost_connection_is_reopened_and_the_reply_asked_again(
    autojump_clock: trio.abc.Clock,
) -> None:
    lost = RealtimeReply("never heard")  # the reply the fault cuts
    script = [lost, RealtimeReply("Hello!"), RealtimeReply("Still here.")]
    async with open_fake_realtime(script) as server:
        server.script(CloseDuringReply(reply=1, after_chunks=0))
        session: AgentSession[None] = AgentSession(llm=model_for(server))
        events = session.subscribe()
        with trio.fail_after(30):
            async with session.start(Agent(instructions="Be brief.")):
                first = await session.run(user_input="hi")
                second = await session.run(user_input="are you there?")
    first.expect.next_event().is_message(role="user", contains="hi")
    first.expect.next_event().is_message(role="assistant", contains="Hello!")
    second.expect.next_event().is_message(role="user")
    second.expect.next_event().is_message(role="assistant", contains="Still here.")
    assert len(server.sessions) == 2
    restored = server.sessions[1]
    assert restored.session["instructions"] == "Be brief."
    created = [e.body["item"] for e in restored.of_type("conversation.item.create")]
    # the second connection is told the whole conversation, as text, in order
    assert [(i["role"], i["content"][0]["text"]) for i in created] == [
        ("user", "hi"),  # restored before the retried reply
        ("user", "are you there?"),  # "Hello!" is the new connection's own item
    ]
    errors = []
    while True:
        try:
            event = events.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            break
        if isinstance(event, ErrorOccurred):
            errors.append(event)
    assert [(e.source, type(e.action).__name__) for e in errors] == [("llm", "RetryRequest")]
    assert errors[0].error.retryable


async def test_a_refused_key_ends_the_session(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_fake_realtime([RealtimeReply("x")]) as server:
        server.script(realtime_unauthorized())
        model = model_for(server)
        model.connection = type(model.connection)(base_url=server.base_url, api_key=CANARY)
        session: AgentSession[None] = AgentSession(llm=model)
        events = session.subscribe()
        with trio.fail_after(30):
            async with session.start(Agent(instructions="x")):
                await session.wait_closed()
    assert session.close_reason == "error"
    closed = [e async for e in events if isinstance(e, SessionClosed)]
    assert isinstance(closed[0].error, ProviderStatusError)
    assert closed[0].error.status == 401
    assert CANARY not in caplog.text
    assert CANARY not in repr(closed[0].error) + str(closed[0].error.body)
    assert len(server.sessions) == 1  # not retried


async def test_a_reply_error_is_resolved_by_the_policy(autojump_clock: trio.abc.Clock) -> None:
    script = [RealtimeReply("never"), RealtimeReply("Second try works.")]
    async with open_fake_realtime(script, options=FakeRealtimeOptions()) as server:
        server.script(ErrorForReply(reply=1, error_type="invalid_request_error"))
        session: AgentSession[None] = AgentSession(llm=model_for(server))
        seen = []
        session.on("error", seen.append)
        with trio.fail_after(30):
            async with session.start(Agent(instructions="x")):
                with pytest.raises(ProviderStatusError):
                    await session.run(user_input="first")
                second = await session.run(user_input="second")
    second.expect.next_event().is_message(role="user")
    second.expect.next_event().is_message(role="assistant", contains="Second try works.")
    assert len(server.sessions) == 1  # the connection survived the error event
    assert [type(e.action) for e in seen] == [SkipTurn]
    assert seen[0].error.status == 400


async def test_reconnects_are_bounded_and_back_off(autojump_clock: trio.abc.Clock) -> None:
    async with open_fake_realtime([RealtimeReply("x")]) as server:
        server.script(*[realtime_unavailable()] * 5)
        session: AgentSession[None] = AgentSession(llm=model_for(server))
        with trio.fail_after(30):
            async with session.start(Agent(instructions="x")):
                await session.wait_closed()
    # three attempts (max_unrecoverable_errors), 0.5 s then 1 s apart
    assert [c.refused for c in server.sessions] == [503, 503, 503]
    opened = [c.opened_at for c in server.sessions]
    assert opened[1] - opened[0] == pytest.approx(0.5, abs=0.02)
    assert opened[2] - opened[1] == pytest.approx(1.0, abs=0.02)
    assert session.close_reason == "error"
