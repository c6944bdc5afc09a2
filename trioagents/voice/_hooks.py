"""Observer seams: what the session tells tracing, metrics and the journal.

The session reports three things to every :class:`SessionObserver` added with
:meth:`AgentSession.add_observer` (before ``start()``):

* **scopes** -- ``on_scope_started(kind, scope_id, parent_id, attributes)`` and
  ``on_scope_ended(scope_id, outcome, reason, attributes)`` for the session, each
  agent turn (one :class:`SpeechHandle`), each utterance (one LLM step played out),
  each LLM call, each TTS stream (all sentences of one utterance), each tool call
  and each handoff; and each *user turn*, from the first speech of the turn to its
  commit (``ok``, with ``lk.end_of_turn_delay``), or ``cancelled`` with ``cleared``
  (``clear_user_turn``) or ``session_closed``. A cancelled scope carries a stable reason code:
  ``user_barge_in``, ``session_closed``, ``api_interrupt``, ``tool_interrupted``,
  ``superseded`` (a turn cancelled for another reason than its speech's interrupt).
* **turn commits** -- ``await on_turn_committed(TurnCommitted)`` after each speech
  (and the handoff it decided) finished normally: a snapshot of the active agent's
  context, its name, the workflow state and the userdata. This is the journal's
  turn boundary; it is awaited in the scheduler task, so a slow store delays the
  next speech (never the current one) and an error there propagates.

And one wrapper: a :data:`ToolCallGuard` (``session.tool_call_guard``) that every
tool call of the built-in runner goes through: ``await guard(call, tool_name,
invoke)`` returns the tool's value. The journal uses it to replay a recorded result
instead of running a side effect twice.

Scope callbacks are synchronous and must not block or raise for ordinary input:
they are called from cancellation cleanup. With no observer attached,
:attr:`SessionHooks.active` is false and the session builds no attributes and makes
no calls (zero cost).

Rejected alternative: deriving spans from the event channel. Events are delivered
later, to another task, and a channel cannot say which scope a cancellation came
from; scope notifications happen at the instant the scope opens and closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

import trio

from ..core import ChatContext, FunctionCall, is_cancellation, short_id

if TYPE_CHECKING:
    from ._agent import Agent
    from ._speech_handle import SpeechHandle

__all__ = [
    "HookAttribute",
    "HookScopeKind",
    "SessionHooks",
    "SessionObserver",
    "ToolCallGuard",
    "TurnCommitted",
]

HookScopeKind: TypeAlias = Literal[
    "session", "user_turn", "agent_turn", "utterance", "llm", "tts", "tool", "handoff"
]
HookAttribute: TypeAlias = str | bool | int | float

ToolCallGuard: TypeAlias = Callable[
    [FunctionCall, str, Callable[[], Awaitable[Any]]], Awaitable[Any]
]
"""``guard(call, tool_name, invoke)`` -> the tool's value; awaits ``invoke()`` or replays."""


@dataclass(frozen=True, slots=True)
class TurnCommitted:
    """A turn boundary: everything needed to continue the conversation elsewhere.

    ``chat_ctx`` is a copy of the active agent's context (not the instructions);
    ``fsm_state`` is the workflow's current state name (None without a workflow).
    """

    chat_ctx: ChatContext
    agent_name: str
    fsm_state: str | None
    userdata: Any
    speech_id: str
    created_at: float

    @classmethod
    def of(
        cls, agent: Agent, fsm_state: str | None, userdata: Any, speech: SpeechHandle
    ) -> TurnCommitted:
        """The snapshot of ``agent`` now (its context is copied). No checkpoint."""
        return cls(
            chat_ctx=agent.chat_ctx.copy(),
            agent_name=agent.name,
            fsm_state=fsm_state,
            userdata=userdata,
            speech_id=speech.id,
            created_at=trio.current_time(),
        )


