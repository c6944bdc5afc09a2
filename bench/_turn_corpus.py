"""The turn-detection corpus: synthesized sentences, whole and with a pause inserted.

Every sentence of :data:`SENTENCES` is synthesized once, whole, so its prosody is
that of one sentence said in one go. The *complete* case is that audio; the
*mid-sentence* case is the same audio with ``pause`` seconds of silence spliced in
at the ``|`` -- the word boundary found by pocketsphinx's forced alignment of the
sentence's own words, refined to the quietest 10 ms within 30 ms of it. So the
words before the pause sound as they do inside the sentence, not like a sentence
of their own (synthesizing the prefix alone gives it a final fall, which any audio
model rightly hears as an ending).

Every clip gets 0.3 s of lead-in, 3 s of trailing silence (longer than any
endpointing delay) and a faint seeded noise floor (about -66 dBFS), like a quiet
microphone, rather than digital zeros. Word end times (from the alignment, shifted
by the pause after the cut) give what an STT would have transcribed by any instant.

Needs the ``stt`` extra (pocketsphinx, for the alignment) and a voice: the ``piper``
extra and/or ``tts`` (espeak-ng).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trio

from trioagents.core import TTS, concat_frames
from trioagents.providers._optional import mono_at, require

RATE = 16000
LEAD_IN = 0.3
TAIL = 3.0
NOISE = 0.0005

# "|" marks a mid-sentence pause after words that are not yet a turn: a function
# word ("for", "my", "the"...), "is", a filler ("um"). "/" marks one after words
# that could be a whole request ("I need a taxi to the airport"): a listener might
# answer there too, so those cuts are counted apart.
SENTENCES: tuple[str, ...] = (
    "I'd like to book a table for | four people",
    "My name is | Ada Lovelace",
    "Can you tell me the weather in | Paris tomorrow",
    "I want to change my | reservation please",
    "I need a taxi to the airport / tomorrow morning",
    "Could you move my appointment to | next Tuesday",
    "The order number is | four five six seven",
    "I'm calling about the | bill I got yesterday",
    "We will be arriving at | around seven thirty",
    "Please send the receipt to | my work email",
    "I would like the | vegetarian menu",
    "Is there a table available / on Friday evening",
    "My phone number is | five five five one two three four",
    "I'd like to book a table for, um, | four people",
    "Can we, uh, | sit outside",
    "I'm looking for a restaurant / that is open late",
    "I want to cancel / my booking for tonight",
    "We are a group of | twelve",
    "Do you have anything / cheaper",
    "Could I get a table near the | window",
    "The reservation is under the name | Smith",
    "I'll be there with my | wife and two kids",
    "How much does it cost to | park there",
    "I was wondering if | you have gluten free options",
)
# complete only: short answers, where an audio model has little to go on
SHORT_ANSWERS: tuple[str, ...] = ("Yes please.", "No thanks.", "Seven o'clock.", "That's all.")
PAUSES: tuple[float, ...] = (0.6, 1.0, 1.5)  # cycled over the sentences

_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True, slots=True)
class Clip:
    """One case: 16 kHz mono audio and when each of its words ends."""

    name: str
    text: str
    samples: np.ndarray  # float32, 16 kHz, lead-in and tail included
    word_ends: tuple[float, ...]  # seconds into ``samples``, one per word of ``text``
    pause_at: float | None  # where the inserted pause starts (mid-sentence cases)
    pause: float
    prefix_complete: bool = False  # the words before the pause could be a whole turn

    @property
    def mid_sentence(self) -> bool:
        return self.pause_at is not None

    @property
    def speech_end(self) -> float:
        return self.word_ends[-1]

    def transcript_until(self, instant: float) -> str:
        """The words finished by ``instant`` (what a streaming STT would have)."""
        words = _WORD.findall(self.text)
        return " ".join(w for w, end in zip(words, self.word_ends, strict=True) if end <= instant)


async def _speech(tts: TTS, text: str) -> np.ndarray:
    async with tts.synthesize(text) as audio:
        frames = [frame async for frame in audio]
    samples = mono_at(concat_frames(frames), RATE)
    loud = np.nonzero(np.abs(samples) > 0.01)[0]
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def _align(samples: np.ndarray, words: Sequence[str]) -> list[float] | None:
    """End time of each word (forced alignment), or None if it did not align.

    The aligner gets the speech between 0.25 s of silence (it wants some around
    the words); the times returned are into ``samples``.
    """
    pad = np.zeros(RATE // 4, dtype=np.float32)
    samples = np.concatenate([pad, samples, pad])
    pocketsphinx = require("pocketsphinx", "stt")
    decoder = pocketsphinx.Decoder(samprate=RATE, loglevel="FATAL")
    decoder.set_align_text(" ".join(w.lower() for w in words))
    decoder.start_utt()
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return None
    ends = [
        (segment.end_frame + 1) / 100 - 0.25
        for segment in decoder.seg()
        if not segment.word.startswith(("<", "["))
    ]
    return ends if len(ends) == len(words) else None


def _quietest_near(samples: np.ndarray, instant: float, reach: float = 0.03) -> int:
    """The sample index of the quietest 10 ms within ``reach`` s of ``instant``."""
    step = RATE // 100
    centre = round(instant * RATE)
    starts = range(max(0, centre - round(reach * RATE)), centre + round(reach * RATE), step // 2)
    energies = [float(np.mean(samples[s : s + step] ** 2)) for s in starts]
    return starts[int(np.argmin(energies))] + step // 2


def _framed(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    padded = np.concatenate([np.zeros(round(LEAD_IN * RATE)), speech, np.zeros(round(TAIL * RATE))])
    return (padded + rng.normal(0.0, NOISE, padded.size)).astype(np.float32)


async def sentence_clips(tts: TTS, sentence: str, pause: float, seed: int) -> list[Clip]:
    """The complete clip and, if ``sentence`` has a ``|`` or ``/``, the mid-sentence one."""
    rng = np.random.default_rng(seed)
    marker = "/" if "/" in sentence else "|"
    prefix, _, _rest = sentence.partition(marker)
    text = " ".join(sentence.replace(marker, " ").split())
    words = _WORD.findall(text)
    speech = await _speech(tts, text)
    ends = await trio.to_thread.run_sync(_align, speech, words)
    if ends is None:
        print(f"skipped {text!r} ({tts.label}): the aligner lost its words")
        return []  # no timings to trust
    whole = tuple(LEAD_IN + end for end in ends)
    clips = [Clip(f"{text} (complete)", text, _framed(speech, rng), whole, None, 0.0)]
    if marker in sentence:
        k = len(_WORD.findall(prefix))
        cut = _quietest_near(speech, ends[k - 1])
        spliced = np.concatenate([speech[:cut], np.zeros(round(pause * RATE)), speech[cut:]])
        cut_at = cut / RATE
        timings = tuple(
            LEAD_IN + (end if index < k else end + pause) for index, end in enumerate(ends)
        )
        clips.append(
            Clip(f"{prefix.strip()} ... (pause {pause} s)", text, _framed(spliced, rng),
                 timings, LEAD_IN + cut_at, pause, marker == "/")
        )  # fmt: skip
    return clips


async def build_corpus(tts: TTS) -> list[Clip]:
    """Every sentence (complete + mid-sentence) and every short answer, for one voice."""
    clips: list[Clip] = []
    for index, sentence in enumerate(SENTENCES):
        clips += await sentence_clips(tts, sentence, PAUSES[index % len(PAUSES)], seed=index)
    for index, answer in enumerate(SHORT_ANSWERS):
        clips += await sentence_clips(tts, answer, 0.0, seed=1000 + index)
    return clips
