"""Session options: one frozen record, validated at construction.

The names and defaults follow LiveKit Agents 1.x (the flat, pre-``turn_handling``
spelling), so a LiveKit user finds them where they expect. Everything timed is in
seconds of Trio's clock. Rejected alternative: nested option groups
(``TurnHandlingOptions``) -- one flat record is easier to read, copy with
``dataclasses.replace`` and validate in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core import ConfigurationError

__all__ = [
    "DEFAULT_BACKCHANNEL_WORDS",
    "EndpointingMode",
    "MidStreamFailover",
    "SessionOptions",
    "TTSInput",
    "TurnDetectionMode",
]

TurnDetectionMode = Literal["auto", "manual"]
EndpointingMode = Literal["fixed", "dynamic"]
MidStreamFailover = Literal["continue", "restart", "off"]
TTSInput = Literal["auto", "sentences"]

# Words that acknowledge rather than take the floor (compared lower-cased, without
# punctuation; a hyphenated word also matches its parts: "uh-huh" = "uh huh").
DEFAULT_BACKCHANNEL_WORDS: frozenset[str] = frozenset(
    {
        "mm", "mmm", "mhm", "mm-hm", "mm-hmm", "hm", "hmm", "uh-huh", "uh", "huh",
        "yeah", "yep", "yup", "yes", "ok", "okay", "right", "sure", "alright",
        "i", "see", "got", "it", "oh", "ah", "aha", "cool", "nice",
    }
)  # fmt: skip

_NO_DETECTOR = (0.5, 3.0)  # LiveKit's endpointing defaults
_WITH_DETECTOR = (0.3, 2.5)  # LiveKit's defaults with a turn detector


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """How an :class:`~trioagents.voice.AgentSession` detects turns and interruptions.

    * ``min_endpointing_delay``/``max_endpointing_delay``: silence after the user's
      last speech before the turn is committed; the turn detector picks ``max`` when
      the user is unlikely to be done. ``None`` (the default): 0.5 s / 3.0 s, or
      with a turn detector 0.3 s / 2.5 s (LiveKit's defaults for both cases).
    * ``endpointing_mode``: ``"fixed"`` or ``"dynamic"`` (both delays learn the
      user's pauses, an exponential moving average weighing history by
      ``endpointing_alpha``, 0.9 as in LiveKit; see ``_endpointing.py``).
    * ``turn_detector_timeout``: how long the endpointing wait waits for the turn
      detector; slower (or failing) falls back to VAD endpointing for that turn.
    * ``backchannel_words``: while the agent speaks, user speech made only of these
      words ("mm-hm", "yeah") does not interrupt it; ``frozenset()`` disables.
    * ``allow_interruptions``, ``min_interruption_duration``,
      ``min_interruption_words``: when user speech interrupts the agent.
    * ``false_interruption_timeout``: a paused reply resumes if the user says nothing
      for this long (``None`` disables pause-and-resume).
    * ``discard_audio_if_uninterruptible``: while speech that cannot be interrupted
      plays, the STT hears silence of equal length (the VAD still hears the user), so
      what the user says over it is not transcribed and gets no reply.
    * ``preemptive_generation``: start the LLM on the final transcript, before the
      end of turn is confirmed.
    * ``max_unrecoverable_errors``: consecutive provider errors of one source that
      close the session.
    * ``mid_stream_failover``: what a turn does when a fallback group's member fails
      after part of the reply was delivered and the group switched
      (``ProviderError.failed_over``). ``"continue"`` (default): the next member goes
      on from the words already produced (LLM: the partial reply is its prefix; TTS:
      synthesis resumes at the first word not yet heard). ``"restart"``: what was
      not yet played is dropped and the step starts over on the next member (LLM:
      a fresh reply after the heard part; TTS: the cut sentence again). ``"off"``:
      the turn ends with the fragment and the error goes to the error policy (not
      counted as unrecoverable). Either way a system note in the chat context says
      what happened.
    * ``tts_input``: how a reply's text reaches the TTS. ``"auto"`` (default): a TTS
      that takes streamed input (:func:`~trioagents.core.streams_text_input`) gets
      the LLM's words as they arrive, in one stream per utterance -- synthesis starts
      on the first words, not at the end of the first sentence (LiveKit's default
      for streaming TTS); the heard text comes from the TTS's alignment
      (``AudioFrame.text_end``) where it gives one, else from the measured speaking
      rate. Any other TTS, or an agent overriding ``tts_node`` or
      ``transcription_node``, gets whole sentences, one request each.
      ``"sentences"``: always sentences (each sentence's audio is then measured on
      its own, the finer accounting when the TTS gives no alignment).
    * ``close_grace``: bound on every shielded cleanup step (sink drain, stream close).
    * ``playout_grace``: how long past the expected end of audio the session waits
      for a sink to report playback finished before assuming it did.
    * ``user_away_timeout``: both sides silent this long → user state ``away``.
    * ``stt_chunk_duration``: user audio reaches the STT in chunks of about this
      length (consecutive input frames joined; the VAD still judges every frame).
      40 ms by default: the STT step wakes once per chunk instead of once per
      10 ms frame (LiveKit's STT plugins send 50 ms chunks). The chunk is sent early
      when the VAD starts or ends speech. ``0``: every frame as it comes.
    * ``turn_detection``: ``"auto"`` (endpointing as above) or ``"manual"``: turns
      end only when the application calls ``session.commit_user_turn()`` (push to
      talk); barge-in still follows the interruption options.
    """

    allow_interruptions: bool = True
    min_interruption_duration: float = 0.5
    min_interruption_words: int = 0
    false_interruption_timeout: float | None = 2.0
    resume_false_interruption: bool = True
    discard_audio_if_uninterruptible: bool = True
    min_endpointing_delay: float | None = None
    max_endpointing_delay: float | None = None
    endpointing_mode: EndpointingMode = "fixed"
    endpointing_alpha: float = 0.9
    turn_detector_timeout: float = 0.5
    backchannel_words: frozenset[str] = DEFAULT_BACKCHANNEL_WORDS
    preemptive_generation: bool = True
    max_unrecoverable_errors: int = 3
    content_filter_message: str = "I'm sorry, I can't help with that."
    mid_stream_failover: MidStreamFailover = "continue"
    close_grace: float = 2.0
    playout_grace: float = 2.0
    user_away_timeout: float | None = 15.0
    max_tool_steps: int = 3
    turn_detection: TurnDetectionMode = "auto"
    tts_input: TTSInput = "auto"
    stt_chunk_duration: float = 0.04

    def __post_init__(self) -> None:
        _non_negative(
            min_interruption_duration=self.min_interruption_duration,
            stt_chunk_duration=self.stt_chunk_duration,
            close_grace=self.close_grace,
            playout_grace=self.playout_grace,
            turn_detector_timeout=self.turn_detector_timeout,
        )
        for name in ("min_endpointing_delay", "max_endpointing_delay"):
            value = getattr(self, name)
            if value is not None:
                _non_negative(**{name: value})
        for detector in (False, True):
            low, high = self.endpointing_delays(detector=detector)
            if high < low:
                raise ConfigurationError(
                    f"max_endpointing_delay must be >= min_endpointing_delay (got {high} < {low})"
                )
        if self.endpointing_mode not in ("fixed", "dynamic"):
            raise ConfigurationError(
                f"endpointing_mode must be 'fixed' or 'dynamic', got {self.endpointing_mode!r}"
            )
        if not 0 < self.endpointing_alpha < 1:
            raise ConfigurationError("endpointing_alpha must be in (0, 1)")
        if not isinstance(self.backchannel_words, frozenset):
            object.__setattr__(self, "backchannel_words", frozenset(self.backchannel_words))
        if self.min_interruption_words < 0:
            raise ConfigurationError("min_interruption_words must be >= 0")
        if self.false_interruption_timeout is not None and self.false_interruption_timeout < 0:
            raise ConfigurationError("false_interruption_timeout must be >= 0 or None")
        if self.user_away_timeout is not None and self.user_away_timeout <= 0:
            raise ConfigurationError("user_away_timeout must be > 0 or None")
        if self.max_unrecoverable_errors < 1:
            raise ConfigurationError("max_unrecoverable_errors must be >= 1")
        if self.max_tool_steps < 0:
            raise ConfigurationError("max_tool_steps must be >= 0")
        if self.mid_stream_failover not in ("continue", "restart", "off"):
            raise ConfigurationError(
                "mid_stream_failover must be 'continue', 'restart' or 'off', "
                f"got {self.mid_stream_failover!r}"
            )
        if self.tts_input not in ("auto", "sentences"):
            raise ConfigurationError(
                f"tts_input must be 'auto' or 'sentences', got {self.tts_input!r}"
            )
        if self.turn_detection not in ("auto", "manual"):
            raise ConfigurationError(
                f"turn_detection must be 'auto' or 'manual', got {self.turn_detection!r}"
            )

    def endpointing_delays(self, *, detector: bool) -> tuple[float, float]:
        """``(min, max)`` endpointing delays, the defaults resolved for ``detector``."""
        low, high = _WITH_DETECTOR if detector else _NO_DETECTOR
        if self.min_endpointing_delay is not None:
            low = self.min_endpointing_delay
        if self.max_endpointing_delay is not None:
            high = self.max_endpointing_delay
        return low, max(high, low) if self.max_endpointing_delay is None else high


def _non_negative(**values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise ConfigurationError(f"{name} must be >= 0 seconds, got {value}")
