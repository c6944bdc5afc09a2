"""OpenTelemetry adapter: scope notifications → spans that mirror the scope tree.

Optional extra ``otel`` (``opentelemetry-sdk``); imported only when an
:class:`OtelScopeObserver` is built. Span names follow LiveKit Agents where a scope
matches one of theirs (``job_entrypoint``, ``agent_session``, ``user_turn``,
``agent_turn``, ``agent_speaking``, ``llm_node``, ``tts_node``, ``function_tool``);
a handoff, which they do not trace, is ``agent_handoff``. Attribute keys are passed
through as given (``lk.speech_id``, ``lk.agent_name``, …).

On close: ``trioagents.outcome`` is set; a cancelled scope gets
``trioagents.cancel_reason`` and, for turns and utterances, ``lk.interrupted=true``,
and keeps status UNSET (a cancellation is not an error); an error gets status ERROR
with the reason code as description.

Rejected alternative: ``tracer.start_as_current_span`` and context variables. A
Trio task tree is not a contextvars tree in the way that helper assumes (children
copy the context at spawn), and spans would end when a ``with`` block exits rather
than when the scope they describe closes; explicit parent ids are unambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import ConfigurationError, LocalProtocolError
from ._scopes import AttributeValue, ScopeKind, ScopeOutcome

__all__ = ["SPAN_NAMES", "OtelScopeObserver"]

SPAN_NAMES: Mapping[str, str] = {
    "job": "job_entrypoint",
    "session": "agent_session",
    "user_turn": "user_turn",
    "agent_turn": "agent_turn",
    "utterance": "agent_speaking",
    "llm": "llm_node",
    "tts": "tts_node",
    "tool": "function_tool",
    "handoff": "agent_handoff",
}
_INTERRUPTIBLE = frozenset({"agent_turn", "utterance", "llm", "tts"})


class OtelScopeObserver:
    """A :class:`ScopeObserver` that records spans through a tracer provider.

    ``tracer_provider`` defaults to the global one. Raises
    :class:`ConfigurationError` if OpenTelemetry is not installed.
    """

    def __init__(self, tracer_provider: Any = None) -> None:
        try:
            from opentelemetry import trace
            from opentelemetry.trace import Status, StatusCode
        except ImportError as exc:
            raise ConfigurationError(
                "OtelScopeObserver needs OpenTelemetry: pip install 'trioagents[otel]'"
            ) from exc
        self._trace = trace
        self._status, self._status_code = Status, StatusCode
        provider = tracer_provider or trace.get_tracer_provider()
        self._tracer = provider.get_tracer("trioagents")
        self._spans: dict[str, tuple[str, Any]] = {}

    def on_scope_started(
        self,
        kind: ScopeKind,
        scope_id: str,
        parent_id: str | None,
        attributes: Mapping[str, AttributeValue],
    ) -> None:
        if scope_id in self._spans:
            raise LocalProtocolError("scope id opened twice")
        name = SPAN_NAMES.get(kind)
        if name is None:
            raise LocalProtocolError("unknown scope kind")
        context = None
        if parent_id is not None:
            parent = self._spans.get(parent_id)
            if parent is None:
                raise LocalProtocolError("parent scope is not open")
            context = self._trace.set_span_in_context(parent[1])
        attrs = {"trioagents.scope_id": scope_id, **attributes}
        span = self._tracer.start_span(name, context=context, attributes=attrs)
        self._spans[scope_id] = (kind, span)

    def on_scope_ended(
        self,
        scope_id: str,
        outcome: ScopeOutcome,
        reason: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        found = self._spans.pop(scope_id, None)
        if found is None:
            raise LocalProtocolError("scope id is not open")
        kind, span = found
        if attributes:
            span.set_attributes(dict(attributes))
        span.set_attribute("trioagents.outcome", outcome)
        if outcome == "cancelled":
            span.set_attribute("trioagents.cancel_reason", reason or "cancelled")
            if kind in _INTERRUPTIBLE:
                span.set_attribute("lk.interrupted", True)
        elif outcome == "error":
            span.set_status(self._status(self._status_code.ERROR, reason or "error"))
        elif kind in _INTERRUPTIBLE:
            span.set_attribute("lk.interrupted", False)
        span.end()

    @property
    def open_scopes(self) -> int:
        return len(self._spans)
