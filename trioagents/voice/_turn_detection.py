"""Deciding when the user's turn is over (endpointing and semantic turn detection).

Inputs are speech start/end instants (from the VAD, or the STT without one),
transcripts and the input audio. When the user has stopped speaking and a
transcript exists, an *endpointing wait* starts in its own cancel scope. If the
VAD ended the speech and the STT has not yet finalized it (no final transcript
since the last speech, or an interim one pending), the wait first waits for those
words -- the final restarts it -- at most until ``max_endpointing_delay`` after
the speech (an STT that gives no final for a cough must not hold the turn):
otherwise a turn of two segments was judged, and committed, on the first
segment's words while the second's were still being decoded. Then it asks
the optional :class:`TurnDetector` how likely the user is done (bounded by
``turn_detector_timeout``; no answer or a ProviderError → VAD endpointing), lets
:class:`~trioagents.voice._endpointing.Endpointing` pick the delay (min when
likely, max when unlikely; learned from the user's pauses in dynamic mode), and
sleeps until ``last_speaking_at + delay`` -- measured from the user's last speech,
so the VAD's own silence window counts toward it. The delay is a length of *audio*:
if, at that instant, the VAD has not yet judged ``delay`` seconds of audio after the
speech (input frames arrive late on a busy process or a jittery network; a model
holds part of a window; voice was heard but is still too short to start speech --
:class:`VADProgress`), the wait goes on until it has, while frames keep coming: at
most ``_AUDIO_STALL`` without a frame (the input paused: nothing more to judge)
and ``_AUDIO_HOLD`` in all. Otherwise a user who resumed just before the instant
was cut off because their audio had not arrived. New speech cancels the wait
(model call included: a model in a worker thread is abandoned); a new final
transcript restarts it. Then the synchronous ``commit`` callback decides;
returning False keeps the transcript accumulating.

With ``turn_detection="manual"`` no endpointing wait ever starts: the turn ends
when the application calls :meth:`UserTurnTracker.commit_manually` (through
``session.commit_user_turn()``), which waits -- up to ``transcript_timeout`` -- until
the STT has caught up (no interim transcript pending, a final one after the last
speech) and commits whatever was said. :meth:`UserTurnTracker.clear` with
``until_speech=True`` (``session.clear_user_turn()``) also drops the transcripts the
STT still delivers for audio from before the clear, until the user speaks again.

Invariant: at most one endpointing wait and one manual commit exist; they live in
the nursery of :meth:`UserTurnTracker.run`, so they cannot outlive the activity.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import trio

from ..core import AudioFrame, ChatContext
from ._endpointing import Endpointing, TurnAudio, predict_or_fallback
from ._event_bus import StateTracker
from ._hooks import HookAttribute, SessionHooks
from ._options import SessionOptions
from ._turn_detector import TurnDetector

__all__ = ["UserTurn", "UserTurnTracker", "VADProgress"]

logger = logging.getLogger("trioagents.voice.endpointing")

_AUDIO_STALL = 0.25  # no input frame for this long: the input paused
_AUDIO_HOLD = 0.5  # the longest an endpoint waits for its audio past the instant


@runtime_checkable
class VADProgress(Protocol):
    """A VAD stream that says how much of the pushed audio it has not judged yet.

    ``undecided_audio``: seconds at the end of what was pushed that are not yet
    judged silence -- not scored yet (short of a window, queued for a model), or
    voiced but too short to start speech. The turn tracker does not end a turn on
    audio the VAD has not judged (see the module docstring). The Silero and energy
    VADs implement it; a VAD without it is taken as judging each frame as it is
    pushed.
    """

    @property
    def undecided_audio(self) -> float: ...


@dataclass(frozen=True, slots=True)
class UserTurn:
    transcript: str
    started_speaking_at: float | None
    stopped_speaking_at: float | None
    committed_at: float
    manual: bool = False  # committed by the application (push to talk)
    reply: bool = True  # False: record the user's words, do not answer them
    end_of_turn_probability: float | None = None  # the detector's verdict, if it gave one

    @property
    def end_of_turn_delay(self) -> float | None:
        if self.stopped_speaking_at is None:
            return None
        return self.committed_at - self.stopped_speaking_at


class UserTurnTracker:
    """Accumulates one user turn; commits it through ``commit`` when endpointing says so."""

    def __init__(
        self,
        options: SessionOptions,
        detector: TurnDetector | None,
        commit: Callable[[UserTurn], bool],
        chat_ctx: Callable[[], ChatContext],
        hooks: SessionHooks | None = None,
        state: StateTracker | None = None,
    ) -> None:
        self._options = options
        self._endpointing = Endpointing(options, detector=detector is not None)
        self._state = state  # when agent speech last started (dynamic endpointing)
        self._probability: float | None = None
        self._hooks = hooks or SessionHooks()
        self._scope_id: str | None = None  # the open user_turn scope, if observed
        self._detector = detector
        self._commit = commit
        self._chat_ctx = chat_ctx
        self._finals: list[str] = []
        self._interim = ""
        self._speaking = False
        self._started_at: float | None = None
        self._last_speaking_at: float | None = None
        self._words_after = 0.0  # a final after this is the last speech's (_caught_up)
        self._audio = TurnAudio()
        self._wait: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._manual = options.turn_detection == "manual"
        self._manual_commit: trio.CancelScope | None = None
        self._last_final_at: float | None = None
        self._progress = trio.Event()  # set and replaced on every transcript and speech end
        self._discard_until_speech = False
        self._ended_audio: tuple[AudioFrame, ...] | None = None  # the turn at the VAD's end
        self._warming: trio.CancelScope | None = None
        self._ended_by_stt = False  # the STT reported the end of speech (no VAD)
        self._heard = 0.0  # audio seconds pushed (push_audio)
        self._speech_end_heard: float | None = None  # _heard at the VAD's speech end
        self._frame_arrived: trio.Event | None = None  # set by the next push_audio
        self._vad_progress: VADProgress | None = None

    def set_detection(self, detector: TurnDetector | None, *, manual: bool) -> None:
        """Use ``detector`` / manual turns from the next endpointing decision on.

        (The active agent changed: ``Agent(turn_detection=...)``.) A running wait
        finishes as decided. Changing whether there is a detector changes the
        endpointing delays (LiveKit's defaults differ), and resets learned pauses.
        """
        if (detector is None) != (self._detector is None):
            self._endpointing = Endpointing(self._options, detector=detector is not None)
        self._detector = detector
        self._manual = manual

    @property
    def transcript(self) -> str:
        """Final transcripts of this turn, then the current interim one."""
        return " ".join(t for t in [*self._finals, self._interim] if t)

    @property
    def word_count(self) -> int:
        return len(self.transcript.split())

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def endpointing(self) -> bool:
        return self._wait is not None or self._manual_commit is not None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the endpointing waits until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._end_scope("cancelled", "session_closed")

    @property
    def delays(self) -> Endpointing:
        """The endpointing delay policy (learned pauses in dynamic mode)."""
        return self._endpointing

    def listen_with(self, vad: object | None) -> None:
        """The VAD stream judging the pushed audio now (None: none, or it closed)."""
        self._vad_progress = vad if isinstance(vad, VADProgress) else None

    def push_audio(self, frame: AudioFrame) -> None:
        """One input frame, before the VAD judges it: counted (the endpoint waits for
        its audio), and kept for the turn detector (nothing is kept without one)."""
        self._heard += frame.duration
        if self._frame_arrived is not None:
            self._frame_arrived.set()
            self._frame_arrived = None
        if self._detector is not None:
            self._audio.push(frame)

    def speech_started(self, at: float) -> None:
        self._cancel_wait()
        self._cancel_warm()
        self._discard_until_speech = False
        self._speaking = True
        agent_spoke_at = self._state.agent_spoke_at if self._state is not None else None
        self._endpointing.user_started(at, agent_spoke_at)
        self._audio.turn_started()
        if self._started_at is None:
            self._started_at = at
            hooks = self._hooks
            if hooks.active and self._scope_id is None:
                self._scope_id = hooks.open_scope("user_turn", hooks.session_scope_id, {})

    def speech_ended(
        self,
        last_speaking_at: float,
        *,
        by_stt: bool = False,
        heard_at: float | None = None,
        silence_heard: float | None = None,
    ) -> None:
        """The user stopped speaking at ``last_speaking_at``. ``by_stt``: the STT said
        so (a session without VAD), after its final transcript of that speech.
        ``heard_at``: when the speech's last voiced audio arrived (Trio's clock); a
        final transcript after it is that speech's final (see :meth:`_caught_up`).
        ``silence_heard``: the audio seconds of silence the VAD judged after the
        speech (its ``silence_duration``); None: the endpoint does not wait for audio."""
        self._speaking = False
        self._last_speaking_at = last_speaking_at
        self._speech_end_heard = None
        held = self._undecided()
        if silence_heard is not None and not by_stt and math.isfinite(held):
            self._speech_end_heard = self._heard - held - silence_heard
        self._words_after = min(last_speaking_at, heard_at or last_speaking_at)
        self._ended_by_stt = by_stt
        self._endpointing.user_stopped(last_speaking_at)
        self._made_progress()
        self._start_warm()
        self._start_wait()

    def transcribed(self, text: str, *, final: bool) -> None:
        if self._discard_until_speech:
            return
        self._made_progress()
        if not final:
            self._interim = text.strip()
            return
        self._interim = ""
        self._last_final_at = trio.current_time()
        if text.strip():
            self._finals.append(text.strip())
        if not self._speaking:
            self._start_wait()

    def pending(self) -> UserTurn | None:
        """What the user said that no turn committed yet (finals, then the interim
        words), as an unanswered turn; None if nothing was transcribed."""
        if not self.transcript:
            return None
        return UserTurn(
            transcript=self.transcript,
            started_speaking_at=self._started_at,
            stopped_speaking_at=None if self._speaking else self._last_speaking_at,
            committed_at=trio.current_time(),
            reply=False,
        )

    def clear(self, *, until_speech: bool = False) -> None:
        """Drop the buffered turn (after a commit, or ``clear_user_turn``).

        ``until_speech``: also ignore transcripts until the user speaks again (they
        are the STT catching up on audio from before the clear).
        """
        self._cancel_wait()
        self._cancel_warm()
        self._ended_audio = None
        if self._manual_commit is not None:
            self._manual_commit.cancel()
            self._manual_commit = None
        self._end_scope("cancelled", "cleared")
        self._finals, self._interim = [], ""
        self._audio.clear()
        self._started_at = None
        self._probability = None
        self._discard_until_speech = until_speech

    def commit_manually(self, *, transcript_timeout: float, reply: bool = True) -> None:
        """End the turn now (synchronous; the commit itself waits for the STT)."""
        if self._nursery is None:
            return
        if self._manual_commit is not None:
            self._manual_commit.cancel()
        self._discard_until_speech = False
        scope = trio.CancelScope()
        self._manual_commit = scope
        patience = trio.CancelScope(deadline=trio.current_time() + transcript_timeout)
        self._nursery.start_soon(self._commit_when_transcribed, scope, patience, reply)

    async def _commit_when_transcribed(
        self, scope: trio.CancelScope, patience: trio.CancelScope, reply: bool
    ) -> None:
        """Commit once the STT caught up, or when ``patience`` runs out."""
        with scope:
            with patience:
                while not self._caught_up():
                    await self._progress.wait()
            await trio.lowlevel.checkpoint()
            if self._manual_commit is not scope:
                return
            self._manual_commit = None
            self._cancel_wait()  # an endpointing wait (auto mode) is overtaken
            if not self.transcript:
                self.clear()  # nothing was said: nothing to commit
                return
            turn = UserTurn(
                transcript=self.transcript,  # after a timeout: the interim words too
                started_speaking_at=self._started_at,
                stopped_speaking_at=self._last_speaking_at,
                committed_at=trio.current_time(),
                manual=True,
                reply=reply,
            )
            with_interim = bool(self._interim)
            self._commit_turn(turn)
            if with_interim:  # the final that catches up repeats those words: drop it
                self._discard_until_speech = True

    def _commit_turn(self, turn: UserTurn) -> None:
        """Offer ``turn`` to the activity; a taken turn ends its scope and is cleared."""
        if not self._commit(turn):
            return
        attributes: dict[str, HookAttribute] = {}
        if turn.end_of_turn_delay is not None:
            attributes["lk.end_of_turn_delay"] = turn.end_of_turn_delay
        if turn.end_of_turn_probability is not None:
            attributes["lk.eou.probability"] = turn.end_of_turn_probability
        self._end_scope("ok", None, attributes)
        self.clear()

    def _end_scope(
        self,
        outcome: Literal["ok", "cancelled"],
        reason: str | None,
        attributes: Mapping[str, HookAttribute] | None = None,
    ) -> None:
        scope_id, self._scope_id = self._scope_id, None
        self._hooks.close_scope(scope_id, outcome, reason, attributes)

    def _made_progress(self) -> None:
        self._progress.set()
        self._progress = trio.Event()

    def _caught_up(self) -> bool:
        """No interim transcript pending and a final one after the last speech.

        "After" is against the earlier of the VAD's end instant and the arrival of the
        speech's last voiced audio: the end instant is the VAD's clock reading minus
        the silence it counted *in audio*, so input frames that arrived late (a busy
        process, network jitter) move it later than the speech really ended, past a
        final that came in time -- and the turn waited the max delay for a final it
        already had."""
        if self._interim or self._speaking:
            return False
        if self._last_speaking_at is None:
            return True
        return self._last_final_at is not None and self._last_final_at >= self._words_after

    def _start_warm(self) -> None:
        """At the VAD's end of speech: let an audio detector start on the turn's audio
        while the STT still decodes (``warm``, if it has one); the endpointing wait
        then asks it about these same frames."""
        self._ended_audio = self._audio.frames()
        warm = getattr(self._detector, "warm", None)
        if warm is None or self._nursery is None or self._manual:
            return
        self._cancel_warm()
        scope = trio.CancelScope()
        self._warming = scope
        self._nursery.start_soon(_warm_in, scope, warm, self._ended_audio)

    def _cancel_warm(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            self._warming = None

    def _cancel_wait(self) -> None:
        if self._wait is not None:
            self._wait.cancel()
            self._wait = None

    def _start_wait(self) -> None:
        if self._manual:
            return
        self._cancel_wait()
        if not self._finals or self._nursery is None or self._last_speaking_at is None:
            return
        scope = trio.CancelScope()
        self._wait = scope
        self._nursery.start_soon(self._endpoint, scope)

    async def _endpoint(self, scope: trio.CancelScope) -> None:
        with scope:
            await self._wait_for_words()
            delay = await self._endpointing_delay()
            assert self._last_speaking_at is not None
            await trio.sleep_until(self._last_speaking_at + delay)
            await self._judged_audio(delay)
            if self._wait is not scope:
                return
            self._wait = None
            turn = UserTurn(
                transcript=self.transcript,
                started_speaking_at=self._started_at,
                stopped_speaking_at=self._last_speaking_at,
                committed_at=trio.current_time(),
                end_of_turn_probability=self._probability,
            )
            self._commit_turn(turn)

    def _undecided(self) -> float:
        progress = self._vad_progress
        return progress.undecided_audio if progress is not None else 0.0

    async def _judged_audio(self, delay: float) -> None:
        """Until the VAD has judged ``delay`` seconds of audio after the speech (new
        speech in it cancels this wait), while frames keep coming (see the module
        docstring); at most ``_AUDIO_HOLD``."""
        if self._speech_end_heard is None:
            return
        with trio.move_on_after(_AUDIO_HOLD):
            while self._heard - self._undecided() - self._speech_end_heard < delay - 1e-6:
                arrived = self._frame_arrived = trio.Event()
                with trio.move_on_after(_AUDIO_STALL) as stalled:
                    await arrived.wait()
                if stalled.cancelled_caught:
                    return

    async def _wait_for_words(self) -> None:
        """Until the STT finalized the speech the VAD just ended (the final restarts
        the wait), at most until the max delay after it (see the module docstring)."""
        if self._ended_by_stt:
            return
        assert self._last_speaking_at is not None
        with trio.move_on_at(self._last_speaking_at + self._endpointing.max_delay):
            while not self._caught_up():
                await self._progress.wait()
        await trio.lowlevel.checkpoint_if_cancelled()  # the final restarted the wait

    async def _endpointing_delay(self) -> float:
        """The wait for this turn; asks the detector (abandoned if cancelled)."""
        detector = self._detector
        if detector is None:
            return self._endpointing.min_delay
        timeout = self._options.turn_detector_timeout
        self._probability = None
        with trio.move_on_after(timeout) as patience:
            audio = self._ended_audio if self._ended_audio is not None else self._audio.frames()
            self._probability = await predict_or_fallback(
                detector, self._chat_ctx(), self.transcript, audio
            )
        if patience.cancelled_caught:
            logger.info("turn detector took over %.2f s; using VAD endpointing", timeout)
        return self._endpointing.delay(self._probability, detector.unlikely_threshold)


async def _warm_in(
    scope: trio.CancelScope, warm: Callable[..., Awaitable[None]], audio: object
) -> None:
    with scope:
        await warm(audio)
