"""A realtime session over real loopback websockets: barge-in and reply latency.

Runs the test kit's fake OpenAI Realtime server on 127.0.0.1 (real clock) and an
``AgentSession(llm=RealtimeModel(...))`` on it, the user played in real time by
``FakeAudioInput`` (10 ms frames), replies played by ``FakeAudioOutput``. Each
run: the user asks (0.4 s of speech), the server's VAD commits the turn after
``--silence-ms`` of silence, the model's long reply (generated at twice real
time, so it is still generating) plays, and 0.7 s into it the user talks over
it; the server's VAD reports ``speech_started``; the reply is cancelled and the
next short one plays. Measured, per run, on one clock (server and client are one
process):

* ``barge_in_to_cancel``: the server sending ``speech_started`` -> the server
  receiving ``response.cancel`` (the client reads the event, interrupts the turn:
  sink revoked, scope cancelled, the reply's stream closed with the cancel);
* ``truncate_after_cancel``: ``response.cancel`` -> ``conversation.item.truncate``
  received (the position read back from the sink in between);
* ``end_of_speech_to_first_audio``: the user's last speech frame -> the reply's
  first frame at the sink; it includes the server's silence window;
* ``commit_to_first_audio``: the server sending ``committed`` -> that first frame
  (the client's turn, ``response.create``, the fake's first delta, playout).

The fake answers at once, so this is the framework's and the transport's own
cost; OpenAI adds its model time and the network. Prints one JSON line.

    python bench/realtime.py --runs 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.protocol import OpenAIRealtimeOptions, ServerVAD
from trioagents.providers import OpenAIConnection, RealtimeModel
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeRealtimeConnection,
    FakeRealtimeOptions,
    RealtimeReply,
    Timeline,
    open_fake_realtime,
    speech,
)
from trioagents.voice import Agent, AgentSession

WARM_UP = 2
CYCLE = 3.0  # seconds of timeline per run
LONG = "The weather today is sunny with a light breeze from the west and warm afternoons."


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"p50": round(statistics.median(ms), 3), "p95": round(p95, 3), "max": round(ms[-1], 3)}


def script(connection: FakeRealtimeConnection) -> RealtimeReply:
    return RealtimeReply(LONG if connection.last_user_text() == "ask" else "Okay.")


def timeline(runs: int) -> Timeline:
    segments = []
    for run in range(runs):
        base = 0.5 + run * CYCLE
        segments += [speech(base, base + 0.4, "ask"), speech(base + 1.3, base + 1.6, "stop")]
    return Timeline(segments, tail=2.0)


def _sent(connection: FakeRealtimeConnection, kind: str) -> list[float]:
    return [at for at, sent in connection.sent_at if sent == kind]


def figures(
    connection: FakeRealtimeConnection, tl: Timeline, audio: FakeAudioInput, out: FakeAudioOutput
) -> dict[str, list[float]]:
    started, committed = (
        _sent(connection, "input_audio_buffer.speech_started"),
        _sent(connection, "input_audio_buffer.committed"),
    )
    cancels = [e.at for e in connection.of_type("response.cancel")]
    truncates = [e.at for e in connection.of_type("conversation.item.truncate")]
    frames = [f.at for f in out.accepted]
    result: dict[str, list[float]] = {k: [] for k in ("cancel", "truncate", "eos", "commit")}
    for index, segment in enumerate(tl.segments):
        if segment.transcript == "stop":  # a barge-in: its speech_started -> the next cancel
            at = started[index]
            cancel = min((c for c in cancels if c >= at), default=None)
            if cancel is None:
                raise RuntimeError("a barge-in was not cancelled (the reply had ended?)")
            result["cancel"].append(cancel - at)
            result["truncate"].append(min(t for t in truncates if t >= cancel) - cancel)
        else:  # a question: its end and commit -> the reply's first frame at the sink
            commit = committed[index]
            first = min(f for f in frames if f >= commit)
            result["eos"].append(first - audio.to_clock(segment.end))
            result["commit"].append(first - commit)
    return result


async def measure(runs: int, silence_ms: int) -> dict[str, object]:
    tl = timeline(runs + WARM_UP)
    options = OpenAIRealtimeOptions(turn_detection=ServerVAD(silence_duration_ms=silence_ms))
    async with open_fake_realtime(
        script, timeline=tl, options=FakeRealtimeOptions(pace=0.5)
    ) as server:
        connection = OpenAIConnection(base_url=server.base_url, api_key="bench")
        session: AgentSession[None] = AgentSession(
            llm=RealtimeModel(options, connection=connection)
        )
        audio, out = FakeAudioInput(tl), FakeAudioOutput()
        async with session.start(Agent(instructions="bench"), audio_input=audio, audio_output=out):
            await trio.sleep_until(audio.to_clock(tl.duration))
        measured = figures(server.last, tl, audio, out)
    trimmed = {name: samples[WARM_UP:] for name, samples in measured.items()}
    return {
        "runs": runs,
        "silence_ms": silence_ms,
        "barge_in_to_cancel_ms": percentiles(trimmed["cancel"]),
        "truncate_after_cancel_ms": percentiles(trimmed["truncate"]),
        "end_of_speech_to_first_audio_ms": percentiles(trimmed["eos"]),
        "commit_to_first_audio_ms": percentiles(trimmed["commit"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--silence-ms", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(trio.run(measure, args.runs, args.silence_ms)))


if __name__ == "__main__":
    main()
