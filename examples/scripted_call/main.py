"""A scripted spoken call on the trioagents.testing fakes, with a barge-in.

Audio frames flow exactly as in a real call: the scripted user is played as 10 ms
frames through FakeVAD and FakeSTT; the agent's replies go through FakeTTS into a
real-time-like sink with a 200 ms device queue. The user interrupts the agent's
long answer; the transcript shows what was actually heard.

    python -m examples.scripted_call            # virtual time: finishes at once
    python -m examples.scripted_call --real-time   # the same call at real speed (~16 s)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import trio
import trio.testing

from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import (
    Agent,
    AgentSession,
    AgentStateChanged,
    ConversationItemAdded,
    SessionEvent,
    TurnMetricsCollected,
    UserStateChanged,
)

HOURS = (
    "We are open from nine in the morning until six in the evening on weekdays. "
    "On Saturdays we open at ten and close at four. "
    "Public holidays follow the Saturday schedule."
)
SCRIPT = {
    "Hi, what are your opening hours?": LLMScript(HOURS, ttft=0.35, token_delay=0.02),
    "Sorry, and on Sundays?": LLMScript("On Sundays we are closed.", ttft=0.3),
    "Thanks, bye!": LLMScript("You're welcome. Goodbye!", ttft=0.25),
}
TIMELINE = Timeline(
    [
        speech(0.5, 2.5, "Hi, what are your opening hours?"),
        speech(6.0, 7.2, "Sorry, and on Sundays?"),  # barge-in while the agent speaks
        speech(11.0, 12.0, "Thanks, bye!"),
    ],
    tail=4.0,
)


class FrontDesk(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are the front desk of a small shop. Be brief.")


def describe(event: SessionEvent) -> str | None:
    if isinstance(event, UserStateChanged):
        return f"user is {event.new_state}"
    if isinstance(event, AgentStateChanged):
        return f"agent is {event.new_state}"
    if isinstance(event, ConversationItemAdded) and hasattr(event.item, "content"):
        role = getattr(event.item, "role", "?")
        cut = " [interrupted]" if getattr(event.item, "interrupted", False) else ""
        return f"{role.upper():>9}: {event.item.content}{cut}"
    if isinstance(event, TurnMetricsCollected):
        parts = {
            "end of turn": event.end_of_utterance_delay,
            "llm ttft": event.llm_ttft,
            "tts ttfb": event.tts_ttfb,
            "e2e": event.e2e_latency,
        }
        shown = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items() if v is not None)
        return f"  metrics: {shown}"
    return None


async def run_call(emit: Callable[[str], None] = print) -> AgentSession[None]:
    """Hold the scripted call; returns the closed session (its history is the transcript)."""
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(TIMELINE),
        llm=FakeLLM(SCRIPT),
        tts=FakeTTS(ttfb=0.12, frame_interval=0.005),
        vad=FakeVAD(),
    )
    audio_in = FakeAudioInput(TIMELINE)
    events = session.subscribe()
    async with trio.open_nursery() as nursery:

        async def show() -> None:
            async for event in events:
                line = describe(event)
                if line is not None and audio_in.started_at is not None:
                    emit(f"{event.created_at - audio_in.started_at:6.2f}s  {line}")

        nursery.start_soon(show)
        output = FakeAudioOutput(can_pause=False)
        async with session.start(FrontDesk(), audio_input=audio_in, audio_output=output):
            await audio_in.finished.wait()
    emit(f"barge-in: device queue cleared {len(output.clears)} time(s)")
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-time", action="store_true", help="run at real speed")
    args = parser.parse_args()
    if args.real_time:
        trio.run(run_call)
    else:
        trio.run(run_call, clock=trio.testing.MockClock(autojump_threshold=0))


if __name__ == "__main__":
    main()
