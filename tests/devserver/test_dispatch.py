"""Load-weighted worker choice."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st
from livekit.protocol import agent

from trioagents.devserver._dispatch import WorkerProfile, choose_worker, worker_matches


def profile(worker_id: str, load: float, available: bool = True, name: str = "") -> WorkerProfile:
    return WorkerProfile(worker_id, name, "", agent.JT_ROOM, load, available)


def test_no_available_worker_gives_none() -> None:
    assert choose_worker([], random.Random(0)) is None
    assert choose_worker([profile("a", 0.0, available=False)], random.Random(0)) is None


def test_full_worker_is_never_chosen_over_an_idle_one() -> None:
    rng = random.Random(1)
    picks = {
        choose_worker([profile("full", 1.0), profile("idle", 0.0)], rng).worker_id
        for _ in range(200)
    }  # type: ignore[union-attr]
    assert picks == {"idle"}


def test_choice_is_weighted_by_one_minus_load() -> None:
    rng = random.Random(2)
    workers = [profile("light", 0.1), profile("heavy", 0.7)]
    counts = Counter(choose_worker(workers, rng).worker_id for _ in range(4000))  # type: ignore[union-attr]
    ratio = counts["light"] / counts["heavy"]
    assert 2.4 < ratio < 3.6  # expected 0.9 / 0.3 = 3


def test_all_saturated_falls_back_to_uniform() -> None:
    rng = random.Random(3)
    workers = [profile("a", 1.0), profile("b", 1.5)]
    picks = Counter(choose_worker(workers, rng).worker_id for _ in range(400))  # type: ignore[union-attr]
    assert set(picks) == {"a", "b"}


def test_matching_is_by_agent_name_and_job_type() -> None:
    named = profile("a", 0, name="helper")
    assert worker_matches(named, "helper", agent.JT_ROOM)
    assert not worker_matches(named, "", agent.JT_ROOM)
    assert not worker_matches(named, "helper", agent.JT_PUBLISHER)


@given(
    st.lists(st.tuples(st.floats(-1, 2, allow_nan=False), st.booleans()), max_size=8),
    st.integers(0, 2**32),
)
def test_choice_is_always_an_available_candidate(
    loads: list[tuple[float, bool]], seed: int
) -> None:
    workers = [profile(str(i), load, ok) for i, (load, ok) in enumerate(loads)]
    chosen = choose_worker(workers, random.Random(seed))
    if any(ok for _, ok in loads):
        assert chosen is not None and chosen.available and chosen in workers
    else:
        assert chosen is None
