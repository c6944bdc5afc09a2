"""Wiring a :class:`SessionJournal` into a voice session: resume and exactly-once tools.

In a job entrypoint::

    journal = await SessionJournal.open(store, affinity_key(room, identity, "bistro"),
                                        codec=dataclass_userdata(Booking))
    agent = restore_agent(journal, Workflow(GreeterAgent))    # GreeterAgent() if new
    session = AgentSession(llm=..., userdata=journal.userdata or Booking())
    attach_journal(session, journal, once_tools={"confirm"})
    async with session.start(agent):
        ...

* **Turn boundary**: after each speech finished (and the handoff it decided ran),
  the session awaits the journal observer, which appends an entry: the active
  agent's chat context, its name, the workflow state, the userdata and every tool
  result recorded so far. An interrupted or failed speech writes nothing; the next
  completed one carries everything. A :class:`SequenceConflictError` (another worker
  took the session over after a re-dispatch) closes this session with reason
  ``taken_over``: the other worker owns the conversation now.
* **Restore**: :func:`restore_agent` builds the agent named in the latest entry (a
  state class of the workflow, or a factory from ``factories``) and gives it the
  restored context. Start the session *without* the original workflow object: the
  session derives the workflow from the restored agent, which declares every
  transition still possible (declared-only transitions must be declared again with
  ``Workflow(type(agent), ...)``). The restored agent's ``on_enter`` runs as usual.
* **Tools**: calls of the tools named in ``once_tools`` (``None``: every tool) run
  through :meth:`SessionJournal.run_tool_once`, keyed by the turn being built (the
  journal's next sequence), the tool name and its canonical arguments: a turn cut
  by a crash and asked again after the resume gets the same key even though the
  LLM invents a new call id; the recorded output is replayed and the body does not
  run. Consequence: two identical calls in one turn run once (use
  ``key_by="call_id"`` where that matters and the LLM's call ids are stable).
  Only plain results are recorded: a tool that hands off must not be listed.

Rejected alternative: journaling from the event channel. Events arrive later, in
another task, and give no point at which "the turn is complete" is known; the
awaited turn-commit hook does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Literal

from ..core import ConfigurationError, FunctionCall, ToolError
from ..voice import (
    Agent,
    AgentSession,
    HookAttribute,
    HookScopeKind,
    TurnCommitted,
    Workflow,
)
from ._errors import SequenceConflictError
from ._journal import ToolResult, tool_idempotency_key
from ._session_journal import SessionJournal

__all__ = ["JournalObserver", "attach_journal", "restore_agent"]


class JournalObserver:
    """Session observer that commits each turn and replays recorded tool results."""

    def __init__(
        self,
        session: AgentSession[Any],
        journal: SessionJournal[Any],
        *,
        once_tools: Collection[str] | None = None,
        key_by: Literal["arguments", "call_id"] = "arguments",
    ) -> None:
        self._session = session
        self.journal = journal
        self._once_tools = None if once_tools is None else frozenset(once_tools)
        self._key_by = key_by
        self.replayed: list[str] = []  # idempotency keys answered from the journal

    def on_scope_started(
        self,
        kind: HookScopeKind,
        scope_id: str,
        parent_id: str | None,
        attributes: Mapping[str, HookAttribute],
    ) -> None:
        return None

    def on_scope_ended(
        self,
        scope_id: str,
        outcome: Literal["ok", "cancelled", "error"],
        reason: str | None = None,
        attributes: Mapping[str, HookAttribute] | None = None,
    ) -> None:
        return None

    async def on_turn_committed(self, snapshot: TurnCommitted) -> None:
        """Append the turn; on a takeover, close the session (``taken_over``).

        A checkpoint; store errors (:class:`JournalStoreError`) propagate.
        """
        try:
            await self.journal.commit_turn(
                snapshot.chat_ctx,
                agent_name=snapshot.agent_name,
                fsm_state=snapshot.fsm_state,
                userdata=snapshot.userdata,
            )
        except SequenceConflictError:
            self._session.close("taken_over")

    async def guard(
        self, call: FunctionCall, tool_name: str, invoke: Callable[[], Awaitable[Any]]
    ) -> Any:
        """A :data:`~trioagents.voice.ToolCallGuard`: run once per key, else replay.

        A replayed error result raises :class:`ToolError` again (the LLM sees the same
        output). Cancelled while the tool runs: nothing is recorded.
        """
        if self._once_tools is not None and tool_name not in self._once_tools:
            return await invoke()
        key = self._key(call, tool_name)
        values: list[Any] = []

        async def run() -> ToolResult:
            value = await invoke()
            values.append(value)
            userdata = self._session.userdata_or_none
            encoded = None if userdata is None else self.journal.encode_userdata(userdata)
            return ToolResult(output=_as_text(value), userdata=encoded)

        result, replayed = await self.journal.run_tool_once(key, run)
        if not replayed:
            return values[0]
        self.replayed.append(key)
        if result.userdata is not None:
            _restore_userdata(self._session, self.journal.decode_userdata(result.userdata))
        if result.is_error:
            raise ToolError(result.output)
        return result.output

    def _key(self, call: FunctionCall, tool_name: str) -> str:
        session_key = self.journal.session_key
        if self._key_by == "call_id":
            return tool_idempotency_key(session_key, call_id=call.call_id)
        turn = self.journal.last_sequence + 1
        return tool_idempotency_key(
            session_key, turn=turn, tool=tool_name, arguments=call.arguments
        )


def attach_journal(
    session: AgentSession[Any],
    journal: SessionJournal[Any],
    *,
    once_tools: Collection[str] | None = None,
    key_by: Literal["arguments", "call_id"] = "arguments",
) -> JournalObserver:
    """Journal ``session`` (see the module docstring); call before ``session.start()``.

    Raises :class:`ConfigurationError` if the session already runs or already has
    a tool-call guard.
    """
    if session.tool_call_guard is not None:
        raise ConfigurationError("the session already has a tool_call_guard")
    observer = JournalObserver(session, journal, once_tools=once_tools, key_by=key_by)
    session.add_observer(observer)
    session.tool_call_guard = observer.guard
    return observer


def restore_agent(
    journal: SessionJournal[Any],
    workflow: Workflow,
    *,
    factories: Mapping[str, Callable[[], Agent]] | None = None,
) -> Agent:
    """The agent to start: the journaled one with its context, or a new initial agent.

    The agent is looked up by name in ``factories`` first, then among the
    workflow's state classes (built with no arguments). Raises
    :class:`ConfigurationError` when the journaled name is unknown (the code changed
    under a running conversation: add a factory for the old name).
    """
    factories = dict(factories or {})
    entry = journal.restored
    if entry is None:
        initial = factories.get(workflow.initial.__name__)
        return initial() if initial is not None else _build(workflow.initial)
    name = entry.agent_name
    classes = {cls.__name__: cls for cls in workflow.states}
    if name in factories:
        agent = factories[name]()
    elif name in classes:
        agent = _build(classes[name])
    else:
        raise ConfigurationError(
            f"the journal's agent {name[:64]!r} is not a state of the workflow; "
            "pass restore_agent(..., factories={name: ...})"
        )
    agent.chat_ctx.extend(entry.chat_context)
    return agent


def _restore_userdata(session: AgentSession[Any], restored: Any) -> None:
    """Put the userdata recorded with a replayed tool result back (in place if possible).

    In place for a dataclass or dict, so ``RunContext.userdata`` objects already
    handed to tools of the same step see it; otherwise the session's value is replaced.
    """
    current = session.userdata_or_none
    if dataclasses.is_dataclass(current) and type(current) is type(restored):
        for item in dataclasses.fields(current):
            setattr(current, item.name, getattr(restored, item.name))
    elif isinstance(current, dict) and isinstance(restored, dict):
        current.clear()
        current.update(restored)
    else:
        session.userdata = restored


def _build(cls: type) -> Agent:
    agent = cls()
    if not isinstance(agent, Agent):
        raise ConfigurationError(f"{cls.__name__} is not an Agent")
    return agent


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    try:
        return json.dumps(value)
    except TypeError as exc:
        raise ConfigurationError(
            "a tool run once through the journal must return a str or JSON-able value"
        ) from exc
