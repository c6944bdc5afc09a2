"""A journaled voice session (text mode, fake LLM) crashes mid-turn and resumes elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trio
import trio.testing

from trioagents.core import ChatMessage, FunctionCallOutput, LLMToolCall
from trioagents.persistence import (
    JournalObserver,
    SessionJournal,
    SqliteJournalStore,
    affinity_key,
    attach_journal,
    dataclass_userdata,
    restore_agent,
)
from trioagents.testing import FakeLLM, LLMScript
from trioagents.voice import Agent, AgentSession, RunContext, Workflow, function_tool

KEY = affinity_key("room-1", "caller", "bistro")
SIDE_EFFECTS: list[int] = []


@dataclass
class Table:
    people: int | None = None


class Host(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You greet.")

    @function_tool
    async def start_booking(self) -> Booker:
        """Start a booking."""
        return Booker()


class Booker(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You book.")

    @function_tool
    async def book(self, context: RunContext[Table], people: int) -> str:
        """Book a table."""
        await trio.sleep(0.2)
        SIDE_EFFECTS.append(people)  # the side effect that must happen once
        context.userdata.people = people
        return f"booked BK-{len(SIDE_EFFECTS)} for {people}"


def tool_call(call_id: str, name: str, arguments: str = "{}") -> LLMToolCall:
    return LLMToolCall(call_id=call_id, name=name, arguments=arguments)


async def open_journaled(
    store: SqliteJournalStore, llm: FakeLLM
) -> tuple[AgentSession[Table], Agent, JournalObserver]:
    journal: SessionJournal[Table] = await SessionJournal.open(
        store, KEY, codec=dataclass_userdata(Table)
    )
    agent = restore_agent(journal, Workflow(Host))
    session: AgentSession[Table] = AgentSession(llm=llm, userdata=journal.userdata or Table())
    observer = attach_journal(session, journal, once_tools={"book"})
    return session, agent, observer


async def test_crash_mid_turn_then_resume_without_repeating_the_tool(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # SQLite runs in a worker thread: let real time pass before jumping virtual time
    autojump_clock.autojump_threshold = 0.02
    SIDE_EFFECTS.clear()
    path = tmp_path / "journal.db"
    llm_a = FakeLLM(
        {
            "a table please": LLMScript(tool_calls=[tool_call("c1", "start_booking")]),
            "two people": [
                LLMScript(tool_calls=[tool_call("c2", "book", '{"people": 2}')]),
                LLMScript(hang=True),  # worker A dies while the LLM answers
            ],
        }
    )
    async with await SqliteJournalStore.open(path) as store_a:
        session, agent, observer = await open_journaled(store_a, llm_a)
        journal = observer.journal
        assert journal.restored is None
        assert isinstance(agent, Host)
        async with session.start(agent):
            await session.run(user_input="a table please")
            assert isinstance(session.current_agent, Booker)
            with trio.move_on_after(30):
                await session.run(user_input="two people")
            session.close("crash")  # the process is gone; nothing more is written
        assert SIDE_EFFECTS == [2]
        assert journal.last_sequence == 0

    llm_b = FakeLLM(
        {
            "two people": [
                # a real LLM invents a new call id on the retry
                LLMScript(tool_calls=[tool_call("c9", "book", '{"people": 2}')]),
                LLMScript("You're booked for two."),
            ],
            "thanks": LLMScript("Goodbye."),
        }
    )
    async with await SqliteJournalStore.open(path) as store_b:
        session, agent, observer = await open_journaled(store_b, llm_b)
        journal = observer.journal
        assert journal.restored is not None
        assert journal.restored.agent_name == "Booker"
        assert journal.restored.fsm_state == "Booker"
        assert isinstance(agent, Booker)  # same agent ...
        assert [m.content for m in agent.chat_ctx.messages() if m.role == "user"] == [
            "a table please"
        ]  # ... same context
        async with session.start(agent):
            result = await session.run(user_input="two people")
            await session.run(user_input="thanks")
        assert SIDE_EFFECTS == [2], "the booking ran once across both workers"
        [output] = [i for i in result.items if isinstance(i, FunctionCallOutput)]
        assert (output.call_id, output.output) == ("c9", "booked BK-1 for 2")  # replayed
        assert len(observer.replayed) == 1
        assert session.userdata.people == 2  # what the tool set is restored with it
        first_request = llm_b.requests[0].chat_ctx.messages()
        assert any(m.content == "a table please" for m in first_request)
        assert journal.last_sequence == 2
    async with await SqliteJournalStore.open(path) as store_c:
        final = await store_c.load_latest(KEY)
    assert final is not None
    assert final.agent_name == "Booker"
    contents = [i.content for i in final.chat_items if isinstance(i, ChatMessage)]
    assert contents[-2:] == ["thanks", "Goodbye."]
    assert "You're booked for two." in contents
