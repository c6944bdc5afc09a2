"""The official ``openai`` SDK under Trio, next to our hand-written client (docs/providers.md).

Not a dependency: install the SDK outside the project environment and put it on the
path, e.g.

    pip install --target /tmp/sdk "openai<3"     # the line LiveKit pins (httpx)
    PYTHONPATH=/tmp/sdk python bench/openai_sdk.py --runs 50

Measures, and prints as one JSON object:

* ``import_ms``: median wall time of ``import openai`` / ``import trioagents.providers`` /
  both (what the SDK adds to us) / ``import httpx``, in a fresh interpreter
  (``--imports`` runs each);
* ``stream_ms``: a streamed completion against the test kit's loopback server (no
  pacing), SDK (``AsyncOpenAI`` under ``trio.run``) vs ``OpenAILLM``, each on one
  shared client: medians of time to first text and to the end of the stream;
* ``faults``: for each server fault, what the SDK raises and how many requests it
  sent, with its defaults and with ``max_retries=0`` (compare with
  ``tests/providers/test_fault_matrix.py``);
* ``cancel``: a cancel scope around a stream, cancelled after the first chunk: does
  ``Cancelled`` come through, and does the server see the client leave at once;
* ``leave_early``: ``async with stream:`` left after the first chunk (a barge-in
  without a cancel): the warnings Trio raises for the SDK's abandoned async generator.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

import openai  # not a project dependency: see the module docs

from trioagents.core import ChatContext
from trioagents.providers import OpenAIConnection, OpenAILLM
from trioagents.testing import (
    OpenAIServerOptions,
    RespondWithStatus,
    SendGarbage,
    ServeHTMLPage,
    TruncateBody,
    open_openai_server,
)

WARM_UP = 10
IMPORTS = ("openai", "trioagents.providers", "trioagents.providers, openai", "httpx")
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def import_ms(module: str, runs: int) -> dict[str, float]:
    """Median and minimum over fresh interpreters (the minimum is steadier on a busy box)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        samples.append(float(done.stdout.strip()))
    return {
        "median": round(statistics.median(samples) * 1000, 1),
        "min": round(min(samples) * 1000, 1),
    }


async def sdk_stream(client: openai.AsyncOpenAI) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


async def ours_stream(llm: OpenAILLM) -> tuple[float, float]:
    chat = ChatContext()
    chat.add_message("user", "hi")
    started = time.perf_counter()
    first = None
    async with llm.chat(chat) as events:
        async for _ in events:
            if first is None:
                first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


def medians(samples: list[tuple[float, float]]) -> dict[str, float]:
    kept = samples[WARM_UP:]
    return {
        "first_text": round(statistics.median(s[0] for s in kept) * 1000, 2),
        "whole": round(statistics.median(s[1] for s in kept) * 1000, 2),
    }


async def stream_ms(runs: int) -> dict[str, dict[str, float]]:
    import httpx

    options = OpenAIServerOptions(chunk_interval=0.0)
    async with open_openai_server(options) as server:
        sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="bench")
        sdk_samples = [await sdk_stream(sdk) for _ in range(WARM_UP + runs)]
        await sdk.close()
        async with httpx.AsyncClient() as shared:
            connection = OpenAIConnection(base_url=server.base_url, api_key="bench")
            llm = OpenAILLM("m", connection=connection, client=shared)
            ours_samples = [await ours_stream(llm) for _ in range(WARM_UP + runs)]
    return {"sdk": medians(sdk_samples), "ours": medians(ours_samples)}


FAULTS: dict[str, Any] = {
    "http_503": RespondWithStatus(503, b'{"error": {"message": "busy"}}'),
    "http_429_retry_after_2s": RespondWithStatus(
        429, b'{"error": {"message": "slow down"}}', (("retry-after", "2"),)
    ),
    "truncated_no_done": TruncateBody(2),
    "html_200": ServeHTMLPage(),
    "in_stream_error": SendGarbage(b'data: {"error": {"message": "overloaded", "code": 503}}\n\n'),
    "garbage_sse": SendGarbage(b"data: {not json\n\n"),
}


async def one_fault(fault: Any, max_retries: int | None) -> dict[str, Any]:
    """One fault on every request of a fresh server; what the SDK makes of it."""
    kwargs: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    async with open_openai_server(OpenAIServerOptions(chunk_interval=0.0)) as server:
        server.script(*([fault] * 8), endpoint="chat")
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="bench", **kwargs)
        started = time.perf_counter()
        text = ""
        try:
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
            outcome = f"no error ({len(text)} chars of text)"
        except Exception as exc:
            outcome = type(exc).__name__
        finally:
            await client.close()
        return {
            "outcome": outcome,
            "requests": len(server.requests_to("chat")),
            "seconds": round(time.perf_counter() - started, 2),
        }


async def faults() -> dict[str, Any]:
    return {
        name: {
            "sdk_defaults": await one_fault(fault, None),
            "sdk_max_retries_0": await one_fault(fault, 0),
        }
        for name, fault in FAULTS.items()
    }


async def cancel() -> dict[str, Any]:
    async with open_openai_server(OpenAIServerOptions(chunk_interval=0.05)) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="bench")
        with trio.move_on_after(10) as outer:
            with trio.CancelScope() as scope:
                stream = await client.chat.completions.create(
                    model="m", messages=MESSAGES, stream=True
                )
                async for _ in stream:
                    cancelled_at = trio.current_time()
                    scope.cancel()
        seen = bool(server.disconnects)
        if not seen:
            with trio.move_on_after(2):
                await server.wait_disconnects()
        left_after = (
            round(server.disconnects[0].at - cancelled_at, 4) if server.disconnects else None
        )
        await client.close()
    return {
        "cancelled_caught": scope.cancelled_caught,
        "outer_deadline_hit": outer.cancelled_caught,
        "server_saw_disconnect_before_scope_exit": seen,
        "disconnect_seconds_after_cancel": left_after,
    }


async def leave_early() -> dict[str, Any]:
    """``async with stream:`` left after the first chunk (a barge-in), as the SDK documents."""
    seen: list[str] = []

    def record(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        seen.append(category.__name__)

    gc.collect()  # earlier cases' leftovers are not this case's
    async with open_openai_server(OpenAIServerOptions(chunk_interval=0.01)) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = record
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            async with stream:
                async for _ in stream:
                    break
            del stream
            gc.collect()
            await trio.sleep(0.2)
        await client.close()
        return {"server_saw_disconnect": bool(server.disconnects), "warnings": seen}


async def everything(runs: int) -> dict[str, Any]:
    return {
        "stream_ms": await stream_ms(runs),
        "faults": await faults(),
        "cancel": await cancel(),
        "leave_early": await leave_early(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--imports", type=int, default=7)
    args = parser.parse_args()
    report: dict[str, Any] = {
        "openai_version": openai.__version__,
        "sdk_defaults": {
            "max_retries": openai.DEFAULT_MAX_RETRIES,
            "timeout": str(openai.DEFAULT_TIMEOUT),
        },
        "import_ms": {
            module: import_ms(module, args.imports)
            for module in (
                "openai",
                "trioagents.providers",
                "trioagents.providers, openai",
                "httpx",
            )
        },
    }
    report.update(trio.run(everything, args.runs))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
