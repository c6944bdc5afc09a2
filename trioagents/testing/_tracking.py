"""Open/closed bookkeeping shared by the fakes, for "every stream was closed" checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import trio

__all__ = ["StreamRecord", "StreamTracker"]


@dataclass(slots=True)
class StreamRecord:
    """One provider stream: when it opened and closed (Trio time), what it was asked."""

    opened_at: float
    request: str = ""
    closed_at: float | None = None
    first_output_at: float | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(slots=True)
class StreamTracker:
    records: list[StreamRecord] = field(default_factory=list)

    @property
    def opened(self) -> int:
        return len(self.records)

    @property
    def open_now(self) -> int:
        return sum(1 for r in self.records if not r.closed)

    def all_closed(self) -> bool:
        return all(r.closed for r in self.records)

    @contextmanager
    def track(self, request: str = "") -> Iterator[StreamRecord]:
        record = StreamRecord(opened_at=trio.current_time(), request=request)
        self.records.append(record)
        try:
            yield record
        finally:
            record.closed_at = trio.current_time()
