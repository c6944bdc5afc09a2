"""``trioagents``: argparse front end.

* ``dev ENTRY`` — worker against a local server (``ws://127.0.0.1:7880``, LiveKit's
  dev key ``devkey``/``secret``), readable DEBUG logs, no load threshold, a random
  health port, no drain: Ctrl-C gives jobs their shutdown grace and exits. Reloads
  (a supervisor restarts the worker process) when a file of the entrypoint's
  directory changes, unless ``--no-reload`` (``_reload.py``).
* ``start ENTRY`` — production worker: URL and keys from flags or
  ``LIVEKIT_URL``/``LIVEKIT_API_KEY``/``LIVEKIT_API_SECRET``, JSON logs, health on
  8081, SIGTERM/SIGINT drain for ``--drain-timeout``. ``--process-pool`` runs
  each job in a supervised child process.
* ``console``, ``devserver``, ``demo``, ``trace``, ``supervise``,
  ``fetch-turn-model`` — delegate to the voice text runner, the dev server, the
  demo, the timeline viewer, the re-dispatch supervisor and the Smart Turn model
  fetcher, imported only when asked for.

``ENTRY`` is ``module:function`` (e.g. ``examples.echo:entrypoint``); the current
directory is put on ``sys.path`` first, like ``python -m`` does.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["build_parser", "main"]

EXIT_UNAVAILABLE = 3

# Seams filled by other parts of the project: (module, function taking argv -> int).
DELEGATES = {
    "devserver": ("trioagents.devserver", "main", "the dev server"),
    "console": ("trioagents.cli._console", "main", "console mode"),
    "demo": ("trioagents.cli._demo", "main", "the demo"),
    "trace": ("trioagents.observability", "trace_main", "the session timeline viewer"),
    "supervise": ("trioagents.cli._supervise", "main", "the re-dispatch supervisor"),
    "fetch-turn-model": ("trioagents.cli._fetch_model", "main", "the Smart Turn model fetcher"),
}


def _worker_arguments(parser: argparse.ArgumentParser, *, dev: bool) -> None:
    parser.add_argument("entrypoint", help="job entrypoint as module:function")
    parser.add_argument("--url", default=None, help="server URL (env LIVEKIT_URL)")
    parser.add_argument("--api-key", default=None, help="API key (env LIVEKIT_API_KEY)")
    parser.add_argument("--api-secret", default=None, help="API secret (env LIVEKIT_API_SECRET)")
    parser.add_argument("--agent-name", default=os.environ.get("LIVEKIT_AGENT_NAME", ""))
    parser.add_argument("--request", default=None, help="request function as module:function")
    parser.add_argument("--prewarm", default=None, help="prewarm function as module:function")
    parser.add_argument("--max-jobs", type=int, default=None, help="max concurrent jobs")
    parser.add_argument(
        "--log-level",
        default=None,
        help=f"default {'DEBUG' if dev else 'INFO'}; aiortc/aioice stay at WARNING unless DEBUG",
    )
    parser.add_argument("--health-port", type=int, default=0 if dev else 8081)
    parser.add_argument(
        "--health-host",
        default="127.0.0.1" if dev else "0.0.0.0",
        help="health/metrics address (start: all interfaces, for orchestrator probes)",
    )
    parser.add_argument("--drain-timeout", type=float, default=3600.0)
    parser.add_argument("--process-pool", action="store_true", help="one process per job")
    parser.add_argument("--num-idle-processes", type=int, default=0 if dev else 1)
    parser.add_argument("--memory-limit-mb", type=float, default=0.0)
    parser.add_argument(
        "--gc",
        choices=("paced", "cpython"),
        default="paced",
        help="paced: freeze the imports, one full collection per --gc-interval "
        "(docs/worker.md); cpython: the interpreter's own schedule",
    )
    parser.add_argument("--gc-interval", type=float, default=60.0, help="seconds")
    if dev:
        parser.add_argument(
            "--reload",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="restart the worker when a .py file of the entrypoint's directory changes",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trioagents", description="Realtime voice agents on Trio."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _worker_arguments(commands.add_parser("dev", help="run a worker for development"), dev=True)
    _worker_arguments(commands.add_parser("start", help="run a production worker"), dev=False)
    for name, text in (("console", "talk to an agent in the terminal (text mode, no server)"),
                       ("devserver", "run the embedded development server"),
                       ("demo", "run the end-to-end demo"),
                       ("trace", "render a decision log as an HTML timeline"),
                       ("supervise", "re-dispatch agents whose worker died"),
                       ("fetch-turn-model", "download the Smart Turn model")):  # fmt: skip
        sub = commands.add_parser(name, help=text)
        sub.add_argument("args", nargs=argparse.REMAINDER, help="passed to the subcommand")
    return parser


def _load(reference: str) -> Any:
    from ..worker import load_reference

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return load_reference(reference)


def _delegate(module: str, function: str, args: list[str], what: str) -> int:
    try:
        target: Callable[[list[str]], int | None] = getattr(
            importlib.import_module(module), function
        )
    except (ImportError, AttributeError):
        print(f"trioagents: {what} is not available in this build yet", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return int(target(args) or 0)


def _run_reloading(args: argparse.Namespace, argv: list[str]) -> int:
    from ._logging import configure_logging
    from ._reload import run_with_reload

    configure_logging(args.log_level or "INFO", json_lines=False)
    return run_with_reload([a for a in argv if a != "--reload"], args.entrypoint)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trioagents`` console script; returns the exit status.

    Ctrl-C anywhere (an import, start-up, a second Ctrl-C during cleanup) ends in
    one ``trioagents <command>: interrupted`` line and status 130, not a traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in DELEGATES:  # the delegate parses its own arguments
            module, function, what = DELEGATES[argv[0]]
            return _delegate(module, function, argv[1:], what)
        args = build_parser().parse_args(argv)
        from ._run import run_worker_command

        if args.command == "dev" and args.reload:
            return _run_reloading(args, argv)
        return run_worker_command(args, dev=args.command == "dev", load=_load)
    except BaseException as exc:
        from ._interrupt import interrupted_line, is_interrupt

        if not is_interrupt(exc):
            raise
        return interrupted_line(f"trioagents {argv[0] if argv else ''}".rstrip())
