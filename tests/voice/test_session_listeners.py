"""``session.on(name, callback)``: LiveKit-style listeners over the event bus."""

from __future__ import annotations

import itertools

import pytest
import trio
import trio.testing

from trioagents.core import ChatMessage, ConfigurationError
from trioagents.testing import FakeLLM, LLMScript
from trioagents.voice import (
    Agent,
    AgentSession,
    AgentStateChanged,
    ConversationItemAdded,
    SessionClosed,
    SessionEvent,
)


def new_session(script: str = "Hello there.") -> AgentSession[None]:
    return AgentSession(llm=FakeLLM(default=LLMScript(script, ttft=0.2)))


async def test_sync_listeners_get_their_events_in_order_and_close_last(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = new_session()
    seen: list[str] = []
    session.on("conversation_item_added", lambda ev: seen.append(f"item:{ev.item.role}"))
    session.on("agent_state_changed", lambda ev: seen.append(f"state:{ev.new_state}"))
    session.on("close", lambda ev: seen.append(f"close:{ev.reason}"))
    async with session.start(Agent(instructions="hi")):
        await session.run(user_input="hello")
    assert seen == [
        "state:listening",
        "item:user",
        "state:thinking",
        "state:speaking",
        "item:assistant",
        "state:listening",
        "close:user_initiated",
    ]


async def test_the_class_works_as_the_name_and_on_decorates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = new_session()
    seen: list[SessionEvent] = []

    @session.on(ConversationItemAdded)
    def on_item(event: ConversationItemAdded) -> None:
        seen.append(event)

    assert callable(on_item)  # the decorator returns the function
    async with session.start(Agent(instructions="hi")):
        await session.run(user_input="hello")
    assert [e.item.content for e in seen if isinstance(e, ConversationItemAdded)] == [
        "hello",
        "Hello there.",
    ]


async def test_async_listeners_are_awaited_and_never_delay_the_pipeline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = new_session()
    handled: list[tuple[str, float]] = []

    async def slow(event: AgentStateChanged) -> None:
        await trio.sleep(5.0)
        handled.append((event.new_state, trio.current_time()))

    session.on("agent_state_changed", slow)
    async with session.start(Agent(instructions="hi")):
        start = trio.current_time()
        await session.run(user_input="hello")
        reply_took = trio.current_time() - start
        await trio.sleep(30)
    assert reply_took < 1.0  # the 5 s listener held up nobody but the next listeners
    assert [state for state, _ in handled] == ["listening", "thinking", "speaking", "listening"]
    times = [t for _, t in handled]
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(times))  # in order


async def test_a_listener_error_ends_the_session_and_propagates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = new_session()
    events = session.subscribe()

    def broken(event: ConversationItemAdded) -> None:
        raise RuntimeError("listener bug")

    session.on("conversation_item_added", broken)
    body_done: list[bool] = []

    async def run_session() -> None:
        async with session.start(Agent(instructions="hi")):
            session.generate_reply(user_input="hello")
            await trio.sleep(60)  # cancelled when the listener fails
            body_done.append(True)

    with pytest.raises(RuntimeError, match="listener bug"):
        await run_session()
    assert body_done == []
    closed = [e async for e in events if isinstance(e, SessionClosed)]
    assert [e.reason for e in closed] == ["listener_error"]


async def test_off_once_and_registration_during_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = new_session()
    always: list[str] = []
    first: list[str] = []
    later: list[str] = []

    def record(event: ConversationItemAdded) -> None:
        assert isinstance(event.item, ChatMessage)
        always.append(event.item.content)

    session.on("conversation_item_added", record)
    session.once("conversation_item_added", lambda ev: first.append(ev.item.content))
    async with session.start(Agent(instructions="hi")):
        await session.run(user_input="one")
        session.on("conversation_item_added", lambda ev: later.append(ev.item.content))
        session.off("conversation_item_added", record)
        await session.run(user_input="two")
        await trio.sleep(1)
    assert always == ["one", "Hello there."]
    assert first == ["one"]
    assert later == ["two", "Hello there."]


async def test_a_listener_may_speak(autojump_clock: trio.testing.MockClock) -> None:
    session = new_session()

    def greet_back(event: ConversationItemAdded) -> None:
        if isinstance(event.item, ChatMessage) and event.item.content == "ping":
            session.say("pong")

    session.on("conversation_item_added", greet_back)
    async with session.start(Agent(instructions="hi")):
        session.generate_reply(user_input="ping")
        await trio.sleep(5)
        await session.wait_idle()
    said = [i.content for i in session.history if isinstance(i, ChatMessage)]
    assert said == ["ping", "Hello there.", "pong"]


def test_unknown_names_and_non_callables_are_refused() -> None:
    session = new_session()
    with pytest.raises(ConfigurationError, match="unknown session event 'user_speech'"):
        session.on("user_speech", print)  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="callable"):
        session.on("close", "not a function")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="event name"):
        session.on(int, print)  # type: ignore[call-overload]
