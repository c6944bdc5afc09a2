"""Turning nursery exception groups back into one clear error at API boundaries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..core import ProtocolError, TransportError

__all__ = ["connection_errors", "leaves", "single_error"]


def leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """Every non-group exception in ``group``, depth first."""
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


@asynccontextmanager
async def single_error() -> AsyncIterator[None]:
    """Raise a lone exception out of a nursery's group as itself; else the group."""
    try:
        yield
    except BaseExceptionGroup as group:
        found = leaves(group)
        if len(found) == 1:
            raise found[0]  # noqa: B904 - the group only wrapped it
        raise


@asynccontextmanager
async def connection_errors() -> AsyncIterator[None]:
    """A group made only of transport/protocol errors is the connection failing once."""
    try:
        yield
    except BaseExceptionGroup as group:
        found = leaves(group)
        if all(isinstance(exc, TransportError | ProtocolError) for exc in found):
            raise found[0] from group
        raise
