"""Connection failures out of a nursery's exception group (see core.collapse_single_error)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..core import ProtocolError, TransportError, exception_leaves

__all__ = ["connection_errors"]


@asynccontextmanager
async def connection_errors() -> AsyncIterator[None]:
    """A group made only of transport/protocol errors is the connection failing once."""
    try:
        yield
    except BaseExceptionGroup as group:
        found = exception_leaves(group)
        if all(isinstance(exc, TransportError | ProtocolError) for exc in found):
            raise found[0] from group
        raise
