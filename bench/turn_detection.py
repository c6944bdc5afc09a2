"""Turn detection on synthesized speech: false end-of-turn and missed-turn rates.

The corpus (``bench/_turn_corpus.py``): 24 sentences said whole and the same
audio with a 0.6/1.0/1.5 s pause spliced in mid-sentence ("I'd like to book a
table for ... four people"), plus 4 short answers, in each voice (piper's joe,
espeak-ng en-us). Each clip goes through silero VAD at audio speed under a
virtual clock; at each end of speech the turn detector is asked what the session
would ask it (the turn's audio so far, with the 0.5 s pre-roll; the words finished
by then, from the forced alignment), in real time, and the session's own delay
policy (``voice._endpointing.Endpointing``: min when likely, max when unlikely,
VAD endpointing after ``turn_detector_timeout``) decides when the turn would be
committed -- unless the next speech starts first, which cancels the wait.

* **false end of turn**: the turn is committed before the user's last word (a cut);
* **missed turn**: a complete sentence judged unfinished, so the user waits the
  max delay (2.5 s) for an answer; *missed after a pause*: the same at the end of
  a mid-sentence case that was not cut (the words after the pause end the turn);
* **EOT delay**: last word -> commit, median over complete sentences that were not cut.

Detectors: none (LiveKit's defaults, VAD silence 0.55 s + 0.5 s; and a fast
0.2 s + 0.3 s), Smart Turn v3.2, the dangling-word rule, both combined, and the LLM
judge -- against the loopback fake server its answers are scripted, so only its
latency means something; ``--llm-base-url`` evaluates a real OpenAI-compatible
model. Assumption: the final transcript is there when the VAD ends speech (the
endpointing wait needs one); a slow STT only delays the wait's start.

    python bench/turn_detection.py                      # both voices, ~1 min
    python bench/turn_detection.py --voices piper --verbose
    OPENAI_API_KEY=... python bench/turn_detection.py --llm-base-url URL --llm-model NAME
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from bench._turn_corpus import RATE, Clip, build_corpus
from trioagents.core import TTS, AudioFrame, ChatContext, ConfigurationError, VADEventType
from trioagents.providers import (
    AnyIncompleteDetector,
    DanglingWordDetector,
    LLMTurnDetector,
    OpenAIConnection,
    OpenAILLM,
    SileroVAD,
    SmartTurnDetector,
)
from trioagents.providers._vad_gate import VADOptions
from trioagents.testing import OpenAIServerOptions, open_openai_server
from trioagents.voice import SessionOptions, TurnDetector
from trioagents.voice._endpointing import Endpointing

FAST_VAD = 0.2  # silero's silence window with a detector (Smart Turn's authors' advice)
DEFAULT_VAD = 0.55
PRE_ROLL = 0.5


@dataclass(frozen=True, slots=True)
class Segment:
    """One VAD speech run, in seconds of the clip's audio."""

    started: float  # START_OF_SPEECH emitted
    last_speech: float
    ended: float  # END_OF_SPEECH emitted


@dataclass(frozen=True, slots=True)
class Verdict:
    probability: float | None  # None: the detector failed
    latency: float  # seconds, measured
    threshold: float = 0.5  # the detector's unlikely_threshold


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    vad_silence: float
    options: SessionOptions
    detector: str | None = None  # a key of the detectors dict
    scripted: bool = False  # the answers are scripted: latency only


@dataclass(frozen=True, slots=True)
class Outcome:
    committed_at: float | None
    probability: float | None
    delay: float | None  # the endpointing delay that committed it

    def cut(self, clip: Clip) -> bool:
        return self.committed_at is not None and self.committed_at < clip.speech_end - 1e-6


# ----------------------------------------------------------------- VAD, virtual time


async def _vad_run(samples: np.ndarray, min_silence: float) -> list[Segment]:
    vad = SileroVAD(options=VADOptions(min_silence_duration=min_silence))
    segments: list[Segment] = []
    started: float | None = None
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    step = RATE // 100
    async with vad.stream() as stream, trio.open_nursery() as nursery:

        async def feed() -> None:
            for start in range(0, pcm.size - step + 1, step):
                await trio.sleep(0.01)  # the frame's audio has now "arrived"
                await stream.push_frame(AudioFrame.from_mono(pcm[start : start + step], RATE))
            await stream.end_input()

        nursery.start_soon(feed)
        async for event in stream:
            if event.type is VADEventType.START_OF_SPEECH:
                started = event.timestamp
            elif event.type is VADEventType.END_OF_SPEECH and started is not None:
                last = event.timestamp - event.silence_duration
                segments.append(Segment(started, last, event.timestamp))
                started = None
    return segments


