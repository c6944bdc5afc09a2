"""Endpointing: how long the session waits after the user's last speech.

The turn tracker (``_turn_detection.py``) owns the wait; this module decides its
length and keeps what the turn detector needs.

* :class:`Endpointing` picks the delay. Without a turn detector it is
  ``min_endpointing_delay`` (default 0.5 s). With one, the detector's P(end of
  turn) picks ``min`` (likely done) or ``max`` (unlikely: below the detector's
  ``unlikely_threshold``); the defaults are then LiveKit's for a turn detector,
  0.3 s / 2.5 s. In ``endpointing_mode="dynamic"`` both bounds are exponential
  moving averages of the user's own pauses (:class:`PauseLearner`), clamped to the
  configured range.
* :func:`predict_or_fallback` asks the detector; the tracker bounds it with the
  session's ``turn_detector_timeout`` (the caller's deadline, not the detector's).
  A slow or failing detector (timeout, :class:`~trioagents.ProviderError`) gives
  no verdict: plain VAD endpointing, the delay of a session without a detector.
  Cancellation (new speech) abandons the call and is never caught.
* :class:`TurnAudio` keeps the audio of the current turn -- from half a second
  before the user started, through their pauses, up to now -- at most the last
  8 s (what Smart Turn reads). Between turns only the half-second pre-roll is kept.

Everything here is synchronous except the detector call; times are Trio's clock.
Rejected alternative: learning the pauses inside the detector. The pauses are the
user's, not the model's: one learner per turn tracker, i.e. per session and agent.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence

from ..core import AudioFrame, ChatContext, ProviderError
from ._options import SessionOptions
from ._turn_detector import TurnDetector

__all__ = ["Endpointing", "PauseLearner", "TurnAudio", "predict_or_fallback"]

logger = logging.getLogger("trioagents.voice.endpointing")


class PauseLearner:
    """Exponential moving averages of the user's pauses (LiveKit's "dynamic" mode).

    ``alpha`` weighs history: ``new = alpha * old + (1 - alpha) * pause``. When the
    user starts speaking again after a pause of ``p`` seconds:

    * no agent speech started since they stopped: ``p`` was a pause *inside* their
      turn, and ``min_delay`` should cover it;
    * agent speech started, and the user spoke again within ``min_delay`` of it: the
      turn was cut short (they had not finished), so ``min_delay`` learns ``p`` too;
    * agent speech started earlier than that: a finished turn; ``max_delay``
      learns the gap between their last speech and the reply.

    Both stay inside ``[floor, ceiling]``, and ``max_delay >= min_delay``.
    """

    def __init__(self, floor: float, ceiling: float, alpha: float) -> None:
        self._floor, self._ceiling, self._alpha = floor, ceiling, alpha
        self._min = floor
        self._max = ceiling
        self._user_stopped_at: float | None = None

    @property
    def min_delay(self) -> float:
        return self._min

    @property
    def max_delay(self) -> float:
        return max(self._max, self._min)

    def user_stopped(self, at: float) -> None:
        self._user_stopped_at = at

    def user_started(self, at: float, agent_spoke_at: float | None) -> None:
        """The user speaks again; ``agent_spoke_at``: when agent speech last started."""
        stopped, self._user_stopped_at = self._user_stopped_at, None
        if stopped is None or at <= stopped:
            return
        pause = at - stopped
        if agent_spoke_at is not None and stopped <= agent_spoke_at < at - self._min:
            self._max = self._mix(self._max, agent_spoke_at - stopped)  # a finished turn
        else:
            self._min = self._mix(self._min, pause)  # a pause inside the turn, or a cut one

    def _mix(self, value: float, sample: float) -> float:
        mixed = self._alpha * value + (1.0 - self._alpha) * sample
        return min(self._ceiling, max(self._floor, mixed))


class Endpointing:
    """The delay policy of one turn tracker (see the module docstring)."""

    def __init__(self, options: SessionOptions, *, detector: bool) -> None:
        self._options = options
        floor, ceiling = options.endpointing_delays(detector=detector)
        self._fallback = options.endpointing_delays(detector=False)[0]
        self._fixed = (floor, ceiling)
        self._learner: PauseLearner | None = None
        if options.endpointing_mode == "dynamic":
            self._learner = PauseLearner(floor, ceiling, options.endpointing_alpha)

    @property
    def min_delay(self) -> float:
        return self._learner.min_delay if self._learner is not None else self._fixed[0]

    @property
    def max_delay(self) -> float:
        return self._learner.max_delay if self._learner is not None else self._fixed[1]

    @property
    def fallback_delay(self) -> float:
        """VAD endpointing: the delay when the detector did not answer."""
        return self._fallback

    def delay(self, probability: float | None, unlikely_threshold: float) -> float:
        """Seconds after the user's last speech; ``probability`` None: no verdict."""
        if probability is None:
            return self._fallback
        return self.max_delay if probability < unlikely_threshold else self.min_delay

    def user_started(self, at: float, agent_spoke_at: float | None) -> None:
        if self._learner is not None:
            self._learner.user_started(at, agent_spoke_at)

    def user_stopped(self, at: float) -> None:
        if self._learner is not None:
            self._learner.user_stopped(at)


async def predict_or_fallback(
    detector: TurnDetector,
    chat_ctx: ChatContext,
    transcript: str,
    audio: Sequence[AudioFrame],
) -> float | None:
    """P(end of turn) in [0, 1], or ``None`` if the detector failed (ProviderError).

    The deadline is the caller's (``move_on_after(turn_detector_timeout)``).
    Cancellation propagates: the caller's wait was cancelled, the call is abandoned.
    Exceptions other than :class:`~trioagents.ProviderError` are bugs and propagate.
    """
    try:
        probability = await detector.predict_end_of_turn(chat_ctx, transcript, audio)
    except ProviderError as exc:
        logger.info("turn detector failed (%s); using VAD endpointing", type(exc).__name__)
        return None
    return min(1.0, max(0.0, float(probability)))


class TurnAudio:
    """The current turn's audio for the detector (see the module docstring)."""

    PRE_ROLL = 0.5
    WINDOW = 8.0

    def __init__(self) -> None:
        self._frames: deque[AudioFrame] = deque()
        self._duration = 0.0
        self._in_turn = False

    def push(self, frame: AudioFrame) -> None:
        self._frames.append(frame)
        self._duration += frame.duration
        keep = self.WINDOW if self._in_turn else self.PRE_ROLL
        while self._frames and self._duration - self._frames[0].duration >= keep - 1e-9:
            self._duration -= self._frames.popleft().duration

    def turn_started(self) -> None:
        self._in_turn = True

    def clear(self) -> None:
        """End of the turn: keep only the pre-roll from now on."""
        self._in_turn = False
        self._frames.clear()
        self._duration = 0.0

    @property
    def duration(self) -> float:
        return self._duration

    def frames(self) -> tuple[AudioFrame, ...]:
        return tuple(self._frames)
