"""Realtime (speech-to-speech) models: the protocol the voice layer drives.

A :class:`RealtimeLLM` listens to the user's audio and answers with audio. It is
used as ``AgentSession(llm=...)`` (LiveKit's ``RealtimeModel``); the session tells
it apart from a chat :class:`~trioagents.core.LLM` by shape (``session`` instead of
``chat``).

``async with model.session(instructions=..., tools=...) as session:`` holds *one*
connection for the block: leaving it closes the connection (shielded, bounded).
On that connection:

* user audio goes in with :meth:`RealtimeSession.push_audio`; with server turn
  detection (``server_turn_detection``) the model reports the user's speech and
  commits it as a user item (:data:`RealtimeInputEvent` from
  :meth:`~RealtimeSession.input_events`); without it the caller commits
  (:meth:`~RealtimeSession.commit_input`);
* ``async with session.respond(...) as response:`` asks for one reply and yields
  its :data:`RealtimeResponseEvent` (audio frames, what the audio says, tool
  calls, usage); leaving the block before the reply ended *cancels* it (shielded,
  bounded). One reply at a time: a second ``respond`` waits for the first to end;
* what the user heard of a reply is made the model's memory with
  :meth:`~RealtimeSession.truncate`; items of the conversation held elsewhere
  (text turns, tool outputs, a handoff's context) go in with
  :meth:`~RealtimeSession.add_item`. ``known_items``/``known_calls`` say what the
  model's conversation already holds, so a caller adds only what is missing.

Errors are :class:`~trioagents.core.ProviderError`, raised by the iterators and by
the calls; once the connection is lost every call raises the error that ended it
(``failure``), and :meth:`~RealtimeSession.wait_failed` returns it. Cancellation is
never an error.

Rejected alternative: LiveKit's event emitter (``generation_created`` with nested
streams, resolved by callbacks). A reply is a stream the turn owns, opened and
closed by an ``async with`` inside the turn's cancel scope: cancelling the turn
cancels the reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence, Set
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, TypeAlias, runtime_checkable

from ._audio import AudioFrame
from ._chat import ChatItem
from ._providers import LLMToolCall, LLMUsage, ToolChoice, ToolSpec

__all__ = [
    "InputCommitted",
    "InputSpeechStarted",
    "InputSpeechStopped",
    "InputTranscribed",
    "InputTranscriptionFailed",
    "RealtimeInputEvent",
    "RealtimeLLM",
    "RealtimeResponse",
    "RealtimeResponseEvent",
    "RealtimeSession",
    "ResponseAudio",
    "ResponseText",
]


@dataclass(frozen=True, slots=True)
class InputSpeechStarted:
    """The model heard the user start; ``audio_at``: seconds into the audio pushed."""

    audio_at: float


@dataclass(frozen=True, slots=True)
class InputSpeechStopped:
    audio_at: float


@dataclass(frozen=True, slots=True)
class InputCommitted:
    """The user's audio became conversation item ``item_id`` (the turn ended)."""

    item_id: str


@dataclass(frozen=True, slots=True)
class InputTranscribed:
    """What the user said in ``item_id``: ``text`` so far, or all of it if ``final``."""

    item_id: str
    text: str
    final: bool


@dataclass(frozen=True, slots=True)
class InputTranscriptionFailed:
    item_id: str


RealtimeInputEvent: TypeAlias = (
    InputSpeechStarted
    | InputSpeechStopped
    | InputCommitted
    | InputTranscribed
    | InputTranscriptionFailed
)


@dataclass(frozen=True, slots=True)
class ResponseAudio:
    """Audio of assistant item ``item_id``, in order (frames of at most 20 ms)."""

    item_id: str
    frame: AudioFrame


@dataclass(frozen=True, slots=True)
class ResponseText:
    """What assistant item ``item_id`` says, as it is generated (a delta)."""

    item_id: str
    text: str


RealtimeResponseEvent: TypeAlias = ResponseAudio | ResponseText | LLMToolCall | LLMUsage


class RealtimeResponse(Protocol):
    """One reply's events; ``status`` once it ended (``completed``, ``cancelled``...)."""

    @property
    def status(self) -> str | None: ...

    def __aiter__(self) -> AsyncIterator[RealtimeResponseEvent]: ...


class RealtimeSession(Protocol):
    """One connection to a realtime model (see the module docs)."""

    @property
    def known_items(self) -> Set[str]: ...

    @property
    def known_calls(self) -> Set[str]: ...

    @property
    def failure(self) -> BaseException | None: ...

    async def push_audio(self, frame: AudioFrame) -> None: ...

    async def commit_input(self) -> None: ...

    async def clear_input(self) -> None: ...

    async def update(
        self, *, instructions: str, tools: Sequence[ToolSpec], tool_choice: ToolChoice = "auto"
    ) -> None: ...

    async def add_item(self, item: ChatItem) -> None: ...

    async def truncate(self, item_id: str, audio_end: float) -> None: ...

    async def delete_item(self, item_id: str) -> None: ...

    def respond(
        self, *, instructions: str | None = None, tool_choice: ToolChoice | None = None
    ) -> AbstractAsyncContextManager[RealtimeResponse]: ...

    def input_events(self) -> AsyncIterator[RealtimeInputEvent]: ...

    async def wait_failed(self) -> BaseException: ...


@runtime_checkable
class RealtimeLLM(Protocol):
    """A speech-to-speech model (``AgentSession(llm=...)``)."""

    @property
    def label(self) -> str: ...

    @property
    def server_turn_detection(self) -> bool:
        """True: the model detects the user's turns; False: the caller commits them."""
        ...

    @property
    def transcribes_input(self) -> bool:
        """True: :class:`InputTranscribed` events say what the user said."""
        ...

    def session(
        self,
        *,
        instructions: str,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AbstractAsyncContextManager[RealtimeSession]: ...
