"""Paced garbage collection for a process of many real-time sessions: :func:`paced_gc`.

Why. CPython's cyclic collector starts a *full* collection whenever the objects
promoted to its oldest generation since the last one exceed a quarter of that
generation. A voice worker promotes a lot that dies soon after: every turn's
buffered reply frames, tasks and cancel scopes live for seconds, long enough to
survive two young collections. At 200 sessions in one process that meant a full
collection every 2-4 s, each walking every tracked object of the process (~250 k:
the imports and every live session) and stopping every session for 40-120 ms --
the whole tail of the response-overhead figure (``docs/performance.md``,
*Sessions per process*).

Inside the ``async with paced_gc()`` block:

* what is alive at entry (imported modules, prewarmed models) is frozen
  (``gc.freeze``): full collections never walk it again;
* CPython's own full collections are off (the oldest generation's threshold is
  raised out of reach); young collections are unchanged (a few ms at 200
  sessions);
* the block's task runs one full collection every ``full_interval`` seconds of
  Trio's clock: the same pause, at a known and rare rate (p99 of the turns never
  meets one at the default minute; the pause itself is in :attr:`PacedGC.max_pause`).

The cost: cyclic garbage waits up to ``full_interval`` to be freed (the library
itself frees its turns without the collector; a finished session's objects wait
for the next collection), and a reference cycle among the objects frozen at entry
is never freed.

This is process-wide state, so it is never done at import time and only by the
owner of the process: ``trioagents start``/``dev`` do it (``--gc cpython`` opts
out), an application embedding the library decides for itself. One block at a
time per process. With the collector disabled at entry (``gc.disable()`` by the
application) the block changes nothing. At exit the thresholds are restored, and
the objects frozen at entry are unfrozen if nothing was frozen before.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from ..core import ConfigurationError, collapse_single_error

__all__ = ["GCPacing", "PacedGC", "paced_gc"]

logger = logging.getLogger("trioagents.worker")

_OUT_OF_REACH = 2**31 - 1  # gc thresholds are C ints
_active = False


@dataclass(frozen=True, slots=True)
class GCPacing:
    """``full_interval``: seconds between full collections (> 0); ``freeze``:
    freeze what is alive when the block opens."""

    full_interval: float = 60.0
    freeze: bool = True

    def __post_init__(self) -> None:
        if not self.full_interval > 0:
            raise ConfigurationError("GCPacing.full_interval must be positive")


class PacedGC:
    """What the block did: full collections run, their longest pause (seconds)."""

    def __init__(self) -> None:
        self.full_collections = 0
        self.max_pause = 0.0
        self.frozen_at_entry = 0

    def collect(self) -> None:
        """One full collection now (the pacer's, or the owner's at a quiet moment)."""
        # the pause is CPU time the whole process loses, not a scheduled wait: it is
        # measured on the wall clock (Trio's clock stands still under MockClock here)
        started = time.perf_counter()
        gc.collect()
        pause = time.perf_counter() - started
        self.max_pause = max(self.max_pause, pause)
        self.full_collections += 1
        logger.debug("full garbage collection", extra={"pause_ms": round(1000 * pause, 1)})


@asynccontextmanager
async def paced_gc(pacing: GCPacing | None = None) -> AsyncIterator[PacedGC]:
    """Full collections only from this block's task, every ``full_interval`` (module docs)."""
    global _active
    pacing = pacing or GCPacing()
    if _active:
        raise ConfigurationError("paced_gc is already active in this process")
    paced = PacedGC()
    if not gc.isenabled():  # the application owns the collector
        yield paced
        return
    _active = True
    thresholds, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    try:
        if pacing.freeze:
            gc.collect()
            gc.freeze()
            paced.frozen_at_entry = gc.get_freeze_count() - frozen_before
        gc.set_threshold(thresholds[0], thresholds[1], _OUT_OF_REACH)
        logger.info(
            "garbage collection paced",
            extra={"full_interval": pacing.full_interval, "frozen": paced.frozen_at_entry},
        )
        with collapse_single_error():  # the body's error as itself: the pacer never raises
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_collect_every, paced, pacing.full_interval)
                yield paced
                nursery.cancel_scope.cancel()
    finally:
        gc.set_threshold(*thresholds)
        if pacing.freeze and frozen_before == 0:
            gc.unfreeze()
        _active = False


async def _collect_every(paced: PacedGC, interval: float) -> None:
    while True:
        await trio.sleep(interval)
        paced.collect()
