"""Which worker gets a job: the load-weighted choice, sans-I/O.

livekit-server picks among the eligible AVAILABLE workers at random, weighted by
``1 - load`` (clamped at 0), skipping workers already tried for the job. One
deliberate difference: when *every* candidate has weight 0 the choice is uniform
instead of "no worker", because the workers answer the availability request
themselves and may still accept.

The random source is injected so tests can make the choice deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from livekit.protocol import agent

__all__ = ["WorkerProfile", "choose_worker", "worker_matches"]


@dataclass(frozen=True, slots=True)
class WorkerProfile:
    """What the dispatcher needs to know about one registered worker."""

    worker_id: str
    agent_name: str
    namespace: str
    job_type: agent.JobType
    load: float
    available: bool


def worker_matches(profile: WorkerProfile, agent_name: str, job_type: agent.JobType) -> bool:
    return profile.agent_name == agent_name and profile.job_type == job_type


def choose_worker(candidates: Sequence[WorkerProfile], rng: random.Random) -> WorkerProfile | None:
    """Pick one available candidate, weighted by ``1 - load``; None if none is available."""
    available = [c for c in candidates if c.available]
    if not available:
        return None
    weights = [max(0.0, 1.0 - c.load) for c in available]
    if sum(weights) <= 0.0:
        return rng.choice(available)
    return rng.choices(available, weights=weights, k=1)[0]
