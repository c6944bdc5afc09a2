"""Scope notifications: the seam between the voice session and tracing.

The session opens a cancel scope for each job, session, turn, utterance, LLM call,
TTS stream, tool call and handoff; it tells a :class:`ScopeObserver` when each
opens and how it ended. Observers are synchronous and must not block or raise for
ordinary input: they are called from cancellation cleanup, where nothing may wait.
Misuse (an unknown or repeated scope id) is a bug in the caller and raises
:class:`~trioagents.core.LocalProtocolError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol, TypeAlias

__all__ = ["AttributeValue", "ScopeKind", "ScopeObserver", "ScopeOutcome"]

ScopeKind: TypeAlias = Literal[
    "job", "session", "user_turn", "agent_turn", "utterance", "llm", "tts", "tool", "handoff"
]
ScopeOutcome: TypeAlias = Literal["ok", "cancelled", "error"]
AttributeValue: TypeAlias = (
    str | bool | int | float | Sequence[str] | Sequence[bool] | Sequence[int] | Sequence[float]
)


class ScopeObserver(Protocol):
    def on_scope_started(
        self,
        kind: ScopeKind,
        scope_id: str,
        parent_id: str | None,
        attributes: Mapping[str, AttributeValue],
    ) -> None:
        """A scope opened under ``parent_id`` (None: a root)."""

    def on_scope_ended(
        self,
        scope_id: str,
        outcome: ScopeOutcome,
        reason: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """The scope closed; ``reason`` is a stable code for cancelled/error outcomes."""
