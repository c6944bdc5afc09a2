"""``SessionTelemetry``: one voice-session observer feeding spans, metrics and decisions.

Add it with ``session.add_observer(telemetry)`` before ``start()``. Scope
notifications (:mod:`trioagents.voice` hooks) are forwarded unchanged to every
:class:`ScopeObserver` (e.g. :class:`OtelScopeObserver`), so spans mirror the scope
tree; as scopes close, the telemetry also writes decisions (agent turn ended, speech
interrupted and why, tool ran with its outcome and latency, transition fired,
session closed) and records tool latency and handoff outcomes.

Reconnects come from the room: pass its events to :meth:`record_room_event`.
Latencies that the session measures itself arrive as events:
:meth:`record_event` takes :class:`TurnMetricsCollected` (e2e, LLM ttft, TTS ttfb,
end-of-utterance delay), :class:`ErrorOccurred` (provider errors) and user turns
(:class:`ConversationItemAdded` of a user message). Feed it with
:func:`serve_session_telemetry` (a task in the caller's nursery, reading
``session.subscribe()``).

Everything here is synchronous and never a checkpoint: it runs in the session's
cleanup paths, where nothing may wait.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import trio

from ..core import ChatMessage, is_cancellation
from ..rtc import ConnectionResumed
from ..voice import (
    AgentHandedOff,
    AgentSession,
    ConversationItemAdded,
    ErrorOccurred,
    HookAttribute,
    SessionEvent,
    TurnCommitted,
    TurnMetricsCollected,
)
from ._decision_log import DecisionLog
from ._metrics import MetricsRecorder
from ._scopes import ScopeKind, ScopeObserver, ScopeOutcome

__all__ = ["SessionTelemetry", "serve_session_telemetry"]


@dataclass(slots=True)
class _OpenScope:
    kind: ScopeKind
    parent_id: str | None
    started_at: float
    attributes: dict[str, HookAttribute]


class SessionTelemetry:
    """A :class:`~trioagents.voice.SessionObserver`; every part is optional.

    ``provider_names`` maps an error source (``llm``, ``tts``, …) to the provider
    label used in metrics (default: the source itself).
    """

    def __init__(
        self,
        *,
        scopes: Sequence[ScopeObserver] = (),
        decisions: DecisionLog | None = None,
        metrics: MetricsRecorder | None = None,
        provider_names: Mapping[str, str] | None = None,
    ) -> None:
        self._scopes = tuple(scopes)
        self.decisions = decisions
        self.metrics = metrics
        self._providers = dict(provider_names or {})
        self._open: dict[str, _OpenScope] = {}

    # ------------------------------------------------------------ scopes
    def on_scope_started(
        self,
        kind: ScopeKind,
        scope_id: str,
        parent_id: str | None,
        attributes: Mapping[str, HookAttribute],
    ) -> None:
        self._open[scope_id] = _OpenScope(kind, parent_id, trio.current_time(), dict(attributes))
        for observer in self._scopes:
            observer.on_scope_started(kind, scope_id, parent_id, attributes)

    def on_scope_ended(
        self,
        scope_id: str,
        outcome: ScopeOutcome,
        reason: str | None = None,
        attributes: Mapping[str, HookAttribute] | None = None,
    ) -> None:
        for observer in self._scopes:
            observer.on_scope_ended(scope_id, outcome, reason, attributes)
        scope = self._open.pop(scope_id, None)
        if scope is None:
            return
        scope.attributes.update(attributes or {})
        if scope.kind == "agent_turn":
            self._agent_turn_ended(scope_id, scope, outcome, reason)
        elif scope.kind == "tool":
            self._tool_ended(scope, outcome)
        elif scope.kind == "handoff":
            self._handoff_ended(scope, outcome)
        elif scope.kind == "session" and self.decisions is not None:
            self.decisions.session_closed(reason=reason or "user_initiated")

    def _agent_turn_ended(
        self, speech_id: str, scope: _OpenScope, outcome: ScopeOutcome, reason: str | None
    ) -> None:
        if self.decisions is None:
            return
        agent = scope.attributes.get("lk.agent_name")
        ended = {"ok": "completed", "cancelled": "interrupted", "error": "error"}[outcome]
        if outcome == "cancelled":
            self.decisions.speech_interrupted(
                speech_id,
                turn_id=speech_id,
                started_at=scope.started_at,
                reason=reason or "interrupted",
            )
        self.decisions.turn_ended(
            speech_id,
            kind="agent",
            started_at=scope.started_at,
            reason=ended,
            agent=str(agent) if agent is not None else None,
            speech_id=speech_id,
        )

    def _tool_ended(self, scope: _OpenScope, outcome: ScopeOutcome) -> None:
        latency = trio.current_time() - scope.started_at
        tool = str(scope.attributes.get("lk.function_tool.name", "?"))
        if self.metrics is not None:
            self.metrics.observe_tool_latency(latency, tool=tool, outcome=outcome)
        if self.decisions is not None:
            self.decisions.tool_ran(
                turn_id=scope.parent_id,
                call_id=str(scope.attributes.get("lk.function_tool.id", "")),
                tool=tool,
                outcome=outcome,
                latency=latency,
                arguments=_text(scope.attributes.get("lk.function_tool.arguments")),
                output=_text(scope.attributes.get("lk.function_tool.output")),
            )

    def _handoff_ended(self, scope: _OpenScope, outcome: ScopeOutcome) -> None:
        if self.metrics is not None:
            self.metrics.record_handoff(succeeded=outcome == "ok")
        if self.decisions is not None and outcome == "ok":
            self.decisions.transition_fired(
                from_agent=str(scope.attributes.get("lk.from_agent")),
                to_agent=str(scope.attributes.get("lk.to_agent")),
                trigger="handoff",
            )

    async def on_turn_committed(self, snapshot: TurnCommitted) -> None:
        """Nothing to do: the journal is a separate observer. A checkpoint."""
        await trio.lowlevel.checkpoint()

    @contextmanager
    def job_scope(self, session: AgentSession[Any], job_id: str) -> Iterator[None]:
        """Report the block as the ``job`` scope, parent of ``session``'s scope.

        Use it around ``session.start()`` in a job entrypoint. Records the job's
        outcome (``jobs_total``): an exception is a failed job, cancellation is not
        (the worker shut the job down). Exceptions propagate. No checkpoint.
        """
        scope_id = f"job_{job_id}"
        self.on_scope_started("job", scope_id, None, {"lk.job_id": job_id})
        session.hooks.parent_scope_id = scope_id
        try:
            yield
        except BaseException as exc:  # re-raised: only observed here
            if is_cancellation(exc):
                self.on_scope_ended(scope_id, "cancelled", "job_shutdown")
            else:
                self.on_scope_ended(scope_id, "error", type(exc).__name__)
                if self.metrics is not None:
                    self.metrics.record_job(outcome="failed")
            raise
        self.on_scope_ended(scope_id, "ok")
        if self.metrics is not None:
            self.metrics.record_job(outcome="succeeded")

    # ------------------------------------------------------------ events
    def record_event(self, event: SessionEvent) -> None:
        """Metrics and decisions from a session event (others are ignored)."""
        if isinstance(event, TurnMetricsCollected):
            self._turn_metrics(event)
        elif isinstance(event, ErrorOccurred):
            provider = self._providers.get(event.source, event.source)
            error = type(event.error).__name__
            if self.metrics is not None:
                self.metrics.record_provider_request(provider=provider, error=error)
            if self.decisions is not None:
                action = type(event.action).__name__
                self.decisions.error(source=event.source, error_type=error, reason=action)
        elif isinstance(event, ConversationItemAdded):
            self._user_turn(event)
        elif isinstance(event, AgentHandedOff):
            self._task_switch(event)

    def _task_switch(self, event: AgentHandedOff) -> None:
        """AgentTask starts and completions (handoffs are decided from their scope)."""
        if event.kind != "handoff" and self.decisions is not None:
            self.decisions.transition_fired(
                from_agent=event.old_agent, to_agent=event.new_agent, trigger=event.kind
            )

    def record_room_event(self, event: object) -> None:
        """A room event (:mod:`trioagents.rtc`): a resumed connection is a reconnect."""
        if isinstance(event, ConnectionResumed) and self.metrics is not None:
            self.metrics.record_reconnect(transport="signal")

    def _turn_metrics(self, event: TurnMetricsCollected) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        if event.e2e_latency is not None:
            metrics.observe_e2e_latency(event.e2e_latency)
        if event.llm_ttft is not None:
            metrics.observe_llm_ttft(event.llm_ttft, provider=self._providers.get("llm", "llm"))
            metrics.record_provider_request(provider=self._providers.get("llm", "llm"))
        if event.tts_ttfb is not None:
            metrics.observe_tts_ttfb(event.tts_ttfb, provider=self._providers.get("tts", "tts"))
            metrics.record_provider_request(provider=self._providers.get("tts", "tts"))
        if event.end_of_utterance_delay is not None:
            metrics.observe_eou_delay(event.end_of_utterance_delay)

    def _user_turn(self, event: ConversationItemAdded) -> None:
        item = event.item
        if not isinstance(item, ChatMessage) or item.role != "user" or self.decisions is None:
            return
        started = (item.metrics or {}).get("started_speaking_at", event.created_at)
        self.decisions.turn_ended(
            item.id,
            kind="user",
            started_at=started,
            reason="end_of_utterance" if item.metrics else "text_input",
        )


def _text(value: HookAttribute | None) -> str | None:
    return value if isinstance(value, str) else None


async def serve_session_telemetry(
    events: trio.MemoryReceiveChannel[SessionEvent], telemetry: SessionTelemetry
) -> None:
    """Feed ``events`` (from ``session.subscribe()``) to ``telemetry`` until the channel ends.

    Returns when the session closed (the channel ends after :class:`SessionClosed`).
    Checkpoints on every receive; cancel it with its nursery.
    """
    async with events:
        async for event in events:
            telemetry.record_event(event)