class SessionObserver(Protocol):
    def on_scope_started(
        self,
        kind: HookScopeKind,
        scope_id: str,
        parent_id: str | None,
        attributes: Mapping[str, HookAttribute],
    ) -> None: ...

    def on_scope_ended(
        self,
        scope_id: str,
        outcome: Literal["ok", "cancelled", "error"],
        reason: str | None = None,
        attributes: Mapping[str, HookAttribute] | None = None,
    ) -> None: ...

    async def on_turn_committed(self, snapshot: TurnCommitted) -> None: ...


class ScopeNote:
    """What a scope's body reports about how it ended (set before the block exits)."""

    __slots__ = ("attributes", "outcome", "reason", "scope_id")

    def __init__(self, scope_id: str | None = None) -> None:
        self.scope_id = scope_id  # None when no observer is attached
        self.outcome: Literal["ok", "cancelled", "error"] | None = None
        self.reason: str | None = None
        self.attributes: dict[str, HookAttribute] = {}


class SessionHooks:
    """The observers of one session, fanned out; inert when there are none."""

    def __init__(self) -> None:
        self._observers: list[SessionObserver] = []
        self.session_scope_id: str | None = None
        self.parent_scope_id: str | None = None  # e.g. the job scope, set by the caller

    @property
    def active(self) -> bool:
        return bool(self._observers)

    def add(self, observer: SessionObserver) -> None:
        self._observers.append(observer)

    @contextmanager
    def scope(
        self,
        kind: HookScopeKind,
        parent_id: str | None,
        attributes: Mapping[str, HookAttribute],
        *,
        scope_id: str | None = None,
        cancel_reason: Callable[[], str] | None = None,
    ) -> Iterator[ScopeNote]:
        """Report the block as one scope; the outcome follows how the block exits.

        ``Cancelled`` → ``cancelled`` with ``cancel_reason()`` (default ``superseded``);
        another exception → ``error`` with its class name; else the note's outcome
        (default ``ok``). Exceptions propagate unchanged. No checkpoint.
        """
        if not self._observers:
            yield ScopeNote()
            return
        scope_id = scope_id or short_id(kind)
        note = ScopeNote(scope_id)
        for observer in self._observers:
            observer.on_scope_started(kind, scope_id, parent_id, attributes)
        try:
            yield note
        except BaseException as exc:  # re-raised: only observed here
            if is_cancellation(exc):
                reason = cancel_reason() if cancel_reason is not None else "superseded"
                self._end(scope_id, "cancelled", reason, note.attributes)
            else:
                self._end(scope_id, "error", type(exc).__name__, note.attributes)
            raise
        else:
            self._end(scope_id, note.outcome or "ok", note.reason, note.attributes)

    def open_scope(
        self, kind: HookScopeKind, parent_id: str | None, attributes: Mapping[str, HookAttribute]
    ) -> str | None:
        """Start a scope that follows events rather than a block; None when inert.

        The caller must end it exactly once with :meth:`close_scope`.
        """
        if not self._observers:
            return None
        scope_id = short_id(kind)
        for observer in self._observers:
            observer.on_scope_started(kind, scope_id, parent_id, attributes)
        return scope_id

    def close_scope(
        self,
        scope_id: str | None,
        outcome: Literal["ok", "cancelled", "error"],
        reason: str | None = None,
        attributes: Mapping[str, HookAttribute] | None = None,
    ) -> None:
        """End a scope from :meth:`open_scope` (None: nothing was opened)."""
        if scope_id is not None:
            self._end(scope_id, outcome, reason, attributes or {})

    def _end(
        self,
        scope_id: str,
        outcome: Literal["ok", "cancelled", "error"],
        reason: str | None,
        attributes: Mapping[str, HookAttribute],
    ) -> None:
        for observer in self._observers:
            observer.on_scope_ended(scope_id, outcome, reason, attributes)

    async def turn_committed(self, snapshot: TurnCommitted) -> None:
        """Await every observer's ``on_turn_committed`` in order; errors propagate."""
        for observer in self._observers:
            await observer.on_turn_committed(snapshot)
