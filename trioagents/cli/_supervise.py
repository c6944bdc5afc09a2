"""``trioagents supervise``: run the re-dispatch supervisor as its own process.

A self-hosted LiveKit server does not re-dispatch a job whose worker died; this
command polls the server (RoomService) and gives each watched room its agent back
(AgentDispatchService), see ``docs/persistence.md``. Which rooms are watched:

* ``--journal SPEC`` (``sqlite:PATH`` or ``redis://...``): rooms where a remaining
  participant has a journal for ``--agent-name`` (the new job resumes from it);
* ``--marker KEY``: rooms whose metadata is a JSON object with a truthy ``KEY``.

With ``--journal``, several instances for one agent name share a lease in that
store: one is active, the others stand by and take over within three poll
intervals when it stops (``--marker`` has no store: run exactly one). Every
decision is logged (``--log-level``, JSON lines with
``--json-logs``); Ctrl-C or SIGTERM stops it. Exit status 2: bad arguments or
configuration; 1: the supervisor stopped on an error.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack

import trio

from ..core import ConfigurationError, collapse_single_error
from ..persistence import (
    LeaseStore,
    RedisJournalStore,
    RedispatchCreated,
    RedispatchFailed,
    RoomWatch,
    SqliteJournalStore,
    SupervisorEvent,
    SupervisorLeaseChanged,
    SupervisorOptions,
    SupervisorPollFailed,
    open_journal_store,
    serve_redispatch_supervisor,
    watch_journaled_rooms,
    watch_marked_rooms,
)
from ..transport import LiveKitAPI, open_livekit_api
from ._logging import configure_logging

__all__ = ["build_parser", "main", "supervise"]

log = logging.getLogger("trioagents.supervisor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trioagents supervise",
        description="Re-dispatch agents whose worker died (self-hosted LiveKit).",
    )
    env = os.environ.get
    parser.add_argument("--url", default=env("LIVEKIT_URL"), help="server URL (LIVEKIT_URL)")
    parser.add_argument("--api-key", default=env("LIVEKIT_API_KEY"), help="(LIVEKIT_API_KEY)")
    parser.add_argument(
        "--api-secret", default=env("LIVEKIT_API_SECRET"), help="(LIVEKIT_API_SECRET)"
    )
    parser.add_argument(
        "--agent-name",
        default=env("LIVEKIT_AGENT_NAME"),
        help="the agent to re-dispatch (LIVEKIT_AGENT_NAME)",
    )
    watch = parser.add_mutually_exclusive_group(required=True)
    watch.add_argument("--journal", help="watch journaled rooms: sqlite:PATH or redis://...")
    watch.add_argument("--marker", help="watch rooms whose JSON metadata has this key set")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds")
    parser.add_argument("--grace-period", type=float, default=15.0, help="seconds")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--json-logs", action="store_true")
    return parser


def main(argv: Sequence[str]) -> int:
    """``trioagents supervise ...``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    required = ("url", "api_key", "api_secret", "agent_name")
    missing = [flag for flag in required if not getattr(args, flag)]
    if missing:
        names = ", ".join("--" + flag.replace("_", "-") for flag in missing)
        parser.error(f"missing {names} (or the LIVEKIT_* environment variables)")
    configure_logging(args.log_level, json_lines=args.json_logs)
    try:
        with collapse_single_error():  # a bad spec surfaces through two nurseries
            trio.run(_until_signalled, args)
    except ConfigurationError as exc:
        print(f"trioagents supervise: {exc}", file=sys.stderr)
        return 2
    return 0


async def _until_signalled(args: argparse.Namespace) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
        await supervise(args)
        nursery.cancel_scope.cancel()


async def _stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("stopping on signal", extra={"signal": signal.Signals(signum).name})
            scope.cancel()
            return


async def supervise(
    args: argparse.Namespace, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run the supervisor ``args`` describe until cancelled; started after the first poll."""
    options = SupervisorOptions(poll_interval=args.poll_interval, grace_period=args.grace_period)
    async with AsyncExitStack() as stack:
        watch: RoomWatch
        lease: LeaseStore | None = None
        if args.journal:
            store = await stack.enter_async_context(open_journal_store(args.journal))
            watch = watch_journaled_rooms(store, args.agent_name)
            if isinstance(store, SqliteJournalStore | RedisJournalStore):
                lease = store
        else:
            watch = watch_marked_rooms(args.marker)
        api = await stack.enter_async_context(
            open_livekit_api(args.url, args.api_key, args.api_secret)
        )
        send, events = trio.open_memory_channel[SupervisorEvent](16)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_log_events, events)
            await nursery.start(_serve, api, args.agent_name, watch, options, send, lease)
            log.info(
                "supervising",
                extra={"agent_name": args.agent_name, "poll_interval": args.poll_interval},
            )
            task_status.started()


async def _serve(
    api: LiveKitAPI,
    agent_name: str,
    watch: RoomWatch,
    options: SupervisorOptions,
    send: trio.MemorySendChannel[SupervisorEvent],
    lease: LeaseStore | None,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    async with send:
        await serve_redispatch_supervisor(
            api,
            agent_name,
            watch=watch,
            options=options,
            events=send,
            lease=lease,
            task_status=task_status,
        )


async def _log_events(events: trio.MemoryReceiveChannel[SupervisorEvent]) -> None:
    async for event in events:
        if isinstance(event, RedispatchCreated):
            log.info(
                "re-dispatched",
                extra={
                    "room": event.room,
                    "agent_name": event.agent_name,
                    "dispatch_id": event.dispatch_id,
                    "absent_for": round(event.absent_for, 3),
                    "recovered": event.recovered,
                },
            )
        elif isinstance(event, RedispatchFailed):
            log.warning(
                "re-dispatch failed",
                extra={
                    "room": event.room,
                    "error": type(event.error).__name__,
                    "retry_in": event.retry_in,
                },
            )
        elif isinstance(event, SupervisorLeaseChanged):
            state = "active" if event.active else "standing by (another supervisor is active)"
            log.info(state, extra={"holder": event.holder})
        elif isinstance(event, SupervisorPollFailed):
            log.warning(
                "poll failed", extra={"room": event.room, "error": type(event.error).__name__}
            )
