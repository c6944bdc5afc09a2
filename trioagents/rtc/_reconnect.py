"""Reconnect policy: exponential backoff with a cap and an attempt budget (pure).

The room asks :meth:`ReconnectPolicy.delay` before each rejoin attempt; ``None``
means give up. Jitter is drawn from the ``random.Random`` passed in, so tests are
deterministic. Sleeping is the caller's business (``trio.sleep`` under the
room's scope), keeping this module free of I/O and clocks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..core import ConfigurationError

__all__ = ["ReconnectPolicy"]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """``max_attempts`` consecutive failures end the room (0 disables reconnect)."""

    max_attempts: int = 10
    initial_delay: float = 0.1
    max_delay: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 0 or self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ConfigurationError(
                "ReconnectPolicy needs max_attempts >= 0 and 0 <= initial_delay <= max_delay"
            )
        if self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise ConfigurationError("ReconnectPolicy needs multiplier >= 1 and jitter in [0, 1]")

    def delay(self, attempt: int, rng: random.Random) -> float | None:
        """Seconds to wait before attempt ``attempt`` (1-based), or None to give up."""
        if attempt > self.max_attempts:
            return None
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return base * (1 + self.jitter * (2 * rng.random() - 1))
