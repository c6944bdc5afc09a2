"""Async context managers that say how to use them when they are awaited instead.

LiveKit Agents users write ``await session.start(agent, room=...)``; here
``session.start`` is an async context manager (the block owns the session's
tasks), and awaiting the object ``contextlib.asynccontextmanager`` returns fails
with Python's bare ``TypeError: object _AsyncGeneratorContextManager can't be used
in 'await' expression``. :func:`async_with_only` wraps such a factory so that the
await raises :class:`AsyncWithRequiredError` naming the ``async with`` form.

Awaiting never starts the generator: nothing ran, nothing is left to clean up.
``__await__`` is defined for the interpreter only, so a type checker still reports
the await as an error in the user's code. No trio import (layer 0).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from ._errors import ConfigurationError

__all__ = ["AsyncWithOnly", "AsyncWithRequiredError", "async_with_only"]

P = ParamSpec("P")
T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")


class AsyncWithRequiredError(ConfigurationError, TypeError):
    """An async context manager was awaited; the message shows the ``async with`` form.

    A ``TypeError`` too, as Python's own error for this mistake is.
    """


class AsyncWithOnly(AbstractAsyncContextManager[T_co], Generic[T_co]):
    """An async context manager whose ``__await__`` explains the ``async with`` form."""

    __slots__ = ("_inner", "_usage")

    def __init__(self, inner: AbstractAsyncContextManager[T_co], usage: str) -> None:
        self._inner = inner
        self._usage = usage

    async def __aenter__(self) -> T_co:
        return await self._inner.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._inner.__aexit__(exc_type, exc, tb)

    if not TYPE_CHECKING:  # hidden from type checkers: they keep flagging the await

        def __await__(self) -> Generator[Any, None, Any]:
            raise AsyncWithRequiredError(
                f"this is an async context manager, not a coroutine: use `{self._usage}` "
                "(the block owns its tasks and closes them when it ends)"
            )


def async_with_only(
    usage: str,
) -> Callable[[Callable[P, AbstractAsyncContextManager[T]]], Callable[P, AsyncWithOnly[T]]]:
    """Decorate an async-context-manager factory; ``usage`` is the form to suggest.

    E.g. ``@async_with_only("async with session.start(agent) as session:")`` above
    ``@asynccontextmanager``.
    """

    def decorate(
        factory: Callable[P, AbstractAsyncContextManager[T]],
    ) -> Callable[P, AsyncWithOnly[T]]:
        @functools.wraps(factory)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncWithOnly[T]:
            return AsyncWithOnly(factory(*args, **kwargs), usage)

        return wrapper

    return decorate
