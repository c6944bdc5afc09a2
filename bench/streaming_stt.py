"""DeepgramSTT over a real loopback websocket: end of speech to final transcript.

Runs the test kit's fake Deepgram on 127.0.0.1 (real clock) and streams ``--runs``
one-word utterances through one ``DeepgramSTT`` stream, timing each from the moment
the utterance's last audio frame was sent (``push_frame`` returned) to the moment
its ``FINAL_TRANSCRIPT`` came out of the iterator:

* ``finalize``: the client sends ``Finalize`` right after the last frame (the
  session's flush): the pure round trip -- encode, websocket, the fake's
  recognition, JSON, parse;
* ``endpointing``: the client keeps streaming silence in real time (a 10 ms frame
  10 ms after the previous one, as a microphone delivers it) until the server's
  endpointing (``--endpointing-ms`` of silence) finalizes; ``overhead`` is the time
  from the silence frame that completed the endpointing window to the final.

Also the cost of one ``push_frame`` of 10 ms, at 16 kHz (sent as is) and at 48 kHz
(resampled to 16 kHz). The fake server answers instantly, so these are the
client's and the transport's own costs, not Deepgram's. Prints one JSON line.

    python bench/streaming_stt.py --runs 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import SpeechEventType
from trioagents.protocol import DeepgramOptions
from trioagents.providers import DeepgramConnection, DeepgramSTT, DeepgramSTTStream
from trioagents.testing import Timeline, open_fake_deepgram, speech

WARM_UP = 5
WORD = 0.2  # seconds of speech per utterance
GAP = 0.3  # silence between utterances in the timeline (endpointing mode)


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return {"p50": round(statistics.median(ms), 3), "p99": round(p99, 3), "max": round(ms[-1], 3)}


class Finals:
    """The iterator's final transcripts, each with the perf_counter when it came out."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.changed = trio.Event()

    async def read(self, stream: DeepgramSTTStream) -> None:
        async for event in stream:
            if event.type is SpeechEventType.FINAL_TRANSCRIPT:
                self.times.append(time.perf_counter())
                self.changed.set()
                self.changed = trio.Event()

    async def wait_for(self, count: int) -> float:
        while len(self.times) < count:
            await self.changed.wait()
        return self.times[count - 1]


async def run_mode(
    timeline: Timeline, runs: int, mode: str, endpointing_ms: int
) -> tuple[list[float], list[float]]:
    """(latency from the last speech frame, time from the last frame sent before the
    final) per utterance, warm-up dropped."""
    options = DeepgramOptions(endpointing_ms=endpointing_ms, interim_results=False)
    frame_count = round(timeline.duration / 0.01)
    async with open_fake_deepgram(timeline) as server:
        connection = DeepgramConnection(base_url=server.url, api_key="bench")
        stt = DeepgramSTT(options, connection=connection)
        finals = Finals()
        latencies: list[float] = []
        after_trigger: list[float] = []
        async with stt.stream() as stream, trio.open_nursery() as nursery:
            nursery.start_soon(finals.read, stream)
            index = 0
            for utterance, segment in enumerate(timeline.segments):
                while index < round(segment.end / 0.01):  # speech (and the gap before): unpaced
                    await stream.push_frame(timeline.frame(index))
                    index += 1
                last_sent = sent = time.perf_counter()
                if mode == "finalize":
                    await stream.flush()
                else:
                    with trio.move_on_after(5):
                        while len(finals.times) <= utterance and index < frame_count:
                            await trio.sleep_until(trio.current_time() + 0.01)
                            if len(finals.times) > utterance:
                                break
                            await stream.push_frame(timeline.frame(index))
                            sent = time.perf_counter()
                            index += 1
                done = await finals.wait_for(utterance + 1)
                latencies.append(done - last_sent)
                after_trigger.append(done - sent)
            await stream.end_input()
            nursery.cancel_scope.cancel()
    if len(latencies) != runs + WARM_UP:
        raise RuntimeError("an utterance was not transcribed")
    return latencies[WARM_UP:], after_trigger[WARM_UP:]


def push_cost(sample_rate: int, frames: int = 2000) -> float:
    """Median seconds to encode one 10 ms frame (what push_frame does before sending)."""
    from trioagents.providers._websocket_stt import linear16

    timeline = Timeline([speech(0.0, frames * 0.01, "x")], tail=0.0, sample_rate=sample_rate)
    samples = []
    for index in range(frames):
        frame = timeline.frame(index)
        started = time.perf_counter()
        linear16(frame, 16000)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(runs: int, endpointing_ms: int) -> dict[str, object]:
    count = runs + WARM_UP
    finalize_tl = Timeline([speech(i * WORD, (i + 1) * WORD, f"w{i}") for i in range(count)])
    spaced = [speech(i * (WORD + GAP), i * (WORD + GAP) + WORD, f"w{i}") for i in range(count)]
    endpointing_tl = Timeline(spaced, tail=1.0)
    finalize, _ = await run_mode(finalize_tl, runs, "finalize", endpointing_ms)
    endpointed, overhead = await run_mode(endpointing_tl, runs, "endpointing", endpointing_ms)
    return {
        "runs": runs,
        "endpointing_ms": endpointing_ms,
        "finalize_ms": percentiles(finalize),
        "endpointing_latency_ms": percentiles(endpointed),
        "endpointing_overhead_ms": percentiles(overhead),
        "push_frame_16k_us": round(push_cost(16000) * 1e6, 2),
        "push_frame_48k_us": round(push_cost(48000) * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--endpointing-ms", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(trio.run(measure, args.runs, args.endpointing_ms)))


if __name__ == "__main__":
    main()
