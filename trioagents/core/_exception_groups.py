"""Turning a nursery's exception group back into one clear error at an API boundary.

A public context manager that hides internal tasks should raise *the* error that
ended it, not an ``ExceptionGroup`` of one (house style, section 5). The rule used
everywhere: if the group holds exactly one leaf that is not ``trio.Cancelled``,
raise that leaf (its traceback and ``__cause__`` intact); otherwise re-raise the
group unchanged, so several concurrent failures are never hidden and cancellation
is never swallowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trio

__all__ = ["collapse_single_error", "exception_leaves", "is_cancellation"]


def exception_leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """Every non-group exception in ``group``, depth first."""
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(exception_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


@contextmanager
def collapse_single_error() -> Iterator[None]:
    """Re-raise the sole non-``Cancelled`` leaf of an exception group as itself."""
    try:
        yield
    except BaseExceptionGroup as group:
        real = [leaf for leaf in exception_leaves(group) if not isinstance(leaf, trio.Cancelled)]
        if len(real) != 1:
            raise
        raise real[0] from real[0].__cause__


def is_cancellation(exc: BaseException) -> bool:
    """True for ``trio.Cancelled`` and for a group made only of ``Cancelled`` leaves
    (what a nursery raises when its scope is cancelled from outside)."""
    if isinstance(exc, BaseExceptionGroup):
        leaves = exception_leaves(exc)
        return bool(leaves) and all(isinstance(leaf, trio.Cancelled) for leaf in leaves)
    return isinstance(exc, trio.Cancelled)
