"""A spoken call with a handoff: audio in, handoff, the new agent speaks, barge-in."""

from __future__ import annotations

import trio
import trio.testing

from trioagents.core import AgentHandoff, ChatMessage, LLMToolCall
from trioagents.testing import FakeTTS, LLMScript, speech
from trioagents.voice import Agent, AgentHandedOff, function_tool

from .harness import open_call


class FrontDesk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="front desk")

    @function_tool
    async def to_bookings(self) -> Bookings:
        """Transfer to bookings."""
        return Bookings()


class Bookings(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="bookings")

    async def on_enter(self) -> None:
        self.session.generate_reply()


TRANSFER = LLMToolCall("c1", "to_bookings", "{}")


async def test_spoken_handoff_and_barge_in_on_the_new_agent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_call(
        [speech(0.5, 1.5, "book a table"), speech(5.0, 6.0, "for two")],
        responses={
            "book a table": [
                LLMScript("Let me transfer you.", ttft=0.2, tool_calls=[TRANSFER]),
                LLMScript(
                    "Hello, this is bookings. How many people will be joining you tonight?",
                    ttft=0.2,
                ),
            ],
            "for two": LLMScript("Two, lovely.", ttft=0.2),
        },
        tts=FakeTTS(ttfb=0.1),
        agent=FrontDesk(),
    ) as call:
        await call.sleep_until(12.0)
        assert call.session.current_agent.name == "Bookings"
    [handed] = call.of_type(AgentHandedOff)
    assert (handed.old_agent, handed.new_agent) == ("FrontDesk", "Bookings")
    items = list(call.session.history)
    kinds = [
        f"{i.role}:{i.content}" if isinstance(i, ChatMessage) else type(i).__name__ for i in items
    ]
    assert kinds[:5] == [
        "user:book a table",
        "assistant:Let me transfer you.",
        "FunctionCall",
        "FunctionCallOutput",
        "AgentHandoff",
    ]
    bookings_reply = items[5]
    assert isinstance(bookings_reply, ChatMessage)
    assert bookings_reply.interrupted  # the user barged in at 5.0 over the long greeting
    assert kinds[6:] == ["user:for two", "assistant:Two, lovely."]
    # the handoff happened after the transfer sentence was heard, not before
    handoff = next(i for i in items if isinstance(i, AgentHandoff))
    assert handoff.created_at >= items[1].created_at
    assert call.llm.streams.all_closed()
