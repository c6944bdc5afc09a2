"""session.update_agent: a handoff decided by session code (text mode, virtual time)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.voice.agents_llm import AgentLLM
from trioagents.core import AgentHandoff, ChatMessage, ConfigurationError
from trioagents.testing import LLMScript
from trioagents.voice import (
    Agent,
    AgentHandedOff,
    AgentSession,
    ConversationItemAdded,
    UndeclaredTransitionError,
    Workflow,
)

LOG: list[str] = []


class Front(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="front")

    async def on_exit(self) -> None:
        await trio.sleep(0.5)
        LOG.append("front.exit")


class Human(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="human")

    async def on_enter(self) -> None:
        LOG.append("human.enter")
        self.session.say("A person is here now.")


FRONT_TO_HUMAN = Workflow(Front, transitions=[(Front, Human)])  # session code's transition


def handoffs(session: AgentSession[None]) -> list[tuple[str | None, str]]:
    return [(i.old_agent, i.new_agent) for i in session.history if isinstance(i, AgentHandoff)]


async def test_an_idle_session_switches_at_once(autojump_clock: trio.testing.MockClock) -> None:
    LOG.clear()
    session: AgentSession[None] = AgentSession(llm=AgentLLM({}))
    events = session.subscribe()
    async with session.start(Front(), workflow=FRONT_TO_HUMAN):
        await session.wait_idle()
        session.update_agent(Human())
        await session.wait_idle()
        assert session.current_agent.name == "Human"
        said = [m.content for m in session.history.messages() if m.role == "assistant"]
        assert said == ["A person is here now."]
    assert LOG == ["front.exit", "human.enter"]
    assert handoffs(session) == [("Front", "Human")]
    published = [e async for e in events if isinstance(e, AgentHandedOff)]
    assert [(e.old_agent, e.new_agent) for e in published] == [("Front", "Human")]


async def test_the_current_speech_finishes_first(autojump_clock: trio.testing.MockClock) -> None:
    """What the old agent is saying is not cut; then the switch."""
    LOG.clear()
    llm = AgentLLM({"front": [LLMScript("Let me check that for you, one moment.", ttft=0.5)]})
    session: AgentSession[None] = AgentSession(llm=llm)
    items = session.subscribe()
    async with session.start(Front(), workflow=FRONT_TO_HUMAN):
        await session.wait_idle()
        session.generate_reply(user_input="is anyone there?")
        await trio.sleep(0.1)  # the reply is underway (waiting for the LLM)
        assert session.current_speech is not None
        session.update_agent(Human())
        assert session.current_agent.name == "Front"  # not yet: the reply plays
        await session.wait_idle()
    order = [
        e.item.content if isinstance(e, ConversationItemAdded) else f"--> {e.new_agent}"
        async for e in items
        if isinstance(e, AgentHandedOff)
        or (isinstance(e, ConversationItemAdded) and isinstance(e.item, ChatMessage))
    ]
    assert order == [
        "is anyone there?",
        "Let me check that for you, one moment.",
        "--> Human",
        "A person is here now.",
    ]
    front_reply = [m for m in session.history.messages() if m.content.startswith("Let me")]
    assert not front_reply[0].interrupted


async def test_a_declared_workflow_is_enforced_synchronously(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session: AgentSession[None] = AgentSession(llm=AgentLLM({}))
    async with session.start(Front()):  # discovered: Front has no way out
        with pytest.raises(UndeclaredTransitionError, match="transitions=\\[\\(Front, Human\\)\\]"):
            session.update_agent(Human())
        await session.wait_idle()
        assert session.current_agent.name == "Front"
    session = AgentSession(llm=AgentLLM({}))
    async with session.start(Front(), workflow=FRONT_TO_HUMAN):
        session.update_agent(Human())
        with pytest.raises(ConfigurationError, match="already decided"):
            session.update_agent(Human())  # the first is pending until the floor is free
        await session.wait_idle()
        assert session.workflow_state is not None
        assert session.workflow_state.current is Human


async def test_speeches_queued_but_not_started_are_spoken_by_the_new_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """As after a tool's handoff: the queue is rebuilt for the agent in charge."""
    llm = AgentLLM({"front": [LLMScript("front answers")], "human": [LLMScript("human answers")]})
    session: AgentSession[None] = AgentSession(llm=llm)
    async with session.start(Front(), workflow=FRONT_TO_HUMAN):
        await session.wait_idle()
        session.generate_reply(user_input="hello?")  # queued, not started yet
        session.update_agent(Human())
        await session.wait_idle()
    said = [m.content for m in session.history.messages() if m.role == "assistant"]
    assert said == ["human answers", "A person is here now."]  # queue order (FIFO)
    assert llm.asked_by == ["human"]


async def test_bad_input_and_close_before_the_switch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    LOG.clear()
    llm = AgentLLM({"front": [LLMScript("A long answer. " * 20, token_delay=0.1)]})
    session: AgentSession[None] = AgentSession(llm=llm)
    async with session.start(Front(), workflow=FRONT_TO_HUMAN):
        with pytest.raises(ConfigurationError, match="needs an Agent"):
            session.update_agent("Human")  # type: ignore[arg-type]
        await session.wait_idle()
        session.generate_reply(user_input="tell me everything")
        await trio.sleep(0.5)
        session.update_agent(Human())
        session.close()  # before the reply ended: nothing is switched
        await session.wait_closed()
    assert session.current_agent.name == "Front"
    assert handoffs(session) == []
    assert "human.enter" not in LOG
