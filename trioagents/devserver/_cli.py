"""``trioagents devserver``: the local equivalent of ``livekit-server --dev``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

import trio

from ..core import ConfigurationError, exception_leaves
from ._options import DEV_API_KEY, DEV_API_SECRET, DevServerOptions
from ._server import DevServer, serve_devserver

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None) -> DevServerOptions:
    """Options from the command line; raises ``SystemExit`` on bad arguments."""
    parser = argparse.ArgumentParser(
        prog="trioagents devserver",
        description="Run an embedded LiveKit-compatible development server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7880, help="port (0 picks a free one)")
    parser.add_argument("--api-key", default=DEV_API_KEY)
    parser.add_argument("--api-secret", default=DEV_API_SECRET)
    parser.add_argument(
        "--ice-address",
        action="append",
        default=None,
        help="address for ICE host candidates (repeatable; default 127.0.0.1)",
    )
    args = parser.parse_args(argv)
    try:
        return DevServerOptions(
            host=args.host,
            port=args.port,
            api_keys={args.api_key: args.api_secret},
            ice_host_addresses=tuple(args.ice_address or ("127.0.0.1",)),
        )
    except ConfigurationError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


async def _run(options: DevServerOptions) -> None:
    """Serve until SIGINT/SIGTERM, which cancel the server (connections close)."""
    async with trio.open_nursery() as nursery:
        server: DevServer = await nursery.start(serve_devserver, options)
        print(
            f"trioagents devserver: {server.url}  "
            f"(LIVEKIT_API_KEY={server.api_key} LIVEKIT_API_SECRET={server.api_secret})",
            flush=True,
        )
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        print("trioagents devserver: stopped", file=sys.stderr, flush=True)
        nursery.cancel_scope.cancel()


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C before the signal receiver was up: a KeyboardInterrupt, maybe in a group."""
    if isinstance(exc, BaseExceptionGroup):
        real = [e for e in exception_leaves(exc) if not isinstance(e, trio.Cancelled)]
        return bool(real) and all(isinstance(e, KeyboardInterrupt) for e in real)
    return isinstance(exc, KeyboardInterrupt)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until Ctrl-C (or SIGTERM); returns the process exit status, 0.

    One line says it stopped; never a traceback for the interrupt.
    """
    options = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        trio.run(_run, options)
    except BaseException as exc:
        if not _interrupted(exc):
            raise
        print("trioagents devserver: stopped", file=sys.stderr, flush=True)
    return 0
