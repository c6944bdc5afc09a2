"""A restaurant booking agent, runnable in text mode.

    python -m examples.restaurant_booking --text            # type as the guest
    python -m examples.restaurant_booking --text --demo     # a scripted conversation
    trioagents console examples.restaurant_booking.main:entrypoint --text
    trioagents dev examples.restaurant_booking.main:entrypoint   # a worker, same entrypoint

Offline, :data:`RULES` drive a :class:`~trioagents.providers.ScriptedLLM`; with
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` set, a real OpenAI-compatible model
plays the agents instead. :func:`build_session` is the entrypoint-friendly
factory the room/worker demo uses: it returns the session and the first agent and
starts nothing; :func:`entrypoint` is the job entrypoint that ``trioagents
dev``/``start``/``console`` run: the booking agent in the job's room (text in
``lk.chat``, replies as ``lk.transcription``; give ``build_session`` an STT, a TTS and
a VAD for voice).
"""

from __future__ import annotations

import argparse

import trio

from trioagents.core import LLM, STT, TTS, VAD
from trioagents.providers import Rule, ScriptedToolCall
from trioagents.voice import AgentSession, SessionOptions, Workflow
from trioagents.worker import JobContext

from .agents import Booking, GreeterAgent
from .text_chat import make_llm, run_text_chat

__all__ = ["DEMO", "RULES", "SPOKEN_DEMO", "WORKFLOW", "build_session", "entrypoint", "main"]

WORKFLOW = Workflow(GreeterAgent)
"""The validated booking workflow (``WORKFLOW.to_mermaid()`` draws it)."""

_DETAILS = (
    r"(?P<name>[A-Z][a-z]+)\W+(?:party of |for )?(?P<people>\d+)(?: people)?\W+"
    r"(?:at )?(?P<time>\d{1,2}(?::\d\d)?\s?[ap]m)"
)
RULES = (
    Rule(r"^$", "Welcome to Trio Bistro! Would you like to book a table?"),
    Rule(r"\b(book|table|reserv)", tool_calls=[ScriptedToolCall("start_booking")]),
    Rule(
        _DETAILS,
        tool_calls=[
            ScriptedToolCall(
                "record_details",
                '{{"name": "{name}", "party_size": {people}, "time": "{time}"}}',
            )
        ],
    ),
    Rule(r"\b(yes|correct|confirm)", tool_calls=[ScriptedToolCall("confirm")]),
    Rule(r"\b(no|change|wrong)", tool_calls=[ScriptedToolCall("change_details")]),
    Rule(r"^Noted", tool_calls=[ScriptedToolCall("details_complete")], on="tool"),
    Rule(
        r"^Transferred to InformationAgent",
        "Happy to. Your name, party size and time, please?",
        on="tool",
    ),
    Rule(r"^Booking for (?P<summary>.*)\.$", "So that is {summary}. Shall I book it?", on="tool"),
    Rule(r"^Booking confirmed", "You're all set. See you soon, goodbye!", on="tool"),
    Rule(r"^Still missing: (?P<missing>.*)", "I still need your {missing}", on="tool"),
    Rule(r".", "Sorry, could you say that again?", on="tool"),
)
"""The offline script: what the agents say and which tools they call."""

DEMO = ("Hi, I'd like to book a table", "Ada, 4 people at 7pm", "yes")
SPOKEN_DEMO = ("Hi, I'd like to book a table", "Ada, 4 people at ... 7pm", "yes")
"""The ``trioagents demo`` caller's lines: ``...`` is a pause mid-sentence, which the
agent's turn detector must not take for the end of the turn."""


def build_session(
    llm: LLM | None = None,
    *,
    stt: STT | None = None,
    tts: TTS | None = None,
    vad: VAD | None = None,
    options: SessionOptions | None = None,
) -> tuple[AgentSession[Booking], GreeterAgent]:
    """A new booking session (not started) and its first agent; no side effects.

    ``llm`` defaults to :func:`make_llm` (scripted offline, or OpenAI-compatible from
    the environment). For voice, pass ``stt``/``tts``/``vad`` and start it with
    ``session.start(agent, audio_input=..., audio_output=..., workflow=WORKFLOW)``.
    """
    llm = llm or make_llm(RULES, default="Sorry, could you say that again?")
    session = AgentSession(stt=stt, llm=llm, tts=tts, vad=vad, userdata=Booking(), options=options)
    return session, GreeterAgent()


async def entrypoint(ctx: JobContext) -> None:
    """Join the job's room and run the booking session until the guest hangs up."""
    from trioagents.roomio import start_in_room  # the room stack (aiortc) only for a job

    room = await ctx.connect()
    session, agent = build_session()
    async with start_in_room(session, agent, room, workflow=WORKFLOW):
        await session.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", action="store_true", help="text mode (the only mode here)")
    parser.add_argument("--demo", action="store_true", help="play a scripted conversation")
    args = parser.parse_args()
    session, agent = build_session()
    trio.run(run_text_chat, session, agent, DEMO if args.demo else None)
    print(f"booking: {session.userdata}")
