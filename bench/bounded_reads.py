"""Peak memory of OpenAILLM and OpenAISTT reading an endless or oversized body.

A raw loopback HTTP server (no framework, constant memory) answers every request
with ``--mb`` megabytes generated on the fly: for the chat endpoint
``text/event-stream`` ``data:`` lines with no blank line (one event that never
ends); for the transcription endpoint one JSON object whose ``text`` never closes,
without a ``Content-Length`` (so only the streaming cap can stop it). Each case runs
in a fresh child process, which reports its peak resident set size (``VmHWM``)
before and after the call and how the call ended. Prints one JSON line per case.

    python bench/bounded_reads.py --mb 300
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's trioagents

from trioagents.core import AudioFrame, ChatContext, ProviderError, silence
from trioagents.providers import OpenAIConnection, OpenAILLM, OpenAISTT

_LINE = b"data: " + b"x" * 1018 + b"\n"  # 1 KiB
_CHUNK = 64 * 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


async def _read_head(stream: trio.SocketStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        more = await stream.receive_some(_CHUNK)
        if not more:
            break
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            missing = int(value) - len(body)
            while missing > 0:
                more = await stream.receive_some(_CHUNK)
                if not more:
                    break
                missing -= len(more)
    return head


async def _serve(megabytes: int, stream: trio.SocketStream) -> None:
    with trio.move_on_after(120):
        head = await _read_head(stream)
        chat = b"chat/completions" in head.split(b"\r\n", 1)[0]
        kind = b"text/event-stream" if chat else b"application/json"
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-type: " + kind
                              + b"\r\nconnection: close\r\n\r\n")  # fmt: skip
        if not chat:
            await stream.send_all(b'{"text": "')
        block = (_LINE if chat else b"x" * len(_LINE)) * (_CHUNK // len(_LINE))
        total = megabytes * 1024 * 1024
        sent = 0
        try:
            while sent < total:
                await stream.send_all(block)
                sent += len(block)
            if not chat:
                await stream.send_all(b'"}')
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client stopped reading: what a cap does
    await stream.aclose()


async def _case(kind: str, megabytes: int) -> dict[str, object]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, partial(_serve, megabytes), 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        connection = OpenAIConnection(base_url=f"http://127.0.0.1:{port}/v1", api_key="bench")
        before = _status_kib("VmHWM")
        start = trio.current_time()
        outcome = "ok"
        try:
            if kind == "llm":
                chat = ChatContext()
                chat.add_message("user", "hi")
                async with OpenAILLM("bench", connection=connection).chat(chat) as events:
                    async for _ in events:
                        pass
            else:
                frames: list[AudioFrame] = [silence(0.5, 16000)]
                await OpenAISTT(connection=connection).recognize(frames)
        except ProviderError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        elapsed = trio.current_time() - start
        nursery.cancel_scope.cancel()
    after = _status_kib("VmHWM")
    return {
        "case": kind,
        "body_mb": megabytes,
        "peak_rss_before_mb": round(before / 1024, 1),
        "peak_rss_after_mb": round(after / 1024, 1),
        "growth_mb": round((after - before) / 1024, 1),
        "seconds": round(elapsed, 2),
        "outcome": outcome[:160],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="body size in MiB")
    parser.add_argument("--case", choices=["llm", "stt"], help="run one case in this process")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(trio.run(_case, args.case, args.mb)))
        return
    for case in ("llm", "stt"):
        command = [sys.executable, __file__, "--case", case, "--mb", str(args.mb)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
