"""``SessionJournal``: the seam a voice session uses to persist and resume itself.

Lifecycle, for one session key (:func:`affinity_key` of room, participant, agent):

1. :meth:`SessionJournal.open` loads the latest entry. ``restored`` is that entry
   (or None for a new session) and ``userdata`` its decoded userdata: the session
   starts the restored agent with the restored chat context and FSM state.
2. Each tool call goes through :meth:`run_tool_once`: a recorded result is returned
   without running the tool again (``replayed=True``); otherwise the tool runs and
   its result is recorded *before* the turn continues.
3. At each turn boundary the session calls :meth:`commit_turn`, which appends the
   next sequence number. :class:`SequenceConflictError` there means another worker
   has taken the session over (a re-dispatch raced a slow worker): stop speaking and
   end this session; the other worker continues it.

Exactly-once for side effects holds when the tool records before anything else can
crash the worker; a crash *between* a side effect and its record can still repeat
it (no storage can close that window; idempotent tool APIs can).

``written_at`` is wall-clock time (``wall_clock``, default :func:`time.time`), like
JWT times in :mod:`trioagents.protocol`: the value is read by other processes, where
Trio's clock means nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import trio

from ..core import ChatContext
from ._journal import JournalEntry, ToolResult
from ._store import JournalStore
from ._userdata import JSON_USERDATA, JsonValue, UserdataCodec

__all__ = ["SessionJournal"]

U = TypeVar("U")
_RECORD_GRACE = 10.0


class SessionJournal(Generic[U]):
    """Journal access for one running session; create with :meth:`open`."""

    def __init__(
        self,
        store: JournalStore,
        session_key: str,
        restored: JournalEntry | None,
        codec: UserdataCodec[U],
        *,
        writer_version: str = "",
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.session_key = session_key
        self.restored = restored
        self._codec = codec
        self._writer_version = writer_version
        self._wall_clock = wall_clock
        self._last_sequence = -1 if restored is None else restored.sequence
        self._tool_results: dict[str, ToolResult] = (
            {} if restored is None else dict(restored.tool_results)
        )

    @classmethod
    async def open(
        cls,
        store: JournalStore,
        session_key: str,
        *,
        codec: UserdataCodec[Any] = JSON_USERDATA,
        writer_version: str = "",
        wall_clock: Callable[[], float] = time.time,
    ) -> SessionJournal[Any]:
        """Load the latest entry of ``session_key`` (a checkpoint; store errors propagate)."""
        restored = await store.load_latest(session_key)
        return cls(
            store,
            session_key,
            restored,
            codec,
            writer_version=writer_version,
            wall_clock=wall_clock,
        )

    @property
    def userdata(self) -> U | None:
        """The restored userdata, decoded (None for a new session)."""
        if self.restored is None:
            return None
        return self._codec.decode(self.restored.userdata)

    def encode_userdata(self, userdata: U) -> JsonValue:
        """Userdata → JSON with this journal's codec (raises UserdataNotSerializableError)."""
        return self._codec.encode(userdata)

    def decode_userdata(self, data: JsonValue) -> U:
        return self._codec.decode(data)

    @property
    def last_sequence(self) -> int:
        return self._last_sequence

    async def commit_turn(
        self,
        chat_context: ChatContext,
        *,
        agent_name: str,
        fsm_state: str | None = None,
        userdata: U | None = None,
    ) -> JournalEntry:
        """Append the next entry; raises :class:`SequenceConflictError` if taken over.

        Raises :class:`UserdataNotSerializableError` (before writing) if the codec
        cannot encode ``userdata``. A checkpoint.
        """
        entry = JournalEntry.from_context(
            chat_context,
            session_key=self.session_key,
            sequence=self._last_sequence + 1,
            agent_name=agent_name,
            fsm_state=fsm_state,
            userdata=None if userdata is None else self._codec.encode(userdata),
            tool_results=self._tool_results,
            written_at=self._wall_clock(),
            writer_version=self._writer_version,
        )
        await self.store.append(entry)
        self._last_sequence = entry.sequence
        return entry

    async def run_tool_once(
        self, idempotency_key: str, run: Callable[[], Awaitable[ToolResult]]
    ) -> tuple[ToolResult, bool]:
        """Run a tool at most once per idempotency key; returns ``(result, replayed)``.

        A known key returns the recorded result without calling ``run``. Otherwise
        ``run`` is awaited in the caller's scope (cancel it and nothing is recorded);
        once it returns, recording is shielded (bounded by a grace period) so a
        cancellation arriving now cannot lose the fact that the side effect happened.
        If another writer recorded the key first, its result is returned.
        """
        known = self._tool_results.get(idempotency_key)
        if known is None:
            known = await self.store.get_tool_result(self.session_key, idempotency_key)
        if known is not None:
            self._tool_results[idempotency_key] = known
            return known, True
        result = await run()
        with trio.CancelScope(shield=True), trio.move_on_after(_RECORD_GRACE):
            result = await self.store.record_tool_result(self.session_key, idempotency_key, result)
        self._tool_results[idempotency_key] = result
        return result, False
