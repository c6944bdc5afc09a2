"""The session's link to a realtime model: one connection at a time, kept in sync.

:class:`RealtimeLink` owns the model's session for the whole agent session
(:meth:`serve`, a task of the session's activity): it opens one connection, and
when that connection fails with a retryable error it opens a new one after a
backoff (doubling from 0.5 s, or the server's ``Retry-After``), published as an
:class:`~._events.ErrorOccurred` with action ``RetryRequest``. After
``max_unrecoverable_errors`` failures in a row (a connection that served 5 s
resets the run), or one error that is not retryable (401, 403: the same request
fails again), the :class:`~._error_policy.ErrorPolicy` is asked (source ``"llm"``)
and the session closes (reason ``"error"``, or the handler's). Turns wait for a
live connection (:meth:`connection`); these bounds bound how long.

The model's conversation follows the agent's chat context, lazily and by id
(:meth:`prepare`, before every reply):

* the instructions and tools of the active agent are sent (``session.update``)
  when they differ from what this connection was last told -- at once when the
  session hands off (an :class:`~._events.AgentHandedOff` event), else before the
  next reply (``update_instructions``, ``update_tools``);
* every item of the agent's context the connection does not hold yet is added at
  the end of the model's conversation: typed user turns, ``say()`` text, tool
  outputs, a new agent's seeded context. Items the model made itself (the user's
  audio turns, its replies) carry the model's item ids and are never sent back.
  After a reconnect the new connection holds nothing, so the whole context is
  restored the same way (as text: the model loses its audio of the past).

Rejected alternative: a full diff of both conversations with deletes (LiveKit's
``update_chat_ctx``). The agent's context only grows, except through a handoff's
context policy; removing what the new agent should forget from the model's
conversation is left out (``docs/providers.md``).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

import trio

from ..core import (
    AgentHandoff,
    ChatItem,
    ChatMessage,
    EndSession,
    FunctionCall,
    ProviderError,
    ProviderStatusError,
    RealtimeLLM,
    RealtimeSession,
)
from ._agent import Agent
from ._events import AgentHandedOff

if TYPE_CHECKING:
    from ._activity import AgentActivity

__all__ = ["AudioClock", "RealtimeLink"]

_BACKOFF = 0.5  # first reconnect delay; doubled per consecutive failure
_MAX_BACKOFF = 8.0
_STABLE = 5.0  # a connection that lasted this long resets the count of failures


class AudioClock:
    """Maps "seconds into the audio sent on this connection" to Trio time."""

    __slots__ = ("_marks", "pushed")

    def __init__(self) -> None:
        self.pushed = 0.0
        self._marks: deque[tuple[float, float]] = deque(maxlen=3000)  # (audio end, trio time)

    def push(self, duration: float) -> None:
        self.pushed += duration
        self._marks.append((self.pushed, trio.current_time()))

    def time_of(self, audio_at: float) -> float:
        """Trio time at which audio instant ``audio_at`` was sent (now, if unknown)."""
        for end, at in self._marks:
            if end >= audio_at - 1e-9:
                return at - (end - audio_at)
        return trio.current_time()


class RealtimeLink:
    """The model's session for the activity (see the module docs)."""

    def __init__(self, activity: AgentActivity, model: RealtimeLLM) -> None:
        self._activity = activity
        self.model = model
        self.session: RealtimeSession | None = None
        self.clock = AudioClock()
        self.generation = 0  # connections opened so far
        self._changed = trio.Event()
        self._config: tuple[str, tuple[Any, ...]] | None = None
        self._represented: set[str] = set()  # our item ids the model holds as audio
        self._pending_transcripts: set[str] = set()
        self._sync_lock = trio.Lock()

    # ------------------------------------------------------------ connections
    def _set(self, session: RealtimeSession | None) -> None:
        self.session = session
        if session is not None:
            self.generation += 1
            self.clock = AudioClock()
            self._represented = set()
            self._pending_transcripts = set()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def connection(self) -> RealtimeSession:
        """The live connection, waiting while one is (re)opened (checkpoints)."""
        await trio.lowlevel.checkpoint()
        while self.session is None or self.session.failure is not None:
            await self._changed.wait()
        return self.session

    async def wait_next(self, after: int) -> RealtimeSession:
        """The first live connection opened after connection number ``after``."""
        while self.generation <= after or self.session is None:
            await self._changed.wait()
        return self.session

    async def serve(self) -> None:
        """Hold a connection until cancelled, reopening it after failures."""
        activity = self._activity
        attempt = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._follow_handoffs)
            while True:
                agent = activity.agent
                opened_at = math.inf
                try:
                    async with self.model.session(
                        instructions=agent.instructions, tools=agent.tool_specs
                    ) as session:
                        opened_at = trio.current_time()
                        self._config = (agent.instructions, agent.tool_specs)
                        self._set(session)
                        error = await session.wait_failed()
                except ProviderError as exc:
                    error = exc
                finally:
                    self._set(None)
                if trio.current_time() - opened_at >= _STABLE:
                    attempt = 0  # it served: a new run of failures starts
                if not isinstance(error, ProviderError) or not await self._recover(error, attempt):
                    nursery.cancel_scope.cancel()
                    return
                attempt += 1

    async def _recover(self, error: ProviderError, attempt: int) -> bool:
        """After a lost or refused connection: True to reconnect (after a backoff).

        A retryable failure is published as a retry (``RetryRequest``) and reopened,
        up to ``max_unrecoverable_errors`` times in a row; the last one, or one that
        is not retryable, goes through the error policy and ends the session."""
        errors = self._activity.session.errors
        limit = self._activity.session.options.max_unrecoverable_errors
        if error.retryable and attempt + 1 < limit:
            errors.recovered("llm", error)
            delay = min(_MAX_BACKOFF, _BACKOFF * 2**attempt)
            if isinstance(error, ProviderStatusError) and error.retry_after is not None:
                delay = max(delay, error.retry_after)
            await trio.sleep(delay)
            return True
        agent = self._activity.agent
        action = await errors.resolve("llm", error, agent=agent.name, chat_ctx=agent.llm_input())
        reason = action.reason if isinstance(action, EndSession) else "error"
        self._activity.session.close(reason, error)  # no connection: nothing to talk to
        return False

    async def _follow_handoffs(self) -> None:
        """Tell the model about a new agent at the switch, not at its first reply."""
        with self._activity.session.subscribe() as events:
            async for event in events:
                session = self.session
                if isinstance(event, AgentHandedOff) and session is not None:
                    await self.sync_config(session, self._activity.agent)

    # ------------------------------------------------------------ keeping in sync
    async def sync_config(self, session: RealtimeSession, agent: Agent) -> None:
        """``session.update`` if ``agent``'s instructions or tools are not the model's."""
        async with self._sync_lock:
            wanted = (agent.instructions, agent.tool_specs)
            if session is not self.session or wanted == self._config:
                return
            await session.update(instructions=agent.instructions, tools=agent.tool_specs)
            self._config = wanted

    async def prepare(self, agent: Agent) -> RealtimeSession:
        """The live connection, told ``agent``'s configuration and context (module docs)."""
        session = await self.connection()
        await self.sync_config(session, agent)
        async with self._sync_lock:
            for item in agent.chat_ctx:
                if not self._held(session, item):
                    await session.add_item(item)
        return session

    def represent(self, item: ChatItem) -> None:
        """``item`` (a user message of ours) is in the model's conversation as audio."""
        self._represented.add(item.id)

    def _held(self, session: RealtimeSession, item: ChatItem) -> bool:
        if isinstance(item, AgentHandoff):
            return True
        if isinstance(item, ChatMessage) and not item.content.strip():
            return True
        if isinstance(item, FunctionCall):
            return item.call_id in session.known_calls
        return item.id in session.known_items or item.id in self._represented

    # ------------------------------------------------------------ user transcripts
    def expect_transcript(self, item_id: str) -> None:
        self._pending_transcripts.add(item_id)

    def transcribed(self, item_id: str) -> None:
        self._pending_transcripts.discard(item_id)
        self._notify()

    def pending_transcripts(self) -> frozenset[str]:
        """The user items whose transcript is still being made (a snapshot)."""
        return frozenset(self._pending_transcripts)

    async def wait_transcripts(self, items: frozenset[str], grace: float) -> None:
        """Wait (at most ``grace`` s) for the transcripts of ``items`` still being made,
        so a user message is recorded before the reply to it. (Only those: a turn the
        user committed meanwhile is recorded after this reply, as it was said.)"""
        with trio.move_on_after(grace if math.isfinite(grace) else 0):
            while items & self._pending_transcripts:
                await self._changed.wait()
