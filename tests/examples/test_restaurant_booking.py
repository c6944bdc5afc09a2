"""examples/restaurant_booking: the scripted demo, the workflow graph, a WorkflowMachine."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from examples.restaurant_booking.agents import Booking, GreeterAgent
from examples.restaurant_booking.main import DEMO, RULES, WORKFLOW, build_session
from examples.restaurant_booking.text_chat import run_text_chat
from trioagents.core import LLM, ChatMessage
from trioagents.providers import OpenAILLM, ScriptedLLM
from trioagents.testing import OpenAIServerOptions, WorkflowMachine, open_openai_server
from trioagents.voice import Agent, AgentSession, SessionEvent

DOCS = Path(__file__).parents[2] / "docs" / "workflows.md"


async def test_the_demo_books_a_table(autojump_clock: trio.testing.MockClock) -> None:
    session, agent = build_session(ScriptedLLM(RULES))
    lines: list[str] = []
    await run_text_chat(session, agent, DEMO, lines.append)
    assert session.userdata == Booking(name="Ada", party_size=4, time="7pm", confirmed=True)
    handoffs = [line.split("--> ")[1] for line in lines if "--> " in line]
    assert handoffs == ["InformationAgent", "ConfirmationAgent", "DoneAgent"]
    assert "agent: So that is Ada, 4 people at 7pm. Shall I book it?" in lines
    assert lines[-1] == "agent: You're all set. See you soon, goodbye!"
    assert session.close_reason == "user_initiated"


async def test_a_refusal_goes_back_to_information(autojump_clock: trio.testing.MockClock) -> None:
    session, agent = build_session(ScriptedLLM(RULES))
    lines: list[str] = []
    script = ("book a table", "Bo, 2 people at 8pm", "no, change it")
    await run_text_chat(session, agent, script, lines.append)
    handoffs = [line.split("--> ")[1] for line in lines if "--> " in line]
    assert handoffs == ["InformationAgent", "ConfirmationAgent", "InformationAgent"]
    assert not session.userdata.confirmed


async def test_a_party_too_large_is_a_tool_error(autojump_clock: trio.testing.MockClock) -> None:
    session, agent = build_session(ScriptedLLM(RULES))
    lines: list[str] = []
    await run_text_chat(session, agent, ("book", "Cy, 40 people at 9pm"), lines.append)
    assert session.userdata.party_size is None
    assert session.current_agent.name == "InformationAgent"


def test_importing_has_no_side_effects_and_builds_lazily() -> None:
    session, agent = build_session(ScriptedLLM(RULES))
    assert isinstance(agent, GreeterAgent)
    assert session.current_speech is None  # nothing started


def test_docs_show_the_generated_diagram() -> None:
    block = re.search(r"<!-- restaurant-diagram -->\n```mermaid\n(.*?)```", DOCS.read_text(), re.S)
    assert block is not None, "docs/workflows.md lost the restaurant diagram block"
    assert block.group(1) == WORKFLOW.to_mermaid()


class RestaurantMachine(WorkflowMachine):
    utterances = st.sampled_from(
        ["I'd like to book a table", "Ada, 4 people at 7pm", "yes", "no, change it", "hmm"]
    )

    def build_session(self, llm: LLM) -> tuple[AgentSession[Any], Agent]:
        return build_session(llm)

    def base_llm(self) -> LLM:
        return ScriptedLLM(RULES)

    def check_session(
        self, session: AgentSession[Any], events: Sequence[SessionEvent]
    ) -> list[str]:
        """The workflow's own invariant: nothing is booked unless the caller said yes."""
        said = [m.content for m in session.history.messages() if m.role == "user"]
        if session.userdata.confirmed and "yes" not in said:
            return ["booked without the caller saying yes"]
        return []


TestRestaurantWorkflow = RestaurantMachine.TestCase
TestRestaurantWorkflow.settings = settings(
    max_examples=60,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_machine_speed() -> None:
    """Hundreds of examples per second is the target; keep a generous floor here."""
    started = time.perf_counter()
    run_state_machine_as_test(
        RestaurantMachine,
        settings=settings(max_examples=40, stateful_step_count=8, deadline=None, database=None),
    )
    elapsed = time.perf_counter() - started
    assert 40 / elapsed > 10, f"{40 / elapsed:.0f} examples/s"


@pytest.mark.slow
async def test_runs_on_an_openai_compatible_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real HTTP over loopback (real clock): OPENAI_BASE_URL/OPENAI_API_KEY select OpenAILLM."""
    options = OpenAIServerOptions(chat_text="Welcome to Trio Bistro!", chunk_interval=0.0)
    async with open_openai_server(options) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        session, agent = build_session()
        assert isinstance(session.llm, OpenAILLM)
        lines: list[str] = []
        with trio.fail_after(10):
            await run_text_chat(session, agent, ["hello"], lines.append)
    assert lines == [
        "agent: Welcome to Trio Bistro!",
        "  you: hello",
        "agent: Welcome to Trio Bistro!",
    ]
    assert len(server.requests) == 2


async def test_an_opening_reply_does_not_act_on_words_said_after_it_was_queued() -> None:
    # run() right after start(): the greeting was asked for before the user spoke, so
    # it greets; the user's words get their own reply (once) from the agent they reach.
    session, agent = build_session()
    async with session.start(agent, workflow=WORKFLOW):
        await session.run(user_input="Hi, I'd like to book a table")
        said = [
            item.content
            for item in session.history.items
            if isinstance(item, ChatMessage) and item.role == "assistant"
        ]
    assert said == [
        "Welcome to Trio Bistro! Would you like to book a table?",
        "Happy to. Your name, party size and time, please?",
    ]
