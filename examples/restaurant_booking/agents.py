"""The restaurant booking workflow: greeting → information gathering → confirmation → done.

Each state is an agent class; each transition is a tool whose return annotation
names the next agent, so ``Workflow(GreeterAgent)`` discovers and validates the
graph at start-up and can draw it (see ``docs/workflows.md``). The booking being
built lives in ``userdata`` (:class:`Booking`), shared by every agent.

Importing this module has no side effects.
"""

from __future__ import annotations

from dataclasses import dataclass

from trioagents.core import ToolError
from trioagents.voice import Agent, KeepLastTurns, RunContext, function_tool

__all__ = [
    "Booking",
    "ConfirmationAgent",
    "DoneAgent",
    "GreeterAgent",
    "InformationAgent",
]


@dataclass
class Booking:
    """What the agents collect; shared through ``session.userdata``."""

    name: str | None = None
    party_size: int | None = None
    time: str | None = None
    confirmed: bool = False

    def summary(self) -> str:
        return f"{self.name}, {self.party_size} people at {self.time}"


class GreeterAgent(Agent):
    """Welcomes the caller and starts a booking."""

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "You are the host of Trio Bistro. Greet the caller in one sentence. When "
                "they want a table, call start_booking."
            )
        )

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def start_booking(self) -> InformationAgent:
        """Start taking a table reservation."""
        return InformationAgent()


class InformationAgent(Agent):
    """Collects the name, party size and time; hands over when all are known."""

    context_policy = KeepLastTurns(2)

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "Collect the guest's name, party size and time. Record them with "
                "record_details, then call details_complete. Ask for what is missing."
            )
        )

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def record_details(
        self,
        context: RunContext[Booking],
        name: str | None = None,
        party_size: int | None = None,
        time: str | None = None,
    ) -> str:
        """Record booking details given by the guest.

        Args:
            name: the guest's name
            party_size: how many people
            time: when, e.g. "7pm"
        """
        booking = context.userdata
        if party_size is not None and not 1 <= party_size <= 12:
            raise ToolError("We take bookings for 1 to 12 people.")
        booking.name = name or booking.name
        booking.party_size = party_size or booking.party_size
        booking.time = time or booking.time
        return f"Noted: {booking.summary()}."

    @function_tool
    async def details_complete(self, context: RunContext[Booking]) -> tuple[ConfirmationAgent, str]:
        """Hand over to confirmation once name, party size and time are known."""
        booking = context.userdata
        missing = [
            field
            for field, value in (
                ("name", booking.name),
                ("party size", booking.party_size),
                ("time", booking.time),
            )
            if value is None
        ]
        if missing:
            raise ToolError(f"Still missing: {', '.join(missing)}.")
        return ConfirmationAgent(), f"Booking for {booking.summary()}."


class ConfirmationAgent(Agent):
    """Reads the booking back and confirms it, or goes back to fix it."""

    def __init__(self) -> None:
        super().__init__(
            instructions=(
                "Read the booking back in one sentence and ask the guest to confirm. Call "
                "confirm on yes, change_details if something is wrong."
            )
        )

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def confirm(self, context: RunContext[Booking]) -> tuple[DoneAgent, str]:
        """The guest confirmed the booking."""
        context.userdata.confirmed = True
        return DoneAgent(), f"Booking confirmed: {context.userdata.summary()}."

    @function_tool
    async def change_details(self) -> InformationAgent:
        """The guest wants to change something."""
        return InformationAgent()


class DoneAgent(Agent):
    """Says goodbye; the conversation is over."""

    def __init__(self) -> None:
        super().__init__(instructions="Thank the guest briefly and say goodbye.")

    async def on_enter(self) -> None:
        self.session.generate_reply()
