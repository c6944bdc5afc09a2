"""Streaming TTS over websockets: one vocabulary for every provider, and one
utterance's states.

The ElevenLabs and Cartesia cores (:mod:`._elevenlabs`, :mod:`._cartesia`) parse
their servers' messages into these events, so the client above them is written
once:

* :class:`TTSAudioReceived` -- a piece of the utterance's audio (PCM bytes, any
  length, odd ones included). ``alignment`` is set when the chunk carries its own
  alignment (ElevenLabs: the characters whose audio is in this chunk, their times
  relative to the chunk's first sample); ``None`` when alignment comes separately;
* :class:`TTSWordsTimed` -- word timestamps (Cartesia), in seconds from the
  utterance's first sample;
* :class:`TTSContextDone` -- the server has said everything for this utterance;
* :class:`TTSErrorReported` -- an error message (``status`` when the server gave
  one); :class:`TTSMessageIgnored` -- a message type this client does not use.

``context_id`` names the utterance the message belongs to (``None``: the
connection's only one, ElevenLabs' single-context ``stream-input``).

One utterance on the wire is a :class:`TTSContextMachine`; its transitions are the
table :data:`TTS_CONTEXT_TRANSITIONS`:

=========  =======  ===========  =========  ==========  ===========
state      open     text/flush   end        done        cancel
=========  =======  ===========  =========  ==========  ===========
NEW        OPEN     --           --         --          CANCELLED
OPEN       --       OPEN         ENDING     DONE        CANCELLED
ENDING     --       --           --         DONE        CANCELLED
DONE       --       --           --         --          --
CANCELLED  --       --           --         CANCELLED   --
=========  =======  ===========  =========  ==========  ===========

A ``--`` is a :class:`~trioagents.core.LocalProtocolError` for what we would send
and is reported by :meth:`TTSContextMachine.done` for what the server sent (a
``done`` while OPEN: the server ended the utterance before its input did).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ..core import LocalProtocolError

__all__ = [
    "TTS_CONTEXT_TRANSITIONS",
    "CharTiming",
    "TTSAudioReceived",
    "TTSContextDone",
    "TTSContextMachine",
    "TTSContextState",
    "TTSErrorReported",
    "TTSMessageIgnored",
    "TTSServerEvent",
    "TTSWordsTimed",
    "WordTiming",
]


@dataclass(frozen=True, slots=True)
class CharTiming:
    """One aligned character (or a few, as some servers group them): seconds."""

    char: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class WordTiming:
    word: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class TTSAudioReceived:
    context_id: str | None
    pcm: bytes
    alignment: tuple[CharTiming, ...] | None = None


@dataclass(frozen=True, slots=True)
class TTSWordsTimed:
    context_id: str | None
    words: tuple[WordTiming, ...]


@dataclass(frozen=True, slots=True)
class TTSContextDone:
    context_id: str | None


@dataclass(frozen=True, slots=True)
class TTSErrorReported:
    """``body`` is the whole message, kept out of any error text."""

    context_id: str | None
    status: int | None
    code: str | None
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TTSMessageIgnored:
    context_id: str | None
    kind: str


TTSServerEvent: TypeAlias = (
    TTSAudioReceived | TTSWordsTimed | TTSContextDone | TTSErrorReported | TTSMessageIgnored
)


class TTSContextState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    ENDING = "ending"  # the end of input was sent: the server flushes and says done
    DONE = "done"
    CANCELLED = "cancelled"


_S = TTSContextState
TTS_CONTEXT_TRANSITIONS: dict[tuple[TTSContextState, str], TTSContextState] = {
    (_S.NEW, "open"): _S.OPEN,
    (_S.NEW, "cancel"): _S.CANCELLED,
    (_S.OPEN, "text"): _S.OPEN,
    (_S.OPEN, "end"): _S.ENDING,
    (_S.OPEN, "done"): _S.DONE,
    (_S.OPEN, "cancel"): _S.CANCELLED,
    (_S.ENDING, "done"): _S.DONE,
    (_S.ENDING, "cancel"): _S.CANCELLED,
    (_S.CANCELLED, "done"): _S.CANCELLED,
}


class TTSContextMachine:
    """The states of one utterance; the provider cores build messages around it."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = TTSContextState.NEW

    def step(self, action: str) -> None:
        """Take ``action`` (``open``/``text``/``end``/``cancel``); LocalProtocolError
        if the table has no such step (the state is then unchanged)."""
        target = TTS_CONTEXT_TRANSITIONS.get((self.state, action))
        if target is None:
            raise LocalProtocolError(f"tts: cannot {action} in state {self.state.value}")
        self.state = target

    def done(self) -> bool:
        """The server said the utterance is done; True when that was the end we
        asked for (or after a cancel), False when it came early or twice."""
        expected = self.state in (TTSContextState.ENDING, TTSContextState.CANCELLED)
        target = TTS_CONTEXT_TRANSITIONS.get((self.state, "done"))
        if target is not None:
            self.state = target
        return expected

    @property
    def active(self) -> bool:
        """Still expecting audio (opened, neither done nor cancelled)."""
        return self.state in (TTSContextState.OPEN, TTSContextState.ENDING)
