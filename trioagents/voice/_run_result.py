"""Text-mode runs (in the spirit of LiveKit's ``RunResult``).

``session.run(user_input=...)`` records the user message, generates a reply and
returns a :class:`RunResult` holding the chat items the run added, in order, with
ordered-event assertions (:mod:`._run_expect`, :mod:`._run_assert`) under ``result.expect``::

    result = await session.run(user_input="What's the weather in Oslo?")
    result.expect.next_event().is_message(role="user")
    result.expect.next_event().is_function_call(name="get_weather", arguments={"city": "Oslo"})
    result.expect.next_event().is_function_call_output()
    reply = result.expect.next_event().is_message(role="assistant", contains="sunny")
    await reply.judge(llm, intent="tells the weather in Oslo")
    result.expect.no_more_events()

Assertion failures raise ``AssertionError`` naming the event index and what was
found, followed by the run's events, so they read well in pytest output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ..core import AgentHandoff, ChatItem, EndSession, SkipTurn
from ._events import AgentHandedOff, ConversationItemAdded, ErrorOccurred
from ._run_assert import RunEvent
from ._run_expect import RunExpectations

if TYPE_CHECKING:
    from ._session import AgentSession
    from ._speech_handle import SpeechHandle

__all__ = ["RunResult", "collect_run"]


@dataclass(slots=True)
class RunResult:
    """What one run added: ``items`` in order; ``expect`` asserts on them.

    ``handoff_agents`` maps a handoff item's ``id`` to the agent object the
    session switched to (for ``is_agent_handoff(new_agent_type=...)``).
    """

    speech: SpeechHandle
    items: list[ChatItem] = field(default_factory=list)
    handoff_agents: Mapping[str, Any] = field(default_factory=dict)
    expect: RunExpectations = field(init=False)

    def __post_init__(self) -> None:
        self.expect = RunExpectations(self.events)

    @property
    def events(self) -> list[RunEvent]:
        """The items as :class:`RunEvent` records (LiveKit's ``RunResult.events``)."""
        return [RunEvent.of(item, self.handoff_agents.get(item.id)) for item in self.items]


async def collect_run(session: AgentSession[Any], user_input: str) -> RunResult:
    # A turn-based exchange: the user speaks once the agent is done (an opening line
    # from on_enter included), so what the agent heard does not depend on scheduling.
    await session.wait_idle()
    events = session.subscribe()
    with events:
        speech = session.generate_reply(user_input=user_input)
        await session.wait_idle()
        items: list[ChatItem] = []
        agents: dict[str, Any] = {}
        errors: list[ErrorOccurred] = []
        while True:
            try:
                event = events.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if isinstance(event, ConversationItemAdded):
                items.append(event.item)
            elif isinstance(event, AgentHandedOff):
                _pair_handoff(items, agents, event)
            elif isinstance(event, ErrorOccurred):
                errors.append(event)
    failed = [e for e in errors if isinstance(e.action, SkipTurn | EndSession)]
    if failed:
        raise failed[-1].error
    return RunResult(speech=speech, items=items, handoff_agents=agents)


def _pair_handoff(items: list[ChatItem], agents: dict[str, Any], event: AgentHandedOff) -> None:
    """Give ``event``'s agent to the handoff item published just before it (same swap)."""
    if event.agent is None:
        return
    for item in reversed(items):
        if isinstance(item, AgentHandoff):
            if item.id not in agents and item.new_agent == event.new_agent:
                agents[item.id] = event.agent
            return