def vad_segments(clip: Clip, min_silence: float) -> list[Segment]:
    """Silero's speech runs over ``clip``, fed in 10 ms frames on a virtual clock."""
    clock = trio.testing.MockClock(autojump_threshold=0)
    return trio.run(_vad_run, clip.samples, min_silence, clock=clock)


# ------------------------------------------------------------ the session's decision


def simulate(
    clip: Clip,
    segments: Sequence[Segment],
    verdict: Callable[[int], Verdict] | None,
    config: Config,
) -> Outcome:
    """When the session would commit the turn (the first wait not cancelled by speech).

    A wait starts at each end of speech that has words before it; it sleeps until
    ``last_speech + delay`` but not before the detector answered (capped at the
    timeout, after which there is no verdict); the next START_OF_SPEECH cancels it.
    """
    endpointing = Endpointing(config.options, detector=verdict is not None)
    timeout = config.options.turn_detector_timeout
    for index, segment in enumerate(segments):
        if not clip.transcript_until(segment.last_speech + 0.05):
            continue  # no transcript yet: the session does not start a wait
        probability: float | None = None
        lag = 0.0
        if verdict is None:
            delay = endpointing.min_delay
        else:
            answer = verdict(index)
            lag = min(answer.latency, timeout)
            probability = answer.probability if answer.latency <= timeout else None
            delay = endpointing.delay(probability, answer.threshold)
        commit = max(segment.last_speech + delay, segment.ended + lag)
        resumed = segments[index + 1].started if index + 1 < len(segments) else math.inf
        if commit < resumed:
            return Outcome(commit, probability, delay)
    return Outcome(None, None, None)


# ------------------------------------------------------------- detectors, real time


def turn_audio(clip: Clip, segments: Sequence[Segment], index: int) -> list[AudioFrame]:
    """What the session hands the detector at the end of segment ``index``."""
    start = max(0.0, segments[0].started - PRE_ROLL)
    chunk = clip.samples[round(start * RATE) : round(segments[index].ended * RATE)]
    return [AudioFrame.from_mono((np.clip(chunk, -1, 1) * 32767).astype(np.int16), RATE)]


async def ask_all(detector: TurnDetector, clip: Clip, segments: Sequence[Segment]) -> list[Verdict]:
    verdicts = []
    for index, segment in enumerate(segments):
        transcript = clip.transcript_until(segment.last_speech + 0.05)
        audio = turn_audio(clip, segments, index)
        started = time.perf_counter()
        try:
            p: float | None = await detector.predict_end_of_turn(ChatContext(), transcript, audio)
        except Exception:  # a ProviderError: the session falls back to VAD endpointing
            p = None
        verdicts.append(Verdict(p, time.perf_counter() - started, detector.unlikely_threshold))
    return verdicts


# --------------------------------------------------------------------- the report


