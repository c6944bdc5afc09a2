"""What the pipeline turn (``_reply.py``) and the realtime turn
(``_realtime_turn.py``) share: entering the turn scope, and what they publish
(tool results, latencies), so both behave and report the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import trio

from ..core import FunctionCall, FunctionCallOutput
from ._event_bus import EventBus
from ._events import FunctionToolsExecuted, TurnMetricsCollected
from ._generation import ToolStepOutcome
from ._nested_speech import CURRENT_TURN, NestedSpeeches
from ._speech_handle import SpeechHandle

if TYPE_CHECKING:
    from ._reply import ReplyEnv, ReplyPlan

__all__ = ["begin_turn", "publish_tools_executed", "publish_turn_metrics", "run_in_turn_scope"]


async def run_in_turn_scope(
    nested: NestedSpeeches, scope: trio.CancelScope, body: Callable[[], Awaitable[None]]
) -> None:
    """Run ``body`` as the turn: in ``scope``, with ``nested`` the current turn of this
    task and the turn's subtasks; whatever nested speech did not play is cut after."""
    token = CURRENT_TURN.set(nested)
    try:
        with scope:
            await body()
    finally:
        nested.close()
        CURRENT_TURN.reset(token)


def begin_turn(env: ReplyEnv, speech: SpeechHandle, interrupted: Callable[[], None]) -> None:
    """The turn starts: ``interrupted`` runs on ``speech.interrupt()`` (revoke the sink,
    cancel the scope), the interruption policy knows it plays, the agent thinks."""
    speech.on_interrupt(interrupted)
    env.interruptions.begin(speech)
    env.state.set_agent("thinking")


def publish_tools_executed(bus: EventBus, speech: SpeechHandle, outcome: ToolStepOutcome) -> None:
    """A custom executor's calls and outputs (the built-in runner publishes its own)."""
    calls = tuple(i for i in outcome.items if isinstance(i, FunctionCall))
    if not calls:
        return
    outputs = tuple(i for i in outcome.items if isinstance(i, FunctionCallOutput))
    event = FunctionToolsExecuted(
        speech.id, calls, outputs, False, outcome.reply_required, trio.current_time()
    )
    bus.publish(event)


def publish_turn_metrics(bus: EventBus, plan: ReplyPlan) -> None:
    """The turn's latencies (``plan.metrics``) as a :class:`TurnMetricsCollected`."""
    metrics, turn = plan.metrics, plan.user_turn
    stopped = turn.stopped_speaking_at if turn is not None else None
    e2e = metrics.get("e2e")
    bus.publish(
        TurnMetricsCollected(
            speech_id=plan.speech.id,
            end_of_utterance_delay=turn.end_of_turn_delay if turn is not None else None,
            llm_ttft=metrics.get("llm_ttft"),
            tts_ttfb=metrics.get("tts_ttfb"),
            e2e_latency=e2e - stopped if e2e is not None and stopped is not None else None,
            created_at=trio.current_time(),
        )
    )
