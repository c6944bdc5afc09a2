"""paced_gc: no full collection but the pacer's inside the block, state restored after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import trio

from trioagents.core import ConfigurationError
from trioagents.worker import GCPacing, paced_gc


class FullCollections:
    """Counts the collector's full collections while entered."""

    def __init__(self) -> None:
        self.count = 0

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.count += 1

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._note)


@pytest.fixture
def collector_state() -> Iterator[None]:
    """Each test leaves the collector as it found it."""
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*thresholds)
    gc.enable() if enabled else gc.disable()


def churn(batch: int = 20_000) -> None:
    """What voice turns do to the collector: a batch of containers lives long enough
    to be promoted to the oldest generation, then dies, again and again. CPython
    collects in full once the promoted exceed a quarter of the oldest generation:
    twice the process's tracked objects is enough."""
    for _ in range(2 * len(gc.get_objects()) // batch + 5):
        alive = [[index] for index in range(batch)]
        del alive


@pytest.mark.usefixtures("collector_state")
async def test_no_full_collection_but_the_pacers_inside_the_block() -> None:
    with FullCollections() as outside:
        churn()
    assert outside.count >= 1  # the control: CPython collects on its own

    async with paced_gc(GCPacing(full_interval=3600, freeze=False)) as paced:
        with FullCollections() as inside:
            churn()
            await trio.lowlevel.checkpoint()
    assert inside.count == 0
    assert paced.full_collections == 0


@pytest.mark.usefixtures("collector_state")
async def test_the_pacer_collects_once_per_interval(autojump_clock: trio.abc.Clock) -> None:
    with FullCollections() as full:
        async with paced_gc(GCPacing(full_interval=10.0, freeze=False)) as paced:
            await trio.sleep(35.0)
    assert paced.full_collections == 3
    assert full.count == 3
    assert paced.max_pause > 0


@pytest.mark.usefixtures("collector_state")
async def test_freeze_and_thresholds_are_restored_at_exit() -> None:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    async with paced_gc() as paced:
        assert gc.get_threshold()[:2] == thresholds[:2]
        assert gc.get_threshold()[2] > 1_000_000
        assert gc.get_freeze_count() > frozen
        assert paced.frozen_at_entry > 0
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == frozen


@pytest.mark.usefixtures("collector_state")
async def test_state_is_restored_when_the_body_raises() -> None:
    thresholds = gc.get_threshold()
    with pytest.raises(ValueError, match="body"):
        async with paced_gc(GCPacing(freeze=False)):
            raise ValueError("body")
    assert gc.get_threshold() == thresholds
    async with paced_gc(GCPacing(freeze=False)):  # and the process can pace again
        pass


@pytest.mark.usefixtures("collector_state")
async def test_one_block_per_process() -> None:
    async with paced_gc(GCPacing(freeze=False)):
        with pytest.raises(ConfigurationError, match="already active"):
            async with paced_gc(GCPacing(freeze=False)):
                pass
        assert gc.get_threshold()[2] > 1_000_000  # the first block still paces


@pytest.mark.usefixtures("collector_state")
async def test_a_disabled_collector_is_left_alone(autojump_clock: trio.abc.Clock) -> None:
    gc.disable()
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    with FullCollections() as full:
        async with paced_gc(GCPacing(full_interval=1.0)) as paced:
            await trio.sleep(5.0)
            assert gc.get_threshold() == thresholds
            assert gc.get_freeze_count() == frozen
    assert not gc.isenabled()
    assert full.count == 0
    assert paced.full_collections == 0


def test_an_interval_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        GCPacing(full_interval=0)


class _Node:
    def __init__(self) -> None:
        self.peer: _Node | None = None


@pytest.mark.usefixtures("collector_state")
async def test_cyclic_garbage_is_freed_by_the_next_paced_collection(
    autojump_clock: trio.abc.Clock,
) -> None:
    import weakref

    async with paced_gc(GCPacing(full_interval=30.0, freeze=False)):
        await trio.sleep(1.0)
        first, second = _Node(), _Node()
        first.peer, second.peer = second, first  # a cycle: reference counting cannot free it
        gc.collect(0)
        gc.collect(1)  # promoted to the oldest generation, which only the pacer collects
        garbage = weakref.ref(first)
        del first, second
        churn()
        assert garbage() is not None  # no full collection of CPython's own
        await trio.sleep(30.0)
        assert garbage() is None  # the pacer's, at 30 s