def summarize(
    clips: Sequence[Clip], outcomes: Sequence[Outcome], latencies: Sequence[float], config: Config
) -> dict[str, object]:
    pairs = list(zip(clips, outcomes, strict=True))
    open_mid = [(c, o) for c, o in pairs if c.mid_sentence and not c.prefix_complete]
    closed_mid = [(c, o) for c, o in pairs if c.mid_sentence and c.prefix_complete]
    whole = [(c, o) for c, o in pairs if not c.mid_sentence]
    high = Endpointing(config.options, detector=config.detector is not None).max_delay
    kept = [(c, o) for c, o in whole if not o.cut(c) and o.committed_at is not None]
    resumed = [(c, o) for c, o in pairs if c.mid_sentence and not o.cut(c)]
    delays = [o.committed_at - c.speech_end for c, o in kept if o.committed_at is not None]
    result: dict[str, object] = {
        "vad_silence_s": config.vad_silence,
        "mid_open": len(open_mid),
        "mid_complete_prefix": len(closed_mid),
        "complete": len(whole),
        "false_eot_mid_open": sum(o.cut(c) for c, o in open_mid),
        "false_eot_mid_complete_prefix": sum(o.cut(c) for c, o in closed_mid),
        "false_eot_complete": sum(o.cut(c) for c, o in whole),
        "missed": sum(1 for _, o in kept if o.delay is not None and o.delay >= high - 1e-9),
        "mid_not_cut": len(resumed),
        "missed_after_pause": sum(
            1 for _, o in resumed if o.delay is not None and o.delay >= high - 1e-9
        ),
        "eot_delay_p50_s": round(statistics.median(delays), 3) if delays else None,
    }
    if latencies:
        ordered = sorted(latencies)
        result["detector_p50_ms"] = round(statistics.median(ordered) * 1000, 1)
        result["detector_p95_ms"] = round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1)
    if config.scripted:
        for key in result:
            if key.startswith(("false_eot", "missed", "eot_delay")):
                result[key] = None
    return result


def _rate(count: object, total: object) -> str:
    if count is None:
        return "n/a"
    assert isinstance(count, int)
    assert isinstance(total, int)
    return f"{count}/{total} ({100 * count / total:.0f}%)" if total else "-"


COLUMNS = (
    ("cut at pause", "false_eot_mid_open", "mid_open"),
    ("cut, prefix whole", "false_eot_mid_complete_prefix", "mid_complete_prefix"),
    ("cut, sentence", "false_eot_complete", "complete"),
    ("missed turns", "missed", "complete"),
    ("missed, paused", "missed_after_pause", "mid_not_cut"),
)


def print_table(voice: str, results: dict[str, dict[str, object]]) -> None:
    print(f"\n== {voice}")
    header = f"{'detector':42}" + "".join(f"{title:>18}" for title, _, _ in COLUMNS)
    print(header + f"{'EOT p50':>9} {'detector p50/p95':>17}")
    for name, r in results.items():
        p50 = r.get("eot_delay_p50_s")
        lat = f"{r['detector_p50_ms']}/{r['detector_p95_ms']} ms" if "detector_p50_ms" in r else "-"
        cells = "".join(f"{_rate(r[count], r[total]):>18}" for _, count, total in COLUMNS)
        eot = f"{p50:.2f} s" if isinstance(p50, float) else "n/a"
        print(f"{name:42}{cells}{eot:>9} {lat:>17}")


# ------------------------------------------------------------------------ running


def configs(fast: float, llm_name: str | None) -> list[Config]:
    """The rows: no detector (two ways), then each detector with ``fast`` VAD silence."""
    with_detector = SessionOptions()  # 0.3 s / 2.5 s: LiveKit's defaults with a detector
    rows = [
        ("smart-turn v3.2 (0.3/2.5 s)", "smart-turn"),
        ("dangling-words", "dangling"),
        ("smart-turn + dangling-words", "smart+dangling"),
    ]
    if llm_name is None:
        rows.append(("llm judge, loopback fake (latency only)", "llm"))
    else:
        rows += [(f"llm judge ({llm_name})", "llm"), ("smart-turn + llm judge", "smart+llm")]
    found = [
        Config(f"none: defaults (VAD {DEFAULT_VAD} s + 0.5 s)", DEFAULT_VAD, SessionOptions()),
        Config(
            f"none: fast (VAD {fast} s + 0.3 s)", fast, SessionOptions(min_endpointing_delay=0.3)
        ),
    ]
    for name, key in rows:
        scripted = key == "llm" and llm_name is None
        found.append(Config(f"{name}, VAD {fast} s", fast, with_detector, key, scripted))
    return found


def make_detectors(llm: OpenAILLM, smart_threshold: float) -> dict[str, TurnDetector]:
    smart = SmartTurnDetector(unlikely_threshold=smart_threshold)
    judge = LLMTurnDetector(llm)
    return {
        "smart-turn": smart,
        "dangling": DanglingWordDetector(),
        "smart+dangling": AnyIncompleteDetector([smart, DanglingWordDetector()]),
        "llm": judge,
        "smart+llm": AnyIncompleteDetector([smart, judge]),
    }


