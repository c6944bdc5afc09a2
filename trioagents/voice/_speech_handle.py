"""SpeechHandle: one reply (``say``, ``generate_reply`` or a user turn), awaitable.

The handle is the user's view of a turn. ``interrupt()`` is synchronous: it runs the
callbacks the running turn registered -- revoke the utterance's sink, cancel the
turn's cancel scope -- in that order, before returning, so the interruption point
is the call itself. Awaiting a handle waits until the turn's scope has exited and
the chat context has been updated. It raises only in two cases, both instead of a
silent hang or a silent cut: :class:`SessionClosedError` when the session closed
before the speech finished, and :class:`CircularWaitError` when the awaiting task
is the one the speech waits for (see :mod:`._nested_speech`).

Rejected alternative: a future resolved by a done-callback plus a watchdog (LiveKit's
5 s ``INTERRUPTION_TIMEOUT``). Cancelling a scope cannot be ignored, so no watchdog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import trio

from ..core import ChatItem, ConfigurationError, ProviderError, TrioAgentsError, short_id
from ._events import SpeechSource

__all__ = [
    "CircularWaitError",
    "InterruptionNotAllowedError",
    "SessionClosedError",
    "SpeechHandle",
]


class InterruptionNotAllowedError(TrioAgentsError):
    """``interrupt()`` on a speech created with ``allow_interruptions=False``."""


class SessionClosedError(TrioAgentsError):
    """The session closed (or was closed) while this call waited, or before it.

    ``reason`` is the session's close reason (``"user_initiated"``,
    ``"participant_disconnected"``, ``"max_unrecoverable_errors"``...); ``error``
    the provider error that closed it, if any (also the ``__cause__``).
    """

    def __init__(self, reason: str, error: BaseException | None = None) -> None:
        super().__init__(f"the session is closed (reason: {reason})")
        self.reason = reason
        self.error = error
        self.__cause__ = error


class CircularWaitError(TrioAgentsError):
    """Awaiting a speech that can only play after the awaiting code returns.

    For example a tool awaiting its own turn's handle, or ``llm_node`` awaiting a
    speech it created (nested speech plays after the LLM step). Raised at once by
    the await instead of a hang; ``create`` the speech without awaiting it instead.
    """


class SpeechHandle:
    """Created by the session; user code awaits it or calls :meth:`interrupt`."""

    def __init__(
        self, *, source: SpeechSource, allow_interruptions: bool, priority: int = 5
    ) -> None:
        self.id = short_id("speech")
        self.source: SpeechSource = source
        self.priority = priority  # SpeechPriority: LOW 0, NORMAL 5, HIGH 10
        self._allow_interruptions = allow_interruptions
        self._holds = 0  # uninterruptible nested speeches playing inside this one
        self._closed: SessionClosedError | None = None
        self.wait_guard: Callable[[SpeechHandle], None] | None = None  # set by the scheduler
        self.parent: SpeechHandle | None = None  # the turn a nested speech plays in
        self.wait_tracker: Callable[[], AbstractContextManager[None]] = nullcontext
        self.after_wait: Callable[[SpeechHandle], Awaitable[None]] | None = None
        self._interrupted = False
        self.interrupt_reason: str | None = None  # stable code, set by interrupt()
        self._paused = False
        self._done = trio.Event()
        self._on_interrupt: list[Callable[[], None]] = []
        self._on_pause: list[Callable[[bool], None]] = []
        self._unpaused = trio.Event()
        self._unpaused.set()
        self.chat_items: list[ChatItem] = []
        self.error: ProviderError | None = None  # the provider error that ended it, if any
        self.done_at: float | None = None

    def __repr__(self) -> str:
        return f"SpeechHandle({self.id}, {self.source}, done={self.done()})"

    @property
    def allow_interruptions(self) -> bool:
        """False if created so, or while an uninterruptible nested speech plays in it."""
        return self._allow_interruptions and self._holds == 0

    def hold_interruptions(self) -> None:
        """Refuse interruptions until the matching :meth:`release_interruptions`."""
        self._holds += 1

    def release_interruptions(self) -> None:
        self._holds -= 1

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    @property
    def paused(self) -> bool:
        return self._paused

    def done(self) -> bool:
        return self._done.is_set()

    def interrupt(self, *, force: bool = False, reason: str = "interrupted") -> None:
        """Stop this speech now (synchronous; no checkpoint).

        Raises :class:`InterruptionNotAllowedError` if interruptions are disallowed
        and ``force`` is false. A no-op when already done or interrupted.
        """
        if self.done() or self._interrupted:
            return
        if not self.allow_interruptions and not force:
            raise InterruptionNotAllowedError("this speech does not allow interruptions")
        self._interrupted = True
        self.interrupt_reason = reason
        callbacks, self._on_interrupt = self._on_interrupt, []
        for callback in callbacks:
            callback()
        self.set_paused(False)  # after the sink was revoked: nothing left to resume

    def disallow_interruptions(self) -> None:
        """Refuse interruptions from now on (``interrupt(force=True)`` still works).

        Raises ConfigurationError if the speech was already interrupted.
        """
        if self._interrupted:
            raise ConfigurationError("the speech was already interrupted")
        self._allow_interruptions = False

    def on_interrupt(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` synchronously on interruption (at once if already interrupted).

        Used by the pipeline to tie a turn's scope and sink to this handle.
        """
        if self._interrupted:
            callback()
        else:
            self._on_interrupt.append(callback)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume playout (false-interruption handling); no-op when unchanged."""
        if paused == self._paused or self.done():
            return
        self._paused = paused
        if paused:
            self._unpaused = trio.Event()
        else:
            self._unpaused.set()
        for callback in list(self._on_pause):
            callback(paused)

    def on_pause_changed(self, callback: Callable[[bool], None]) -> None:
        """Run ``callback(paused)`` synchronously whenever the pause state changes."""
        self._on_pause.append(callback)

    async def wait_unpaused(self) -> None:
        """Return once the speech is not paused (checkpoints)."""
        await trio.lowlevel.checkpoint()
        while self._paused:
            await self._unpaused.wait()

    def close(self, reason: str, error: BaseException | None = None) -> None:
        """The session closed: stop now; waiters get :class:`SessionClosedError`.

        A no-op for a speech that already finished (it was heard).
        """
        if self.done():
            return
        if self._closed is None:
            self._closed = SessionClosedError(reason, error)
        self.interrupt(force=True, reason="session_closed")

    def session_closed_error(self) -> SessionClosedError | None:
        """Set when the session closed this speech (see :meth:`close`)."""
        return self._closed

    def mark_done(self) -> None:
        """Called once by the pipeline when the turn's scope has exited."""
        self._on_interrupt.clear()
        self._on_pause.clear()
        self._unpaused.set()
        self.done_at = trio.current_time()
        self._done.set()

    async def wait_for_playout(self) -> None:
        """Wait until the speech is done (played, skipped or interrupted).

        Raises :class:`SessionClosedError` if the session closed before the speech
        finished, :class:`CircularWaitError` (at once) if it could only play after
        the awaiting code returned.
        """
        if not self.done() and self.wait_guard is not None:
            self.wait_guard(self)
        with self.wait_tracker():
            await self._done.wait()
        if self._closed is not None:
            raise SessionClosedError(self._closed.reason, self._closed.error)
        if self.after_wait is not None:
            await self.after_wait(self)

    def __await__(self) -> Generator[Any, None, None]:
        return self.wait_for_playout().__await__()
