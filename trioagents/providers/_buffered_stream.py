"""The iterator half the websocket streams share (the STTs, the ElevenLabs/Cartesia TTS).

A :class:`BufferedStream` yields what its ``_read_one`` puts in ``_ready``, one
item per ``__anext__`` (a checkpoint each), until ``_finished``; a
:class:`~trioagents.core.ProviderError` raised by ``_read_one`` is kept and raised
again on every later call. ``_stall_deadline`` is the moment the server has been
silent for ``idle_timeout`` since ``_awaiting_since`` (the first unanswered send,
or the last message while an answer is owed; None: nothing is owed).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Generic, TypeVar

import trio

from ..core import ProviderError

__all__ = ["BufferedStream"]

T = TypeVar("T")


class BufferedStream(Generic[T]):
    """Subclasses read the socket in ``_read_one`` and append to ``_ready``."""

    def __init__(self, idle_timeout: float | None) -> None:
        self._ready: deque[T] = deque()
        self._finished = False
        self._error: ProviderError | None = None
        self._awaiting_since: float | None = None
        self._idle_timeout = idle_timeout

    def __aiter__(self) -> BufferedStream[T]:
        return self

    async def __anext__(self) -> T:
        """The next item (a checkpoint); raises ProviderError, again on every call
        once the stream failed."""
        while not self._ready:
            if self._finished:
                raise StopAsyncIteration
            if self._error is not None:
                raise self._error
            try:
                await self._read_one()
            except ProviderError as exc:
                self._error = exc
                raise
        await trio.lowlevel.checkpoint()
        return self._ready.popleft()

    async def _read_one(self) -> None:
        raise NotImplementedError

    def _stall_deadline(self) -> float:
        if self._idle_timeout is None or self._awaiting_since is None:
            return math.inf
        return self._awaiting_since + self._idle_timeout
