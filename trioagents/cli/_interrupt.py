"""Ctrl-C for the commands: one line on stderr and exit status 130, never a traceback.

:func:`run_until_interrupted` is ``trio.run`` with SIGINT turned into a
cancellation: a task holds ``trio.open_signal_receiver(SIGINT)`` and cancels the
run's root scope on the first signal, so every ``async with`` block unwinds the
way it does on any cancellation (shielded, bounded cleanups included) and no
``KeyboardInterrupt`` is raised into the middle of a task. That is what produced
the ``BaseExceptionGroup: Exceptions from Trio nursery`` tracebacks before: Trio
delivers ``KeyboardInterrupt`` to the main task, the nursery wraps it, and a plain
``except KeyboardInterrupt`` does not match a group.

Two windows remain where the signal is Trio's default ``KeyboardInterrupt``: before
the receiver task runs (start-up) and after it returned (a second Ctrl-C during
cleanup cuts the cleanup short, as users expect). :func:`is_interrupt` recognizes
the result -- a ``KeyboardInterrupt``, or a group whose leaves are only
``KeyboardInterrupt`` and ``trio.Cancelled`` -- so callers report it in one line. A
group holding any other error is a real failure and is re-raised.

Rejected alternative: ``signal.signal(SIGINT, ...)`` raising a custom exception (what
LiveKit's CLI does); in Trio that is the same asynchronous raise, only renamed.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..core import collapse_single_error, exception_leaves

__all__ = ["EXIT_INTERRUPTED", "interrupted_line", "is_interrupt", "run_until_interrupted"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def is_interrupt(exc: BaseException) -> bool:
    """True for Ctrl-C as Trio surfaces it (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    if not isinstance(exc, BaseExceptionGroup):
        return False
    leaves = exception_leaves(exc)
    real = [leaf for leaf in leaves if not isinstance(leaf, trio.Cancelled)]
    return bool(real) and all(isinstance(leaf, KeyboardInterrupt) for leaf in real)


def interrupted_line(what: str) -> int:
    """Print the one line for an interrupted command; returns the exit status."""
    print(f"{what}: interrupted", file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def run_until_interrupted(async_fn: Callable[..., Awaitable[Any]], *args: Any) -> bool:
    """``trio.run(async_fn, *args)``; True if Ctrl-C stopped it, False if it returned.

    Errors of ``async_fn`` propagate as they come out of it (the watcher task adds
    no group of its own), except the interrupt itself (see :func:`is_interrupt`).
    """
    interrupted = False

    async def watch(scope: trio.CancelScope) -> None:
        nonlocal interrupted
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                interrupted = True
                scope.cancel()
                return

    async def root() -> None:
        with collapse_single_error():  # the watcher is ours: its nursery adds no group
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch, nursery.cancel_scope)
                await async_fn(*args)
                nursery.cancel_scope.cancel()

    try:
        trio.run(root)
    except BaseException as exc:
        if is_interrupt(exc):
            return True
        raise
    return interrupted
