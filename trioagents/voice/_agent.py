"""Agent: instructions, tools, hooks and the three overridable pipeline steps.

The steps are plain async functions that write into a channel, so an override is an
ordinary ``async def`` (no async generator, nothing yields across a cancel scope):

* ``stt_node(frames, events)``: user audio frames in, :class:`SpeechEvent` out;
* ``llm_node(chat_ctx, tools, events)``: :class:`LLMEvent` out;
* ``tts_node(text, frames)``: audio frames for one sentence out;
* ``tts_stream_node(text, frames)``: LiveKit's ``tts_node`` shape, a text stream in
  (an utterance's sentences), frames out; by default ``tts_node`` per sentence;
* ``transcription_node(text, out)``: a sentence's transcript form (e.g. no markdown).

Each step runs inside the scope of its turn (STT: of the session). Leaving the step
-- by return, error or cancellation -- closes the provider stream it opened, because
the defaults hold the stream in ``async with``. The step must not close the channel
it was given; the caller owns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import trio

from ..core import (
    LLM,
    STT,
    TTS,
    VAD,
    AudioFrame,
    ChatContext,
    ChatMessage,
    ConfigurationError,
    LLMEvent,
    ProviderError,
    RealtimeLLM,
    SpeechEvent,
    StreamingTTS,
    ToolSpec,
    TTSStream,
    collapse_single_error,
    streams_text_input,
)
from ._agent_providers import (
    AgentProviders,
    AgentTurnDetection,
    check_turn_detection,
    resolve_providers,
)
from ._handoff import ContextPolicy, complete_pairs
from ._model_settings import TOOL_CHOICE
from ._tools import find_function_tools

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["Agent", "HasToolSpec", "overrides"]


class HasToolSpec(Protocol):
    """Anything with a ``.spec`` (e.g. ``FunctionTool`` from ``voice/_tools.py``)."""

    @property
    def spec(self) -> ToolSpec: ...


class Agent:
    """One persona of the conversation.

    ``chat_ctx`` seeds the agent's own context (copied); the session appends to it.
    ``allow_interruptions=None`` inherits the session option. The agent's tools are
    the ``@function_tool`` methods of its class followed by ``tools``.

    ``stt``, ``llm``, ``tts``, ``vad`` and ``turn_detection`` override the session's
    while this agent is active; each ``None`` falls back to the session's
    (LiveKit's keywords; see ``_agent_providers.py``). They are plain attributes.

    ``context_policy`` (class attribute, or set on an instance before the handoff)
    says what this agent remembers when the conversation is handed to it: the
    seeded ``chat_ctx`` followed by the policy's result (default
    :class:`~trioagents.voice.KeepAll`).
    """

    __trioagents_agent__: ClassVar[bool] = True
    __trioagents_agent_base__: ClassVar[bool] = True
    context_policy: ContextPolicy | None = None

    def __init__(
        self,
        *,
        instructions: str,
        tools: Sequence[HasToolSpec] = (),
        chat_ctx: ChatContext | None = None,
        allow_interruptions: bool | None = None,
        name: str | None = None,
        stt: STT | None = None,
        llm: LLM | RealtimeLLM | None = None,
        tts: TTS | None = None,
        vad: VAD | None = None,
        turn_detection: AgentTurnDetection | None = None,
    ) -> None:
        # LiveKit's keyword set, beyond the house limit of 6 on purpose: porting code
        # passes them as is (all keyword-only, all optional)
        if not isinstance(instructions, str):
            raise ConfigurationError("Agent(instructions=...) must be a str")
        self.instructions = instructions
        self.stt, self.llm, self.tts, self.vad = stt, llm, tts, vad
        self.turn_detection = check_turn_detection(turn_detection)
        self.name = name or type(self).__name__
        self.allow_interruptions = allow_interruptions
        self._tools: tuple[HasToolSpec, ...] = (*find_function_tools(self), *tools)
        self._chat_ctx = chat_ctx.copy() if chat_ctx is not None else ChatContext()
        self._session: AgentSession[Any] | None = None
        _check_tools(self._tools)

    # ------------------------------------------------------------ state
    @property
    def tools(self) -> tuple[HasToolSpec, ...]:
        return self._tools

    @property
    def tool_specs(self) -> tuple[ToolSpec, ...]:
        return tuple(tool.spec for tool in self._tools)

    async def update_instructions(self, instructions: str) -> None:
        """Replace the instructions (LiveKit's ``update_instructions``).

        They are the system message of every LLM request built from now on: the
        next step of the running turn (after a tool), the next reply. A reply
        already asked for keeps the context it was asked with (see
        ``generate_reply``). Nothing is recorded in ``session.history``, and the
        change is not journaled (a resumed session starts the agent as built).
        Checkpoints first, so a cancelled call changed nothing. Raises
        ConfigurationError for a non-str.
        """
        if not isinstance(instructions, str):
            raise ConfigurationError("update_instructions() takes the new instructions (a str)")
        await trio.lowlevel.checkpoint()
        self.instructions = instructions

    async def update_chat_ctx(
        self, chat_ctx: ChatContext, *, exclude_invalid_function_calls: bool = True
    ) -> None:
        """Replace what this agent remembers with a copy of ``chat_ctx`` (LiveKit's name).

        The agent's context is what its LLM requests are built from (its
        instructions are prepended, so a leading system message equal to them is
        dropped rather than doubled). ``session.history`` -- the record of the whole
        call, every agent -- is not changed: nothing is removed from it or added to
        it, and no event is published; what is said afterwards goes to both.
        ``exclude_invalid_function_calls`` drops function calls without an output
        and outputs without a call (providers reject them). Takes effect for the
        next LLM request built; a handoff already being planned uses the context it
        started from. Checkpoints first, so a cancelled call changed nothing.
        """
        if not isinstance(chat_ctx, ChatContext):
            raise ConfigurationError("update_chat_ctx() takes a ChatContext")
        items = list(chat_ctx.items)
        first = items[0] if items else None
        if isinstance(first, ChatMessage) and (first.role, first.content) == (
            "system",
            self.instructions,
        ):
            items = items[1:]  # llm_input()'s instructions: prepended again anyway
        new_ctx = ChatContext(items)
        if exclude_invalid_function_calls:
            new_ctx = complete_pairs(new_ctx)
        await trio.lowlevel.checkpoint()
        self._chat_ctx = new_ctx

    def update_tools(self, tools: Sequence[HasToolSpec]) -> None:
        """Replace every tool (method tools included: pass them again to keep them).

        Raises ConfigurationError for a tool without a spec or a duplicate name.
        """
        _check_tools(tools)
        self._tools = tuple(tools)

    @property
    def chat_ctx(self) -> ChatContext:
        """The agent's conversation so far (a live object; copy before lending it out)."""
        return self._chat_ctx

    @property
    def session(self) -> AgentSession[Any]:
        if self._session is None:
            raise ConfigurationError("this agent is not running in a session yet")
        return self._session

    @property
    def providers(self) -> AgentProviders:
        """The providers in effect for this agent: its own, else the session's."""
        return resolve_providers(self, self.session)

    def attach(self, session: AgentSession[Any] | None) -> None:
        """Bind to (or, with ``None``, release from) the session running this agent."""
        self._session = session

    def llm_input(self) -> ChatContext:
        """Instructions as a system message, then the agent's context."""
        items = [ChatMessage(role="system", content=self.instructions)] if self.instructions else []
        return ChatContext([*items, *self._chat_ctx])

    # ------------------------------------------------------------ hooks
    async def on_enter(self) -> None:
        """Called when the agent becomes active (inside the session's scope)."""

    async def on_exit(self) -> None:
        """Called when the agent stops being active (bounded by ``close_grace``)."""

    async def on_user_turn_completed(self, turn_ctx: ChatContext, message: ChatMessage) -> None:
        """Called with a copy of the context before replying; may add items to ``turn_ctx``."""

    # ------------------------------------------------------------ steps
    async def stt_node(
        self,
        frames: trio.MemoryReceiveChannel[AudioFrame],
        events: trio.MemorySendChannel[SpeechEvent],
    ) -> None:
        """Default: stream frames through the agent's STT (else the session's). Raises
        ProviderError.

        The error is raised bare (not in an exception group): it is caught inside
        the helper nursery and re-raised after it closed.
        """
        stt = self.providers.stt
        if stt is None:
            return
        failures: list[ProviderError] = []
        async with stt.stream() as stream:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pump_frames, frames, stream, failures, nursery.cancel_scope)
                try:
                    async for event in stream:
                        await events.send(event)
                except ProviderError as exc:
                    failures.append(exc)
                nursery.cancel_scope.cancel()
            if failures:
                raise failures[0]

    async def llm_node(
        self,
        chat_ctx: ChatContext,
        tools: Sequence[ToolSpec],
        events: trio.MemorySendChannel[LLMEvent],
    ) -> None:
        """Default: one completion from the agent's LLM (else the session's). Raises
        ProviderError."""
        llm = self.providers.llm
        if not isinstance(llm, LLM):  # None, or a realtime model (it has no chat)
            raise ConfigurationError(
                "no chat LLM: pass AgentSession(llm=...) or this agent's Agent(llm=...)"
            )
        choice = TOOL_CHOICE.get() if tools else "auto"
        stream_cm = (
            llm.chat(chat_ctx, tools=tools)  # the reply named no choice: the LLM's default
            if choice is None
            else llm.chat(chat_ctx, tools=tools, tool_choice=choice)
        )
        async with stream_cm as stream:
            async for event in stream:
                await events.send(event)

    async def transcription_node(
        self, text: trio.MemoryReceiveChannel[str], out: trio.MemorySendChannel[str]
    ) -> None:
        """The transcript form of spoken text (LiveKit's ``transcription_node``).

        Called once per sentence: ``text`` yields that sentence, what is sent to
        ``out`` is how it is shown (``TextOutput``) and recorded in the chat context
        (e.g. without markdown); the TTS still speaks the original. Once per
        sentence so the heard-text accounting can map the audio played to the
        shown words. Default: unchanged (and then not called at all).
        """
        async for piece in text:
            await out.send(piece)

    async def tts_stream_node(
        self, text: trio.MemoryReceiveChannel[str], frames: trio.MemorySendChannel[AudioFrame]
    ) -> None:
        """LiveKit's ``tts_node`` shape: a stream of text in, audio frames out.

        Called once per utterance. ``text`` yields the reply in whole words as the
        LLM writes them when the TTS takes streamed input (``SessionOptions.tts_input``
        ``"auto"``), else its sentences as they are complete. Default: a streaming
        TTS gets everything in one ``stream()``, each piece pushed as it comes (its
        frames' ``text_end`` then index the pieces joined); any other TTS, each piece
        through :meth:`tts_node`. Override it to transform the whole stream (text
        before, frames after); the turn cancels it like every step. Heard-text
        accounting of an override is by the utterance's speaking rate over all its
        text (its TTS may have been given other text than the pieces), and a
        mid-sentence TTS failover ends the utterance instead of continuing it (see
        ``_playout.py``).
        """
        tts = self.providers.tts
        if not streams_text_input(tts):
            async for piece in text:
                await self.tts_node(piece, frames)
            return
        assert isinstance(tts, StreamingTTS)
        with collapse_single_error():  # a ProviderError reaches the caller bare
            async with tts.stream() as stream, trio.open_nursery() as nursery:
                nursery.start_soon(_push_text, text, stream)
                async for frame in stream:  # the TTS stream checkpoints
                    await _send_frame(frames, frame)

    async def tts_node(self, text: str, frames: trio.MemorySendChannel[AudioFrame]) -> None:
        """Default: synthesize one sentence with the agent's TTS (else the session's).
        Raises ProviderError."""
        tts = self.providers.tts
        if tts is None:
            raise ConfigurationError(
                "no TTS: pass AgentSession(tts=...) or this agent's Agent(tts=...)"
            )
        async with tts.synthesize(text) as audio:
            async for frame in audio:  # the TTS stream checkpoints
                await _send_frame(frames, frame)


