"""Speech created while a turn runs: children of the turn's scope.

A ``say()`` or ``generate_reply()`` called from inside a turn's task tree -- a tool,
``llm_node``, a task a tool started -- does not join the activity's queue (it would
wait behind the very turn that asked for it). It becomes a *nested speech* of the
innermost running turn, owned by that turn's :class:`NestedSpeeches`:

* it plays inside the turn's cancel scope, one at a time, by priority then in the
  order created: during the turn's tool step (concurrently with the tools, so a
  tool can ``await ctx.session.say("One moment")`` and then go on), and otherwise
  before the turn's next LLM step or its end. Speech created in a tool therefore
  plays before the tool's output is handed to the LLM (LiveKit Agents' rule);
* interrupting the turn interrupts every nested speech in the same synchronous
  call: the one playing stops with the turn's scope, the ones not started are done
  at once. Awaiting one returns when it was played or interrupted -- never by a
  deadline;
* an uninterruptible nested speech holds the turn's interruptions while it plays;
* a speech created by a turn that was already interrupted is born interrupted:
  nothing a cancelled turn scheduled is heard. One created after the turn ended
  normally (a task the tool left running elsewhere) joins the activity's queue.

A tool awaiting a nested speech of its turn when the turn is interrupted is
cancelled at that await (the tool's scope, see ``_tools_exec``): the speech and the
tool waiting on it end together, at once.

Awaits that could never return are refused at once with :class:`CircularWaitError`:
awaiting one's own turn (or an enclosing one), or a nested speech of the turn from
code that must return before that turn plays it (``llm_node``, a nested speech's
own tools).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeVar

import trio

from ._speech_handle import CircularWaitError, SpeechHandle
from ._speech_queue import SpeechQueue, get_unless
from ._tools_exec import TOOL_SCOPE

if TYPE_CHECKING:
    from ._reply import ReplyPlan

__all__ = ["CURRENT_TURN", "NestedSpeeches", "in_turn_chain"]

T = TypeVar("T")

CURRENT_TURN: ContextVar[NestedSpeeches | None] = ContextVar(
    "trioagents_current_turn", default=None
)
"""The innermost turn whose task tree this task belongs to (set by the turn itself)."""


def in_turn_chain(handle: SpeechHandle, turn: NestedSpeeches | None) -> bool:
    """True if ``handle`` is ``turn``'s speech or that of a turn enclosing it."""
    while turn is not None:
        if turn.speech is handle:
            return True
        turn = turn.outer
    return False


class NestedSpeeches:
    """The nested speeches of one running turn (see the module docstring)."""

    def __init__(
        self,
        speech: SpeechHandle,
        outer: NestedSpeeches | None,
        play: Callable[[ReplyPlan], Awaitable[None]],
    ) -> None:
        self.speech = speech
        self.outer = outer
        self._play = play
        self._queue: SpeechQueue[ReplyPlan] = SpeechQueue()
        self._unplayed: list[SpeechHandle] = []
        self._running: SpeechHandle | None = None
        self._serving = 0
        self.closed = False
        self.floor = trio.Lock()  # taken per speech played while this turn is suspended
        speech.on_interrupt(self._turn_interrupted)

    @property
    def pending(self) -> int:
        """Nested speeches not finished yet."""
        return len(self._unplayed)

    def add(self, plan: ReplyPlan) -> None:
        """Adopt ``plan`` (synchronous). Born interrupted if the turn was interrupted."""
        child = plan.speech
        child.wait_guard = self._check_wait
        child.after_wait = self._after_wait
        child.parent = self.speech
        if self.speech.interrupted:
            self._cut(child)
            return
        self._unplayed.append(child)
        self._queue.put(plan, child.priority)

    def close(self) -> None:
        """The turn's scope exited: whatever did not play is cut (synchronous)."""
        self.closed = True
        for child in list(self._unplayed):
            if child is not self._running:
                self._cut(child)

    async def serve_while(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work()`` while playing nested speeches as they come, then the rest."""
        finished = trio.Event()
        results: list[T] = []

        async def run_work() -> None:
            try:
                results.append(await work())
            finally:
                finished.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_work)
            await self._serve(finished)
        return results[0]

    async def drain(self) -> None:
        """Play the nested speeches created so far (and any they create)."""
        finished = trio.Event()
        finished.set()
        await self._serve(finished)

    async def _serve(self, finished: trio.Event) -> None:
        self._serving += 1
        try:
            while True:
                if finished.is_set() and not len(self._queue):
                    await trio.lowlevel.checkpoint()
                    return
                plan = await get_unless(self._queue, finished)
                if plan is not None:
                    await self._play_one(plan)
        finally:
            self._serving -= 1

    async def _play_one(self, plan: ReplyPlan) -> None:
        child = plan.speech
        async with self.floor:
            if child.done():
                return
            self._running = child
            held = not child.allow_interruptions
            if held:
                self.speech.hold_interruptions()
            try:
                await self._play(plan)
            finally:
                if held:
                    self.speech.release_interruptions()
                self._running = None
                self._forget(child)

    def _turn_interrupted(self) -> None:
        for child in list(self._unplayed):
            if child is self._running:
                self._stop(child)  # its scope is inside the turn's: it unwinds with it
            else:
                self._cut(child)

    def _stop(self, child: SpeechHandle) -> None:
        closed = self.speech.session_closed_error()
        if closed is not None:
            child.close(closed.reason, closed.error)
        else:
            child.interrupt(force=True, reason=self.speech.interrupt_reason or "interrupted")

    def _cut(self, child: SpeechHandle) -> None:
        """Interrupt a speech that never started and mark it done."""
        self._stop(child)
        if not child.done():
            child.mark_done()
        self._forget(child)

    def _forget(self, child: SpeechHandle) -> None:
        if child in self._unplayed:
            self._unplayed.remove(child)

    async def _after_wait(self, handle: SpeechHandle) -> None:
        """A tool of this turn awaited a speech cut with the turn: cancel the tool."""
        scope = TOOL_SCOPE.get()
        if scope is not None and self.speech.interrupted and CURRENT_TURN.get() is self:
            scope.cancel()
            await trio.lowlevel.checkpoint()  # raises Cancelled up to the tool's scope

    def _check_wait(self, handle: SpeechHandle) -> None:
        """Refuse an await of a nested speech that this task would block."""
        here = CURRENT_TURN.get()
        if in_turn_chain(handle, here):
            raise CircularWaitError("a turn cannot wait for itself or for an enclosing turn")
        if here is None or (here is self and self._serving > 0):
            return
        if here is self:
            raise CircularWaitError(
                "this speech plays after the current LLM step; awaiting it from inside "
                "that step would wait forever (create it without awaiting)"
            )
        if in_turn_chain(self.speech, here):
            raise CircularWaitError(
                "this speech plays after the speech now running inside the same turn; "
                "awaiting it from there would wait forever"
            )
