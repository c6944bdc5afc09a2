"""Interruption policy: when user speech stops the agent, and false-interruption resume.

The controller is told about the speech currently playing (``begin``/``end``) and
about the user (speech duration and words heard, speech start/end, final
transcripts). The decision is made synchronously in the caller's event handler --
the frame that makes the condition true is the one that stops the agent:

* the speech must allow interruptions, the user must have spoken for
  ``min_interruption_duration`` and said ``min_interruption_words`` words;
* what they said so far must not be a *backchannel*: words made only of
  ``backchannel_words`` ("mm-hm", "yeah", "okay") acknowledge, they do not take
  the floor. Words are known only once the STT delivers them: before that, the
  VAD alone decides, so with a sink that can pause the agent pauses at the VAD
  threshold and resumes as soon as the final transcript turns out to be a
  backchannel; with ``min_interruption_words >= 1`` it does not even pause;
* if the sink can pause and ``resume_false_interruption`` is on, the speech is
  *paused*; otherwise it is interrupted (``SpeechHandle.interrupt``: sink revoked,
  turn cancelled, in that order, before this call returns).

A paused speech resumes ``false_interruption_timeout`` after the user stops
speaking (a :class:`FalseInterruptionDetected` event), or at once when the final
transcript is a backchannel; a final transcript with other words means the user
really took the turn, and the speech is interrupted. The resume timer lives in
:meth:`run`'s nursery; new speech cancels it.
"""

from __future__ import annotations

import re

import trio

from ._event_bus import EventBus, StateTracker
from ._events import AgentState, FalseInterruptionDetected
from ._options import SessionOptions
from ._speech_handle import SpeechHandle

__all__ = ["InterruptionController", "is_backchannel"]

_WORD = re.compile(r"[\w'-]+")


def is_backchannel(transcript: str, words: frozenset[str]) -> bool:
    """``transcript`` has words and each is in ``words`` (case and punctuation ignored).

    A hyphenated word matches as a whole or by its parts ("mm-hmm", "mm hmm").
    """
    tokens = _WORD.findall(transcript.lower())
    if not tokens or not words:
        return False
    return all(t in words or all(p in words for p in t.split("-") if p) for t in tokens)


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
        self._playing: list[SpeechHandle] = []  # current last
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
        """``handle`` plays now (a nested speech plays inside the turn that began first)."""
        self._playing.append(handle)
        self.current = handle

    def end(self, handle: SpeechHandle) -> None:
        if handle in self._playing:
            self._playing.remove(handle)
        if self.current is handle:
            self.current = self._playing[-1] if self._playing else None
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
    def is_backchannel(self, transcript: str) -> bool:
        """``transcript`` only acknowledges (``backchannel_words``)."""
        return is_backchannel(transcript, self._options.backchannel_words)

    def user_speaking(self, speech_duration: float, transcript: str) -> None:
        """Called for each VAD inference while the user speaks, and on transcripts.

        ``transcript``: what the user said so far in this turn (maybe nothing yet).
        """
        speech = self.current
        options = self._options
        if speech is None or speech.done() or speech.interrupted or speech.paused:
            return
        if not speech.allow_interruptions:
            return
        if speech_duration < options.min_interruption_duration - 1e-9:
            return
        if len(transcript.split()) < options.min_interruption_words:
            return
        if self.is_backchannel(transcript):
            return
        if self._pausing_enabled():
            self._paused_state = self._state.agent
            speech.set_paused(True)
            self._state.set_agent("listening")
        else:
            _outermost(speech).interrupt(reason="user_barge_in")

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

    def final_transcript(self, transcript: str) -> None:
        """Words were said (``transcript``: the turn so far): a paused speech resumes
        if they were a backchannel, else the pause was a real interruption."""
        speech = self.current
        if speech is None or not speech.paused:
            return
        if self.is_backchannel(transcript):
            self.resume_backchannel()
            return
        if len(transcript.split()) >= max(1, self._options.min_interruption_words):
            self._cancel_timer()
            _outermost(speech).interrupt(force=True, reason="user_barge_in")

    def resume_backchannel(self) -> None:
        """The user only acknowledged: a paused speech resumes now (no-op otherwise)."""
        speech = self.current
        if speech is not None and speech.paused:
            self._cancel_timer()
            self._resume(speech)

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
            self._resume(speech)

    def _resume(self, speech: SpeechHandle) -> None:
        speech.set_paused(False)
        self._state.set_agent(self._paused_state or "speaking")
        self._paused_state = None
        self._bus.publish(FalseInterruptionDetected(speech.id, True, trio.current_time()))


def _outermost(speech: SpeechHandle) -> SpeechHandle:
    """What a barge-in on ``speech`` interrupts: the outermost interruptible turn it is
    nested in (a tool's "one moment" is cut together with the turn that said it)."""
    while speech.parent is not None and speech.parent.allow_interruptions:
        if speech.parent.done():
            break
        speech = speech.parent
    return speech
