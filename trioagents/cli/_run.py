"""Running ``dev`` and ``start``: options from flags and environment, then Trio.

Before the worker starts, one TCP connection to the server's host and port is
tried: a server that is not there is reported once, with its URL and, for
``dev``, the hint to run ``trioagents devserver`` (the worker then retries with
back-off as usual, so starting the server afterwards is enough).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import math
import os
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import trio

from ..core import ConfigurationError, TrioAgentsError
from ..worker import (
    GCPacing,
    ProcessPoolOptions,
    WorkerOptions,
    open_process_pool,
    paced_gc,
    serve_worker,
)
from ._logging import configure_logging

__all__ = ["run_worker_command", "warn_if_unreachable", "worker_options"]

logger = logging.getLogger("trioagents.cli")

DEV_URL, DEV_KEY, DEV_SECRET = "ws://127.0.0.1:7880", "devkey", "secret"


def worker_options(args: argparse.Namespace, *, dev: bool) -> WorkerOptions:
    """Flags win over environment; ``start`` refuses to guess a server or keys."""
    env = os.environ
    url = args.url or env.get("LIVEKIT_URL") or (DEV_URL if dev else None)
    key = args.api_key or env.get("LIVEKIT_API_KEY") or (DEV_KEY if dev else None)
    secret = args.api_secret or env.get("LIVEKIT_API_SECRET") or (DEV_SECRET if dev else None)
    if url is None or key is None or secret is None:
        raise ConfigurationError(
            "start needs --url/--api-key/--api-secret or LIVEKIT_URL, LIVEKIT_API_KEY, "
            "LIVEKIT_API_SECRET"
        )
    options = WorkerOptions(
        url=url,
        api_key=key,
        api_secret=secret,
        agent_name=args.agent_name,
        health_port=args.health_port,
        health_host=args.health_host,
        drain_timeout=0.001 if dev else args.drain_timeout,
    )
    if dev:
        options = dataclasses.replace(options, load_threshold=math.inf)
    if args.max_jobs is not None:
        options = dataclasses.replace(options, max_concurrent_jobs=args.max_jobs)
    return options


async def _serve(
    args: argparse.Namespace,
    options: WorkerOptions,
    load: Callable[[str], Any],
    dev: bool,
    pacing: GCPacing | None,
) -> None:
    entrypoint = load(args.entrypoint)
    await warn_if_unreachable(options.url, dev=dev)
    request_fnc = load(args.request) if args.request else None
    prewarm_fnc = load(args.prewarm) if args.prewarm else None
    async with contextlib.AsyncExitStack() as stack:
        if pacing is not None:  # this process is ours: its jobs share one heap
            await stack.enter_async_context(paced_gc(pacing))
        await _serve_jobs(args, options, entrypoint, request_fnc, prewarm_fnc)


async def _serve_jobs(
    args: argparse.Namespace,
    options: WorkerOptions,
    entrypoint: Any,
    request_fnc: Any,
    prewarm_fnc: Any,
) -> None:
    if not args.process_pool:
        await serve_worker(options, entrypoint, request_fnc=request_fnc, prewarm_fnc=prewarm_fnc)
        return
    pool_options = ProcessPoolOptions(
        entrypoint=args.entrypoint,
        prewarm=args.prewarm,
        num_idle_processes=args.num_idle_processes,
        memory_limit_mb=args.memory_limit_mb,
        shutdown_grace=options.shutdown_grace,
    )
    async with open_process_pool(pool_options) as pool:
        await serve_worker(options, entrypoint, request_fnc=request_fnc, executor=pool)


async def warn_if_unreachable(url: str, *, dev: bool) -> bool:
    """Try a TCP connection to the server (3 s); on failure log which URL and how to
    get a server, once, and return False. The worker then keeps retrying."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme in ("wss", "https") else 80)
    try:
        with trio.fail_after(3):
            stream = await trio.open_tcp_stream(parts.hostname or "127.0.0.1", port)
        await stream.aclose()
    except (OSError, trio.TooSlowError) as exc:
        hint = (
            "start a local one with `trioagents devserver`, or pass --url / set LIVEKIT_URL"
            if dev
            else "check --url / LIVEKIT_URL (for a local server: `trioagents devserver`)"
        )
        logger.warning(
            f"cannot reach the LiveKit server at {url} ({type(exc).__name__}): {hint}; retrying"
        )
        return False
    return True


def run_worker_command(args: argparse.Namespace, *, dev: bool, load: Callable[[str], Any]) -> int:
    level = args.log_level or ("DEBUG" if dev else "INFO")
    library_debug = args.log_level is not None and args.log_level.upper() == "DEBUG"
    configure_logging(level, json_lines=not dev, library_debug=library_debug)
    try:
        options = worker_options(args, dev=dev)
        logger.info("starting worker", extra={"url": options.url, "agent_name": options.agent_name})
        pacing = GCPacing(full_interval=args.gc_interval) if args.gc == "paced" else None
        trio.run(_serve, args, options, load, dev, pacing)
    except ConfigurationError as exc:
        print(f"trioagents: {exc}", file=sys.stderr)
        return 2
    except TrioAgentsError as exc:
        logger.error("worker stopped", extra={"error": type(exc).__name__, "detail": str(exc)})
        return 1
    return 0  # Ctrl-C: serve_worker drains and returns (before it runs: see _main.main)