async def all_verdicts(
    clips: Sequence[Clip],
    segments: Sequence[Sequence[Segment]],
    wanted: set[str],
    args: argparse.Namespace,
) -> dict[str, list[list[Verdict]]]:
    """Every detector's verdict at every end of speech (VAD 0.2 s) of every clip."""
    options = OpenAIServerOptions(chat_text="COMPLETE", chunk_interval=0.0)
    async with open_openai_server(options) as server:
        base_url = args.llm_base_url or server.base_url
        api_key = os.environ.get("OPENAI_API_KEY", "bench") if args.llm_base_url else "bench"
        connection = OpenAIConnection(base_url=base_url, api_key=api_key)
        llm = OpenAILLM(args.llm_model or "judge", connection=connection,
                        extra_body={"max_tokens": 2, "temperature": 0})  # fmt: skip
        detectors = make_detectors(llm, args.smart_threshold)
        await ask_all(detectors["smart-turn"], clips[0], segments[0])  # load the model
        return {
            key: [await ask_all(detectors[key], c, s) for c, s in zip(clips, segments, strict=True)]
            for key in sorted(wanted)
        }


def evaluate_voice(tts: TTS, args: argparse.Namespace) -> dict[str, dict[str, object]]:
    clips = trio.run(build_corpus, tts)
    fast = args.vad_silence
    segments = {s: [vad_segments(c, s) for c in clips] for s in {fast, DEFAULT_VAD}}
    chosen = configs(fast, args.llm_model if args.llm_base_url else None)
    wanted = {c.detector for c in chosen if c.detector is not None}
    verdicts = trio.run(all_verdicts, clips, segments[fast], wanted, args)
    results: dict[str, dict[str, object]] = {}
    for config in chosen:
        outcomes, latencies = [], []
        for index, clip in enumerate(clips):
            answers = verdicts[config.detector][index] if config.detector else None
            ask = answers.__getitem__ if answers is not None else None
            outcomes.append(simulate(clip, segments[config.vad_silence][index], ask, config))
            latencies += [v.latency for v in answers or ()]
        results[config.name] = summarize(clips, outcomes, latencies, config)
        if args.verbose and config.detector and not config.scripted:
            _print_cases(config.name, clips, outcomes, verdicts[config.detector])
    return results


def _print_cases(
    name: str, clips: Sequence[Clip], outcomes: Sequence[Outcome], answers: list[list[Verdict]]
) -> None:
    print(f"-- {name}")
    for clip, outcome, verdicts in zip(clips, outcomes, answers, strict=True):
        shown = " ".join(f"{v.probability:.2f}" if v.probability is not None else "err"
                         for v in verdicts)  # fmt: skip
        mark = "CUT" if outcome.cut(clip) else "ok "
        print(f"   {mark} {clip.name:60} P at each end of speech: {shown}")


def voices(names: Sequence[str]) -> dict[str, TTS]:
    from trioagents.providers import EspeakTTS, PiperTTS

    found: dict[str, TTS] = {}
    for name in names:
        try:
            # the espeak variant the demo's caller uses; pocketsphinx aligns it reliably
            espeak = "en-us+f3", 160
            found[name] = (
                PiperTTS(deterministic=True)
                if name == "piper"
                else EspeakTTS(voice=espeak[0], words_per_minute=espeak[1])
            )
        except ConfigurationError as exc:
            print(f"skipping voice {name}: {exc}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="piper,espeak")
    parser.add_argument("--vad-silence", type=float, default=FAST_VAD,
                        help="VAD min_silence_duration with a detector (s)")  # fmt: skip
    parser.add_argument("--smart-threshold", type=float, default=0.5,
                        help="Smart Turn's unlikely_threshold (its own boundary: 0.5)")  # fmt: skip
    parser.add_argument("--verbose", action="store_true", help="every case's verdicts")
    parser.add_argument("--llm-base-url", help="an OpenAI-compatible server to judge with")
    parser.add_argument("--llm-model", help="its model name (with --llm-base-url)")
    args = parser.parse_args()
    report: dict[str, object] = {}
    for name, tts in voices(args.voices.split(",")).items():
        results = evaluate_voice(tts, args)
        print_table(f"{name} ({tts.label})", results)
        report[name] = results
    print(json.dumps(report))


if __name__ == "__main__":
    main()
