"""Interruption policy: when user speech stops the agent, and false-interruption resume.

The controller is told about the speech currently playing (``begin``/``end``) and
about the user (speech duration and words heard, speech start/end, final
transcripts). The decision is made synchronously in the caller's event handler --
the frame that makes the condition true is the one that stops the agent:

* the speech must allow interruptions, the user must have spoken for
  ``min_interruption_duration`` and said ``min_interruption_words`` words;
* if the sink can pause and ``resume_false_interruption`` is on, the speech is
  *paused*; otherwise it is interrupted (``SpeechHandle.interrupt``: sink revoked,
  turn cancelled, in that order, before this call returns).

A paused speech resumes ``false_interruption_timeout`` after the user stops
speaking (a :class:`FalseInterruptionDetected` event), unless a final transcript
with words arrived -- then the user really took the turn and the speech is
interrupted. The resume timer lives in :meth:`run`'s nursery; new speech cancels it.
"""

from __future__ import annotations

import trio

from ._event_bus import EventBus, StateTracker
from ._events import AgentState, FalseInterruptionDetected
from ._options import SessionOptions
from ._speech_handle import SpeechHandle

__all__ = ["InterruptionController"]


class InterruptionController:
    def __init__(
        self,
        options: SessionOptions,
        state: StateTracker,
        bus: EventBus,
        *,
        can_pause: bool,
    ) -> None:
        self._options = options
        self._state = state
        self._bus = bus
        self._can_pause = can_pause
        self.current: SpeechHandle | None = None
        self._paused_state: AgentState | None = None
        self._timer: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the false-interruption timers until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    # ----------------------------------------------------------- speech side
    def begin(self, handle: SpeechHandle) -> None:
        self.current = handle

    def end(self, handle: SpeechHandle) -> None:
        if self.current is handle:
            self.current = None
            self._paused_state = None
            self._cancel_timer()

    @property
    def uninterruptible_playing(self) -> bool:
        """Speech that cannot be interrupted is playing (its turn is still running)."""
        speech = self.current
        return speech is not None and not speech.allow_interruptions and not speech.done()

    @property
    def paused(self) -> bool:
        return self.current is not None and self.current.paused

    # ----------------------------------------------------------- user side
    def user_speaking(self, speech_duration: float, words: int) -> None:
        """Called for each VAD inference while the user speaks, and on transcripts."""
        speech = self.current
        options = self._options
        if speech is None or speech.done() or speech.interrupted or speech.paused:
            return
        if not speech.allow_interruptions:
            return
        if speech_duration < options.min_interruption_duration - 1e-9:
            return
        if words < options.min_interruption_words:
            return
        if self._pausing_enabled():
            self._paused_state = self._state.agent
            speech.set_paused(True)
            self._state.set_agent("listening")
        else:
            speech.interrupt(reason="user_barge_in")

    def user_started_speaking(self) -> None:
        self._cancel_timer()

    def user_stopped_speaking(self) -> None:
        timeout = self._options.false_interruption_timeout
        if not self.paused or timeout is None or self._nursery is None:
            return
        self._cancel_timer()
        scope = trio.CancelScope()
        self._timer = scope
        self._nursery.start_soon(self._resume_after, scope, trio.current_time() + timeout)

    def final_transcript(self, words: int) -> None:
        """Words were said: a paused speech was a real interruption."""
        speech = self.current
        needed = max(1, self._options.min_interruption_words)
        if speech is not None and speech.paused and words >= needed:
            self._cancel_timer()
            speech.interrupt(force=True, reason="user_barge_in")

    # ----------------------------------------------------------- internals
    def _pausing_enabled(self) -> bool:
        options = self._options
        return (
            self._can_pause
            and options.resume_false_interruption
            and options.false_interruption_timeout is not None
        )

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _resume_after(self, scope: trio.CancelScope, deadline: float) -> None:
        with scope:
            await trio.sleep_until(deadline)
            speech = self.current
            if self._timer is not scope or speech is None or not speech.paused:
                return
            self._timer = None
            speech.set_paused(False)
            self._state.set_agent(self._paused_state or "speaking")
            self._paused_state = None
            self._bus.publish(FalseInterruptionDetected(speech.id, True, trio.current_time()))
