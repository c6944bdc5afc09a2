"""The storyteller: an intro agent gathers name and location, then hands over.

The port of LiveKit Agents' ``information_gathered`` example::

    python -m examples.storyteller --text            # type as the listener
    python -m examples.storyteller --text --demo     # a scripted conversation

Offline, :data:`RULES` drive a :class:`~trioagents.providers.ScriptedLLM`; with
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` set, a real OpenAI-compatible model
tells the story. Importing this module has no side effects.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import trio

from trioagents.core import LLM
from trioagents.providers import Rule, ScriptedToolCall
from trioagents.voice import Agent, AgentSession, RunContext, SessionOptions, function_tool

from ..restaurant_booking.text_chat import make_llm, run_text_chat

__all__ = ["DEMO", "RULES", "IntroAgent", "StoryAgent", "StoryData", "build_session", "main"]


@dataclass
class StoryData:
    name: str | None = None
    location: str | None = None


class IntroAgent(Agent):
    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are a storyteller. Ask the listener for their name and where they "
                "are from; once you have both, call information_gathered."
            )
        )

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def information_gathered(
        self, context: RunContext[StoryData], name: str, location: str
    ) -> tuple[StoryAgent, str]:
        """Called when the listener gave their name and location.

        Args:
            name: the listener's name
            location: where the listener is from
        """
        context.userdata.name, context.userdata.location = name, location
        return StoryAgent(name, location), f"Let's start the story for {name} from {location}!"


class StoryAgent(Agent):
    def __init__(self, name: str, location: str) -> None:
        super().__init__(
            instructions=(
                f"Tell an interactive story for {name}, who is from {location}. Keep each "
                "part to two sentences and end with a question."
            )
        )

    async def on_enter(self) -> None:
        self.session.generate_reply()


RULES = (
    Rule(r"^$", "Hello! I tell stories. What's your name, and where are you from?"),
    Rule(
        r"(?:I'm|I am|name is) (?P<name>[A-Z]\w*)\W.*from (?P<location>[A-Z]\w*)",
        tool_calls=[
            ScriptedToolCall(
                "information_gathered", '{{"name": "{name}", "location": "{location}"}}'
            )
        ],
    ),
    Rule(
        r"^Let's start the story for (?P<name>\w+) from (?P<location>\w+)",
        "Once upon a time in {location}, {name} found a door that was not there yesterday. "
        "Do you open it?",
        on="tool",
    ),
    Rule(r"\b(yes|open)", "The door creaks open onto a sea of stars. Do you step through?"),
    Rule(r"\bno\b", "The door waits patiently, humming softly. What do you do instead?"),
)

DEMO = ("Hi! I'm Mia and I'm from Lisbon.", "Yes, I open it!")


def build_session(
    llm: LLM | None = None, *, options: SessionOptions | None = None
) -> tuple[AgentSession[StoryData], IntroAgent]:
    """A new storyteller session (not started) and its first agent; no side effects."""
    llm = llm or make_llm(RULES, default="Tell me more?")
    return AgentSession(llm=llm, userdata=StoryData(), options=options), IntroAgent()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", action="store_true", help="text mode (the only mode here)")
    parser.add_argument("--demo", action="store_true", help="play a scripted conversation")
    args = parser.parse_args()
    session, agent = build_session()
    trio.run(run_text_chat, session, agent, DEMO if args.demo else None)
