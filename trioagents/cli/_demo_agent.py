"""The demo's agent side: which agent, and the job entrypoint that runs it in the room.

``--agent module:factory`` names a factory ``factory(llm=None) -> (session,
agent)`` that starts nothing (the restaurant-booking example's ``build_session``
is the default: :data:`DEFAULT_AGENT`, the packaged copy in a pip install). The
module may also define ``DEMO``, the caller's script lines (``SPOKEN_DEMO``, if
there, wins: the lines as the caller says them, ``...`` marking a pause
mid-sentence), and ``WORKFLOW``, the workflow to start the session with.

:func:`make_entrypoint` returns the worker entrypoint: it joins the room, builds
a session from the factory, adds the demo's speech providers, links the session
to the caller through room IO and keeps it running until the caller leaves.
When the agent has no STT, the caller's ``lk.chat`` text streams become user
turns through room IO's text input (as in LiveKit: interrupt, then reply).
The session's events go to the reporter. Returning normally makes the job
succeed; any error fails it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from ..core import ChatMessage, ConfigurationError
from ..roomio import start_in_room
from ..rtc import Room
from ..voice import AgentSession, ConversationItemAdded, SessionEvent, TurnMetricsCollected
from ..worker import JobContext
from ._demo_pipeline import AgentPipeline
from ._demo_report import DemoReporter

__all__ = [
    "CHECKOUT_AGENT",
    "DEFAULT_AGENT",
    "PACKAGED_AGENT",
    "AgentSpec",
    "load_agent_spec",
    "make_entrypoint",
]

PACKAGED_AGENT = "trioagents.cli._restaurant_booking.main:build_session"
CHECKOUT_AGENT = "examples.restaurant_booking.main:build_session"


def _default_agent() -> str:
    """The restaurant-booking example: the copy the wheel ships (``pyproject.toml``
    force-includes ``examples/restaurant_booking`` as ``trioagents.cli._restaurant_booking``),
    else the checkout's ``examples`` package (an editable install or the repository)."""
    packaged = PACKAGED_AGENT.partition(":")[0].rsplit(".", 1)[0]
    return PACKAGED_AGENT if importlib.util.find_spec(packaged) is not None else CHECKOUT_AGENT


DEFAULT_AGENT = _default_agent()


@dataclass(frozen=True, slots=True)
class AgentSpec:
    reference: str
    factory: Callable[..., tuple[AgentSession[Any], Any]]
    caller_lines: tuple[str, ...]
    workflow: Any


def load_agent_spec(reference: str, lines: Sequence[str] | None = None) -> AgentSpec:
    """Import ``module:factory``; raises ConfigurationError saying how to fix it."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError("--agent must look like module:factory")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import {module_name!r}: run from the repository root, or pass "
            "--agent module:factory"
        ) from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigurationError(f"{reference!r} is not a callable factory")
    spoken = getattr(module, "SPOKEN_DEMO", ()) or getattr(module, "DEMO", ())
    script: tuple[str, ...] = tuple(lines) if lines else tuple(spoken)
    if not script:
        raise ConfigurationError(f"{module_name} has no DEMO lines: pass --line (repeatable)")
    return AgentSpec(reference, factory, script, getattr(module, "WORKFLOW", None))


def make_entrypoint(
    spec: AgentSpec,
    pipeline: AgentPipeline,
    reporter: DemoReporter,
    job_failed: trio.Event | None = None,
) -> Callable[[JobContext], Awaitable[None]]:
    """The worker entrypoint for ``spec`` (see the module docstring).

    An error of the job is reported, sets ``job_failed`` and propagates (the
    worker reports the job failed).
    """

    async def entrypoint(ctx: JobContext) -> None:
        try:
            await _run_agent(ctx, spec, pipeline, reporter)
        except Exception as exc:
            reporter.step(f"the agent's job failed: {type(exc).__name__}")
            if job_failed is not None:
                job_failed.set()
            raise

    return entrypoint


async def _run_agent(
    ctx: JobContext, spec: AgentSpec, pipeline: AgentPipeline, reporter: DemoReporter
) -> None:
    """Join, run the session linked to the caller, return once the caller left."""
    room: Room = await ctx.connect()
    session, agent = spec.factory(llm=None)
    session.vad, session.stt, session.tts = pipeline.vad, pipeline.stt, pipeline.tts
    session.turn_detector = pipeline.turn_detector
    reporter.note(f"LLM: {session.llm.label if session.llm else 'none'}")
    events = session.subscribe()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_report_events, events, reporter)
        async with start_in_room(session, agent, room, workflow=spec.workflow) as io:
            # the session closes itself when the caller hangs up; a caller that
            # vanished without hanging up is waited for no longer than that
            await _wait_until_gone(room, io.linked_identity)


async def _report_events(
    events: trio.MemoryReceiveChannel[SessionEvent], reporter: DemoReporter
) -> None:
    async for event in events:
        if isinstance(event, TurnMetricsCollected):
            reporter.metrics(event)
        elif isinstance(event, ConversationItemAdded):
            item = event.item
            if isinstance(item, ChatMessage) and item.role == "user":
                reporter.user_turn_committed(event.created_at)


async def _wait_until_gone(room: Room, identity: str) -> None:
    while identity in room.remote_participants:
        await room.wait_state_changed()
