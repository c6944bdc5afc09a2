"""OpenAI-compatible providers over a real loopback HTTP server: time to first output.

Runs the test kit's OpenAI-compatible server (no chunk pacing) and measures, over
``--runs`` requests after 10 warm-up ones, with one shared ``httpx.AsyncClient``:
``OpenAILLM`` time to the first event and to the end of the stream, and ``OpenAITTS``
time to the first audio frame. Prints one JSON line.

    python bench/providers.py --runs 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import ChatContext
from trioagents.providers import OpenAIConnection, OpenAILLM, OpenAITTS
from trioagents.testing import OpenAIServerOptions, open_openai_server

WARM_UP = 10


async def measure(runs: int) -> dict[str, float]:
    options = OpenAIServerOptions(chunk_interval=0.0, speech_seconds_per_char=0.001)
    async with open_openai_server(options) as server, httpx.AsyncClient() as client:
        connection = OpenAIConnection(base_url=server.base_url, api_key="bench")
        llm = OpenAILLM("bench-model", connection=connection, client=client)
        tts = OpenAITTS(connection=connection, client=client)
        chat = ChatContext()
        chat.add_message("user", "hi")
        first, whole, audio = [], [], []
        for _ in range(WARM_UP + runs):
            started = time.perf_counter()
            async with llm.chat(chat) as events:
                async for _event in events:
                    if len(first) < len(whole) + 1:
                        first.append(time.perf_counter() - started)
            whole.append(time.perf_counter() - started)
            started = time.perf_counter()
            async with tts.synthesize("Hello there, how are you?") as frames:
                async for _frame in frames:
                    audio.append(time.perf_counter() - started)
                    break
    ms = {"llm_first_event": first, "llm_whole_stream": whole, "tts_first_frame": audio}
    return {f"{name}_median_ms": round(statistics.median(xs[WARM_UP:]) * 1000, 2)
            for name, xs in ms.items()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(trio.run(measure, args.runs)))


if __name__ == "__main__":
    main()