async def _send_frame(frames: trio.MemorySendChannel[AudioFrame], frame: AudioFrame) -> None:
    """Send at once while there is room (no second task switch per frame), else wait."""
    try:
        frames.send_nowait(frame)
    except trio.WouldBlock:
        await frames.send(frame)


def overrides(agent: Agent, node: str) -> bool:
    """True when ``agent``'s class replaces ``Agent``'s ``node`` method."""
    return getattr(type(agent), node) is not getattr(Agent, node)


def _check_tools(tools: Sequence[HasToolSpec]) -> None:
    names: set[str] = set()
    for tool in tools:
        spec = getattr(tool, "spec", None)
        if not isinstance(spec, ToolSpec):
            raise ConfigurationError("every tool needs a .spec attribute of type ToolSpec")
        if spec.name in names:
            raise ConfigurationError(
                f"two tools of one agent are named {spec.name!r}; rename one with "
                "@function_tool(name=...)"
            )
        names.add(spec.name)


async def _push_text(text: trio.MemoryReceiveChannel[str], stream: TTSStream) -> None:
    async for piece in text:
        await stream.push_text(piece)
    await stream.end_input()


class _FrameSink(Protocol):
    async def push_frame(self, frame: AudioFrame) -> None: ...

    async def end_input(self) -> None: ...


async def _pump_frames(
    frames: trio.MemoryReceiveChannel[AudioFrame],
    stream: _FrameSink,
    failures: list[ProviderError],
    scope: trio.CancelScope,
) -> None:
    try:
        async for frame in frames:
            await stream.push_frame(frame)
        await stream.end_input()
    except ProviderError as exc:
        failures.append(exc)
        scope.cancel()
