"""Which providers an agent runs with: its own if given, else the session's.

LiveKit Agents' rule: ``Agent(stt=, llm=, tts=, vad=, turn_detection=)`` override the
session's providers while that agent is active; each one not given (``None`` here)
falls back to the session's. :func:`resolve_providers` applies it, reading both
sides live (a provider assigned to ``session.tts`` after construction counts).

Where each choice takes effect (``_activity.py`` on a switch, the default nodes):

* LLM and TTS: at each LLM request and each sentence synthesized (the default
  ``llm_node``/``tts_node`` resolve them), so after a handoff the new agent speaks
  with its own TTS from its first sentence;
* STT: the activity restarts the STT step when the effective STT (or the agent's
  ``stt_node``) changes at a switch; audio buffered meanwhile is not lost, words
  the old STT had not finalized are;
* VAD: swapped between two input frames when the effective VAD changes;
* turn detection: from the next endpointing decision.

``turn_detection``: ``None`` (the session's ``SessionOptions.turn_detection`` and
``turn_detector``), ``"manual"`` (push to talk), ``"vad"`` (VAD endpointing, no
detector, as LiveKit's name), ``"auto"`` (automatic, with the session's detector) or
a :class:`TurnDetector` (automatic, with that one). LiveKit's ``"stt"`` and
``"realtime_llm"`` modes have no counterpart and are refused at construction.

Rejected alternative: a ``NOT_GIVEN`` sentinel so that ``tts=None`` could switch a
provider *off* for one agent (LiveKit). It adds a third state to every provider for
a case no porting example uses; an agent that must not speak aloud overrides
``tts_node``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from ..core import LLM, STT, TTS, VAD, ConfigurationError, RealtimeLLM
from ._turn_detector import TurnDetector

if TYPE_CHECKING:
    from ._agent import Agent
    from ._session import AgentSession

__all__ = ["AgentProviders", "AgentTurnDetection", "check_turn_detection", "resolve_providers"]

AgentTurnDetection: TypeAlias = Literal["auto", "manual", "vad"] | TurnDetector


@dataclass(frozen=True, slots=True)
class AgentProviders:
    """The providers in effect for one agent (``None``: neither side has one)."""

    stt: STT | None
    llm: LLM | RealtimeLLM | None
    tts: TTS | None
    vad: VAD | None
    turn_detector: TurnDetector | None
    manual_turns: bool


def check_turn_detection(value: object) -> AgentTurnDetection | None:
    """``value`` if it is a valid ``Agent(turn_detection=...)``; ConfigurationError otherwise."""
    if value is None or value in ("auto", "manual", "vad"):
        return value
    if isinstance(value, TurnDetector):
        return value
    if value in ("stt", "realtime_llm"):
        raise ConfigurationError(
            f"turn_detection={value!r} (LiveKit) is not supported; use 'vad', 'manual', "
            "'auto' or a TurnDetector such as SmartTurnDetector()"
        )
    raise ConfigurationError(
        "Agent(turn_detection=...) takes 'auto', 'manual', 'vad' or a TurnDetector"
    )


def resolve_providers(agent: Agent, session: AgentSession[Any]) -> AgentProviders:
    """The agent's own providers, each falling back to ``session``'s (read live)."""
    mode = agent.turn_detection
    if mode is None:
        manual = session.options.turn_detection == "manual"
        detector = None if manual else session.turn_detector
    elif isinstance(mode, str):
        manual = mode == "manual"
        detector = session.turn_detector if mode == "auto" else None
    else:
        manual, detector = False, mode
    return AgentProviders(
        stt=agent.stt if agent.stt is not None else session.stt,
        llm=agent.llm if agent.llm is not None else session.llm,
        tts=agent.tts if agent.tts is not None else session.tts,
        vad=agent.vad if agent.vad is not None else session.vad,
        turn_detector=detector,
        manual_turns=manual,
    )
