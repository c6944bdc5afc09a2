"""Job slots: capacity reserved on accept, so the limit can never be overshot.

A slot is taken *before* the availability answer is sent (``try_reserve``, no
checkpoint between the check and the reservation), turned into a running job by
the assignment (``confirm``) and given back when the job ends or the assignment
never comes (``release``). ``reserved + running`` therefore never exceeds
``limit``, however many availability requests arrive at once. LiveKit's worker
counts reservations only in its load estimate and can overshoot
``max_concurrent_jobs`` under a burst (livekit/agents#4884); here the count is the
gate.

No trio import: ``wait_empty`` is built by the owner from :meth:`is_empty`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JobSlots", "SlotCounts"]


@dataclass(frozen=True, slots=True)
class SlotCounts:
    reserved: int
    running: int
    limit: int

    @property
    def used(self) -> int:
        return self.reserved + self.running


class JobSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._reserved: set[str] = set()
        self._running: set[str] = set()

    def try_reserve(self, job_id: str) -> bool:
        if job_id in self._reserved or job_id in self._running:
            return False
        if len(self._reserved) + len(self._running) >= self.limit:
            return False
        self._reserved.add(job_id)
        return True

    def confirm(self, job_id: str) -> None:
        self._reserved.remove(job_id)
        self._running.add(job_id)

    def release(self, job_id: str) -> None:
        self._reserved.discard(job_id)
        self._running.discard(job_id)

    def counts(self) -> SlotCounts:
        return SlotCounts(len(self._reserved), len(self._running), self.limit)

    def running(self) -> list[str]:
        return sorted(self._running)

    def is_empty(self) -> bool:
        return not self._reserved and not self._running
