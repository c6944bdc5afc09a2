"""AgentSession: the user-facing entry point; owns the session scope.

Nothing runs until ``async with session.start(agent, ...)``: that block owns the
session nursery (activity, listening, speeches). Leaving the block -- or
:meth:`AgentSession.close`, or the error policy ending the session -- cancels
everything inside; each turn's cleanup is shielded and bounded by
``options.close_grace``, and ``on_exit`` runs under the same bound, so closing
completes within a few graces even with a sink that never reports playout and an
LLM that hangs. A :class:`SessionClosed` event is the last event published.

When the session closes itself (error, ``close()``), the body of the ``async with``
is cancelled too: the conversation is over. ``close_reason`` tells why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import trio

from ..core import (
    LLM,
    STT,
    TTS,
    VAD,
    ChatContext,
    ChatMessage,
    ConfigurationError,
    ErrorHandler,
    ErrorSource,
    ProviderError,
)
from ._activity import AgentActivity
from ._agent import Agent
from ._audio_io import AudioInput, AudioOutput
from ._error_policy import ErrorPolicy
from ._event_bus import EventBus, StateTracker
from ._events import AgentState, SessionClosed, SessionEvent, UserState
from ._generation import ToolCallExecutor, record_unconfigured_tool_calls
from ._options import SessionOptions
from ._reply import ReplyPlan
from ._run_result import RunResult, collect_run
from ._speech_handle import SpeechHandle
from ._turn_detection import TurnDetector

__all__ = ["AgentSession"]

UserdataT = TypeVar("UserdataT")


class AgentSession(Generic[UserdataT]):
    """Providers, options and conversation state of one call.

    ``error_handler`` (an :data:`~trioagents.ErrorHandler`) and ``tool_executor``
    (the tool seam, :data:`ToolCallExecutor`) are plain attributes; set them before
    :meth:`start`.
    """

    def __init__(
        self,
        *,
        stt: STT | None = None,
        llm: LLM | None = None,
        tts: TTS | None = None,
        vad: VAD | None = None,
        turn_detector: TurnDetector | None = None,
        userdata: UserdataT | None = None,
        options: SessionOptions | None = None,
    ) -> None:
        self.stt, self.llm, self.tts, self.vad = stt, llm, tts, vad
        self.turn_detector = turn_detector
        self._userdata = userdata
        self.options = options or SessionOptions()
        self.error_handler: ErrorHandler | None = None
        self.tool_executor: ToolCallExecutor = record_unconfigured_tool_calls
        self.history = ChatContext()
        self.bus = EventBus()
        self.state = StateTracker(self.bus)
        self.errors = ErrorPolicy(self.options, self.bus, None, self._provider)
        self.audio_output: AudioOutput | None = None
        self.close_reason: str | None = None
        self._close_error: ProviderError | None = None
        self._activity: AgentActivity | None = None
        self._scope: trio.CancelScope | None = None
        self._closed = trio.Event()

    # ------------------------------------------------------------ properties
    @property
    def userdata(self) -> UserdataT:
        if self._userdata is None:
            raise ConfigurationError("no userdata: pass AgentSession(userdata=...)")
        return self._userdata

    @property
    def agent_state(self) -> AgentState:
        return self.state.agent

    @property
    def user_state(self) -> UserState:
        return self.state.user

    @property
    def current_agent(self) -> Agent:
        return self._require_activity().agent

    @property
    def current_speech(self) -> SpeechHandle | None:
        return self._activity.current if self._activity is not None else None

    def subscribe(self) -> trio.MemoryReceiveChannel[SessionEvent]:
        """A channel of every event from now on; ends when the session closes."""
        return self.bus.subscribe()

    # ------------------------------------------------------------ lifecycle
    @asynccontextmanager
    async def start(
        self,
        agent: Agent,
        *,
        audio_input: AudioInput | None = None,
        audio_output: AudioOutput | None = None,
    ) -> AsyncIterator[AgentSession[UserdataT]]:
        """Run the session for the duration of the block (see the module docstring)."""
        if self._scope is not None:
            raise ConfigurationError("a session can be started once")
        if audio_output is not None and self.tts is None:
            raise ConfigurationError("audio output needs a TTS: pass AgentSession(tts=...)")
        self.audio_output = audio_output
        self.errors = ErrorPolicy(self.options, self.bus, self.error_handler, self._provider)
        agent.attach(self)
        activity = AgentActivity(self, agent)
        self._activity = activity
        try:
            async with trio.open_nursery() as nursery:
                self._scope = nursery.cancel_scope
                await nursery.start(activity.run, audio_input)
                try:
                    yield self
                finally:
                    activity.interrupt_all(force=True)  # revoke sinks at the cancel point
                    nursery.cancel_scope.cancel()
        finally:
            await self._finish(agent)

    async def _finish(self, agent: Agent) -> None:
        with trio.CancelScope(shield=True), trio.move_on_after(self.options.close_grace):
            await agent.on_exit()
        agent.attach(None)
        if self.close_reason is None:
            self.close_reason = "user_initiated"
        self.bus.publish(SessionClosed(self.close_reason, self._close_error, trio.current_time()))
        self.bus.close()
        self._closed.set()

    def close(self, reason: str = "user_initiated", error: ProviderError | None = None) -> None:
        """End the session now (synchronous): everything inside ``start()`` is cancelled."""
        if self.close_reason is None:
            self.close_reason, self._close_error = reason, error
        if self._activity is not None:
            self._activity.interrupt_all(force=True)  # revoke sinks at the cancel point
        if self._scope is not None:
            self._scope.cancel()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------ speech API
    def say(
        self,
        text: str,
        *,
        allow_interruptions: bool | None = None,
        add_to_chat_ctx: bool = True,
    ) -> SpeechHandle:
        """Queue ``text`` to be spoken; returns its handle at once."""
        activity = self._require_activity()
        speech = activity.new_handle("say", allow_interruptions)
        plan = ReplyPlan(speech=speech, text=text, add_to_chat_ctx=add_to_chat_ctx)
        return activity.enqueue(plan, "say")

    def generate_reply(
        self,
        *,
        user_input: str | None = None,
        allow_interruptions: bool | None = None,
    ) -> SpeechHandle:
        """Queue an LLM reply (after recording ``user_input`` as a user message, if given)."""
        activity = self._require_activity()
        if user_input is not None:
            activity.record_item(
                ChatMessage(role="user", content=user_input, created_at=trio.current_time())
            )
        speech = activity.new_handle("generate_reply", allow_interruptions)
        return activity.enqueue(ReplyPlan(speech=speech), "generate_reply")

    def interrupt(self, *, force: bool = False) -> None:
        """Interrupt the current and queued speeches (synchronous; see AgentActivity)."""
        self._require_activity().interrupt_all(force=force)

    async def run(self, *, user_input: str) -> RunResult:
        """Text-mode turn: record ``user_input``, reply, return the ordered events.

        Raises the :class:`~trioagents.ProviderError` that made the reply fail, if any.
        """
        return await collect_run(self, user_input)

    # ------------------------------------------------------------ internals
    def _require_activity(self) -> AgentActivity:
        if self._activity is None or self._scope is None:
            raise ConfigurationError(
                "the session is not running: use `async with session.start(agent)`"
            )
        return self._activity

    def _provider(self, source: ErrorSource) -> object:
        return {"stt": self.stt, "llm": self.llm, "tts": self.tts, "vad": self.vad}[source]
