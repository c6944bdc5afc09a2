"""Running ``dev`` and ``start``: options from flags and environment, then Trio."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import trio

from ..core import ConfigurationError, TrioAgentsError
from ..worker import ProcessPoolOptions, WorkerOptions, open_process_pool, serve_worker
from ._logging import configure_logging

__all__ = ["run_worker_command", "worker_options"]

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
    args: argparse.Namespace, options: WorkerOptions, load: Callable[[str], Any]
) -> None:
    entrypoint = load(args.entrypoint)
    request_fnc = load(args.request) if args.request else None
    prewarm_fnc = load(args.prewarm) if args.prewarm else None
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


def run_worker_command(args: argparse.Namespace, *, dev: bool, load: Callable[[str], Any]) -> int:
    configure_logging(args.log_level, json_lines=not dev)
    try:
        options = worker_options(args, dev=dev)
        logger.info("starting worker", extra={"url": options.url, "agent_name": options.agent_name})
        trio.run(_serve, args, options, load)
    except ConfigurationError as exc:
        print(f"trioagents: {exc}", file=sys.stderr)
        return 2
    except TrioAgentsError as exc:
        logger.error("worker stopped", extra={"error": type(exc).__name__, "detail": str(exc)})
        return 1
    return 0  # Ctrl-C: serve_worker drains and returns (before it runs: see _main.main)
