"""examples/storyteller: information_gathered hands over to StoryAgent."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from examples.restaurant_booking.text_chat import run_text_chat
from examples.storyteller.main import DEMO, RULES, IntroAgent, StoryAgent, build_session
from trioagents.core import LLM
from trioagents.providers import ScriptedLLM
from trioagents.testing import WorkflowMachine
from trioagents.voice import Agent, AgentSession, Workflow


async def test_the_demo_tells_a_story(autojump_clock: trio.testing.MockClock) -> None:
    session, agent = build_session(ScriptedLLM(RULES))
    lines: list[str] = []
    await run_text_chat(session, agent, DEMO, lines.append)
    assert session.userdata.name == "Mia"
    assert session.userdata.location == "Lisbon"
    assert "   --> StoryAgent" in lines
    story = lines[lines.index("   --> StoryAgent") + 1]
    assert story.startswith("agent: Once upon a time in Lisbon, Mia")
    assert lines[-1] == "agent: The door creaks open onto a sea of stars. Do you step through?"
    # the handoff message is the tool output the story agent saw
    outputs = [i for i in session.history if getattr(i, "name", "") == "information_gathered"]
    assert outputs[-1].output == "Let's start the story for Mia from Lisbon!"  # type: ignore[union-attr]


def test_workflow() -> None:
    workflow = Workflow(IntroAgent)
    assert workflow.states == (IntroAgent, StoryAgent)
    assert workflow.to_mermaid() == (
        "stateDiagram-v2\n"
        "    [*] --> IntroAgent\n"
        "    IntroAgent --> StoryAgent: information_gathered\n"
    )


class StorytellerMachine(WorkflowMachine):
    utterances = st.sampled_from(
        ["Hi! I'm Mia and I'm from Lisbon.", "yes, open it", "no", "what?", "I am Bo from Oslo"]
    )

    def build_session(self, llm: LLM) -> tuple[AgentSession[Any], Agent]:
        return build_session(llm)

    def base_llm(self) -> LLM:
        return ScriptedLLM(RULES)


TestStorytellerWorkflow = StorytellerMachine.TestCase
TestStorytellerWorkflow.settings = settings(
    max_examples=60,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
