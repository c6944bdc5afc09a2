"""ElevenLabsTTS and CartesiaTTS over real loopback websockets: first audio, barge-in.

Runs the test kit's fake ElevenLabs and Cartesia on 127.0.0.1 (real clock) and,
for each provider, ``--runs`` utterances after a warm-up:

* ``first_audio``: from the moment the first text is available (the stream is
  opened and the sentence pushed at once, as the voice pipeline does when the
  LLM's first sentence is ready) to the first frame out of the iterator --
  ``own``: a websocket per utterance (TCP connect + upgrade + first message each
  time); ``reused``: streams of one ``tts.connected()`` block sharing a socket;
* ``cancel_seen``: barge-in -- the consumer cancels the turn's scope while the fake
  is still speaking (paced at ``--pace`` times real time); from the cancel to the
  moment the fake *read* the cancel (Cartesia ``cancel``, ElevenLabs
  ``close_context``, or the socket closing on a single-utterance ElevenLabs
  connection), both on Trio's clock.

The fake answers at once, so these are the client's and the transport's costs, not
a provider's model time. Prints one JSON line.

    python bench/streaming_tts.py --runs 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import StreamingTTS
from trioagents.protocol import CartesiaOptions, ElevenLabsOptions
from trioagents.providers import CartesiaTTS, ElevenLabsTTS, WebSocketTTS, WebSocketTTSConnection
from trioagents.testing import (
    FakeCartesiaServer,
    FakeElevenLabsServer,
    FakeTTSOptions,
    open_fake_cartesia,
    open_fake_elevenlabs,
)

WARM_UP = 5
SENTENCE = "Hello there, this is the first sentence of the reply. "
LONG = SENTENCE * 8


def summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"p50": round(statistics.median(ms), 3), "p95": round(p95, 3), "max": round(ms[-1], 3)}


@asynccontextmanager
async def provider(
    name: str, options: FakeTTSOptions
) -> AsyncIterator[tuple[WebSocketTTS, FakeElevenLabsServer | FakeCartesiaServer]]:
    opening: AbstractAsyncContextManager[FakeElevenLabsServer | FakeCartesiaServer]
    opening = open_fake_elevenlabs(options) if name == "elevenlabs" else open_fake_cartesia(options)
    async with opening as server:
        connection = WebSocketTTSConnection(base_url=server.url, api_key="bench")
        tts: WebSocketTTS
        if name == "elevenlabs":
            tts = ElevenLabsTTS(ElevenLabsOptions(sample_rate=16000), connection=connection)
        else:
            tts = CartesiaTTS(CartesiaOptions(sample_rate=16000), connection=connection)
        yield tts, server


async def first_audio(tts: StreamingTTS) -> float:
    """Seconds from the text being available to the first frame; then drain."""
    started = trio.current_time()
    async with tts.stream() as stream:
        await stream.push_text(SENTENCE)
        await stream.end_input()
        async for _ in stream:
            elapsed = trio.current_time() - started
            break
        async for _ in stream:
            pass
    return elapsed


async def cancel_seen(
    tts: StreamingTTS, server: FakeElevenLabsServer | FakeCartesiaServer
) -> tuple[float, str]:
    """Seconds from cancelling a playing utterance to the fake reading the cancel,
    and how it saw it (``message`` or ``disconnect``)."""
    count = len(server.utterances)
    with trio.CancelScope() as turn:
        async with tts.stream() as stream:
            await stream.push_text(LONG)
            frames = 0
            async for _ in stream:
                frames += 1
                if frames == 3:
                    cancelled_at = trio.current_time()
                    turn.cancel()
                    await trio.lowlevel.checkpoint()
    with trio.fail_after(5):
        await server.wait_for(lambda s: s.utterances[count].cancelled_at is not None)
    seen = server.utterances[count]
    assert seen.cancelled_at is not None
    return seen.cancelled_at - cancelled_at, seen.cancelled_by or "?"


async def measure_one(name: str, runs: int, pace: float) -> dict[str, object]:
    figures: dict[str, object] = {}
    async with provider(name, FakeTTSOptions()) as (tts, _):
        own = [await first_audio(tts) for _ in range(runs + WARM_UP)][WARM_UP:]
        async with tts.connected() as shared:
            reused = [await first_audio(shared) for _ in range(runs + WARM_UP)][WARM_UP:]
    figures["first_audio_own_ms"] = summary(own)
    figures["first_audio_reused_ms"] = summary(reused)
    async with provider(name, FakeTTSOptions(pace=pace)) as (tts, server):
        alone = [await cancel_seen(tts, server) for _ in range(runs + WARM_UP)][WARM_UP:]
        async with tts.connected() as shared:
            on_shared = [await cancel_seen(shared, server) for _ in range(runs + WARM_UP)]
    for label, seen in (("own", alone), ("reused", on_shared[WARM_UP:])):
        figures[f"cancel_seen_{label}_ms"] = summary([delta for delta, _ in seen])
        ways = [by for _, by in seen]
        figures[f"cancel_seen_{label}_by"] = {way: ways.count(way) for way in sorted(set(ways))}
    return figures


async def measure(runs: int, pace: float = 4.0) -> dict[str, object]:
    result: dict[str, object] = {"runs": runs}
    for name in ("elevenlabs", "cartesia"):
        result[name] = await measure_one(name, runs, pace)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pace", type=float, default=4.0)
    args = parser.parse_args()
    print(json.dumps(trio.run(measure, args.runs, args.pace)))


if __name__ == "__main__":
    main()
