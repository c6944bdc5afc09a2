"""Fallback groups: switch provider on failure, probe and recover in the background.

``async with open_fallback_llm([primary, backup]) as llm:`` gives an
:class:`~trioagents.core.LLM` (likewise :func:`open_fallback_tts`,
:func:`open_fallback_streaming_tts`, :func:`open_fallback_stt`). Each call starts
on the *current* member: the first member marked available. When a member fails with a
:class:`~trioagents.core.ProviderError`:

* a :class:`~trioagents.core.ContentFilterError` is re-raised as is: the content,
  not the provider, was refused, and another provider would only repeat or hide
  it (livekit/agents #1282). The session's error handler decides (it may still
  call :meth:`FallbackLLM.fail_over` explicitly);
* otherwise the member is marked unavailable and a probe task starts in the
  group's nursery; if nothing reached the consumer yet, the call moves on to the
  next member; if tokens or audio were delivered the error is re-raised (the user
  heard part of a reply) with ``failed_over`` set to the label of the member the
  group switched to, and the *next* call starts there. The voice pipeline reads
  ``failed_over`` to continue the turn on that member (``SessionOptions.mid_stream_failover``)
  and does not count the error as unrecoverable. That is how a read timeout
  mid-stream (livekit/agents #2897) no longer ends sessions;
* when every member failed in one call, a :class:`ProviderError` "all providers
  failed" is raised ``from`` the last error, keeping its ``retryable`` bit. Members
  already marked unavailable are still tried (after the available ones) before
  giving up, so the session stays alive while any provider lives.

The probe calls the member every ``probe_interval`` seconds (growing by
``probe_backoff`` to ``max_probe_interval``), each attempt bounded by
``probe_timeout``; on success the member is available again and, being earlier in
the list, current again. A probe proves a *whole* short request (the default
probes read a completion or a synthesis to its end), so a member that fails
mid-stream does not pass it by answering the first event. A member that keeps
failing stays demoted longer each time: its *n*-th demotion waits
``probe_interval × probe_backoff^(n-1)`` (at most ``max_probe_interval``) before
the first probe, and the count is forgiven after ``forgive_after`` whole calls in a
row succeeded on it. Probes are the group's own background work: they live in the
nursery of the ``open_fallback_*`` block and stop with it.

Unlike agents-js #2399, a member's error is forwarded with its own class and
``retryable`` bit, never upgraded to "unrecoverable".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import trio

from ..core import ConfigurationError, ContentFilterError, ProviderError

__all__ = ["FallbackOptions", "FallbackStatistics", "MemberGroup"]

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class FallbackOptions:
    probe_interval: float = 5.0
    probe_backoff: float = 2.0
    max_probe_interval: float = 60.0
    probe_timeout: float = 10.0
    forgive_after: int = 3

    def __post_init__(self) -> None:
        if self.probe_interval <= 0 or self.probe_timeout <= 0 or self.probe_backoff < 1:
            raise ConfigurationError(
                "FallbackOptions: probe_interval and probe_timeout must be > 0, probe_backoff >= 1"
            )
        if self.forgive_after < 1:
            raise ConfigurationError("FallbackOptions: forgive_after must be >= 1")


@dataclass(frozen=True, slots=True)
class FallbackStatistics:
    """``available[i]`` is member i's state; ``current`` the member calls start on;
    ``demotions[i]`` how often member i was demoted since last forgiven."""

    current: int
    available: tuple[bool, ...]
    failovers: int
    recoveries: int
    demotions: tuple[int, ...] = ()


class MemberGroup(Generic[P]):
    """Availability of the members of one group and their probe tasks."""

    def __init__(
        self,
        members: Sequence[P],
        nursery: trio.Nursery,
        probe: Callable[[P], Awaitable[None]],
        options: FallbackOptions,
        label: str,
    ) -> None:
        if not members:
            raise ConfigurationError("a fallback group needs at least one member")
        if len({id(m) for m in members}) != len(members):
            raise ConfigurationError("a fallback group's members must be distinct objects")
        self.members = tuple(members)
        self.label = label
        self._available = [True] * len(members)
        self._probing = [False] * len(members)
        self._demotions = [0] * len(members)
        self._clean_calls = [0] * len(members)
        self._nursery = nursery
        self._probe = probe
        self._options = options
        self._failovers = 0
        self._recoveries = 0

    def current_index(self) -> int:
        return next((i for i, ok in enumerate(self._available) if ok), 0)

    def statistics(self) -> FallbackStatistics:
        return FallbackStatistics(
            self.current_index(),
            tuple(self._available),
            self._failovers,
            self._recoveries,
            tuple(self._demotions),
        )

    def label_of(self, index: int) -> str:
        return str(getattr(self.members[index], "label", index))

    def takeover_after(self, index: int) -> str | None:
        """The label of the member that takes over from ``index``, or None if none is up."""
        others = [i for i, ok in enumerate(self._available) if ok and i != index]
        return self.label_of(others[0]) if others else None

    def mark_failed(self, index: int) -> None:
        """Mark member ``index`` unavailable and start probing it (once)."""
        if self._available[index]:
            self._failovers += 1
            self._demotions[index] += 1
        self._clean_calls[index] = 0
        self._available[index] = False
        if not self._probing[index]:
            self._probing[index] = True
            self._nursery.start_soon(self._probe_until_recovered, index)

    def fail_over(self) -> bool:
        """SupportsFailover: make the next available member current; False if none."""
        current = self.current_index()
        others = [i for i, ok in enumerate(self._available) if ok and i != current]
        if not others:
            return False
        self.mark_failed(current)
        return True

    def mark_succeeded(self, index: int) -> None:
        """A whole call succeeded on ``index``; enough in a row forgive its demotions."""
        self._clean_calls[index] += 1
        if self._clean_calls[index] >= self._options.forgive_after:
            self._demotions[index] = 0

    def order_from(self, start: int) -> list[int]:
        """Members to try in one call: available ones first (in list order), then the rest."""
        rest = [i for i in range(len(self.members)) if i != start]
        return (
            [start]
            + [i for i in rest if self._available[i]]
            + [i for i in rest if not self._available[i]]
        )

    async def _probe_until_recovered(self, index: int) -> None:
        options = self._options
        growth = options.probe_backoff ** max(0, self._demotions[index] - 1)
        interval = min(options.max_probe_interval, options.probe_interval * growth)
        try:
            while True:
                await trio.sleep(interval)
                with trio.move_on_after(self._options.probe_timeout):
                    try:
                        await self._probe(self.members[index])
                    except ProviderError:
                        pass
                    else:
                        self._available[index] = True
                        self._recoveries += 1
                        return
                interval = min(
                    self._options.max_probe_interval, interval * self._options.probe_backoff
                )
        finally:
            self._probing[index] = False


class FallbackRecovery(Generic[P]):
    """Recovery for one call of a fallback group (see module docs)."""

    def __init__(self, group: MemberGroup[P]) -> None:
        self._group = group
        self._order = group.order_from(group.current_index())
        self._position = 0

    def _index_of(self, provider: P) -> int:
        return next(i for i, m in enumerate(self._group.members) if m is provider)

    def first(self) -> P:
        return self._group.members[self._order[0]]

    async def next_after(self, failed: P, error: ProviderError, *, delivered: bool) -> P:
        await trio.lowlevel.checkpoint()
        if isinstance(error, ContentFilterError):
            raise error
        index = self._index_of(failed)
        self._group.mark_failed(index)
        if delivered:
            error.failed_over = self._group.takeover_after(index)
            raise error
        self._position += 1
        if self._position >= len(self._order):
            raise ProviderError(
                f"{self._group.label}: all {len(self._order)} providers failed",
                provider=self._group.label,
                retryable=error.retryable,
                status=error.status,
                body=error.body,
            ) from error
        return self._group.members[self._order[self._position]]

    def succeeded(self, provider: P) -> None:
        index = self._index_of(provider)
        self._group.mark_succeeded(index)
        self._order = self._group.order_from(index)
        self._position = 0

    def preferred(self, current: P) -> P | None:
        best = self._group.current_index()
        if best < self._index_of(current):
            self._order = self._group.order_from(best)
            self._position = 0
            return self._group.members[best]
        return None
