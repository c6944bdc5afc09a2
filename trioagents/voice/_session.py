"""AgentSession: the user-facing entry point; owns the session scope.

Nothing runs until ``async with session.start(agent, ...)``: that block owns the
session nursery (activity, listening, speeches). Leaving the block -- or
:meth:`AgentSession.close`, or the error policy ending the session -- cancels
everything inside; each turn's cleanup is shielded and bounded by
``options.close_grace``, and ``on_exit`` runs under the same bound, so closing
completes within a few graces even with a sink that never reports playout and an
LLM that hangs. A :class:`SessionClosed` event is the last event published.

When the session closes itself (error, ``close()``), the conversation is over. A
call of the block's body that waits on the session -- ``run()``, ``wait_idle()``,
awaiting a speech handle -- raises :class:`SessionClosedError` carrying the close
reason, so the body learns why; a body that waits on anything else is cancelled
(``close_reason`` tells why). So is a body that carries on after such an error.
Calls made after the close (``say()``, ``run()``...) raise ``SessionClosedError``.
An error leaving the block is raised as itself, not as an exception group of one.

Workflow: ``start()`` builds (or takes) the :class:`Workflow` of the first agent,
so an unknown handoff target or an unreachable state fails at start-up, and the
session refuses at run time any handoff the workflow does not declare. A plain
``Agent`` (the base class) as first agent has no workflow to check.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar, overload

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
    ErrorHandler,
    ErrorSource,
    ProviderError,
    RealtimeLLM,
    ToolChoice,
    async_with_only,
    collapse_single_error,
)
from ._activity import AgentActivity
from ._agent import Agent
from ._agent_providers import AgentProviders, resolve_providers
from ._audio_io import AudioInput, AudioOutput, TextOutput
from ._error_policy import ErrorPolicy
from ._event_bus import EventBus, StateTracker
from ._events import AgentState, SessionClosed, SessionEvent, SpeechSource, UserState
from ._generation import ToolCallExecutor
from ._handoff_agent import is_abstract_agent_class
from ._hooks import SessionHooks, SessionObserver, ToolCallGuard
from ._listeners import EventListeners, EventName, Listener
from ._nested_speech import CURRENT_TURN
from ._options import SessionOptions
from ._realtime_activity import run_activity
from ._reply import ReplyPlan
from ._run_result import RunResult, collect_run
from ._speech_handle import SessionClosedError, SpeechHandle
from ._speech_queue import SpeechPriority
from ._tool_mocks import tool_mock_scope
from ._turn_detector import TurnDetector
from ._usage import SessionUsage, UsageCollector, UsageKind
from ._workflow import Workflow, WorkflowState

__all__ = ["AgentSession"]

logger = logging.getLogger("trioagents.voice.session")

UserdataT = TypeVar("UserdataT")
ListenerT = TypeVar("ListenerT", bound=Callable[..., object])

_BODY_OF: ContextVar[AgentSession[Any] | None] = ContextVar("trioagents_body_of", default=None)
"""The session whose ``async with`` body this task runs (set at the yield)."""


class AgentSession(Generic[UserdataT]):
    """Providers, options and conversation state of one call.

    ``error_handler`` (an :data:`~trioagents.ErrorHandler`) and ``tool_executor``
    (the tool seam, :data:`ToolCallExecutor`; ``None`` runs the agents'
    ``@function_tool`` tools, with handoffs) are plain attributes; set them before
    :meth:`start`. So is ``tool_call_guard`` (a :data:`ToolCallGuard` wrapping every
    call of the built-in tool runner; the journal's replay). Observers (tracing,
    metrics, the journal's turn commits) are added with :meth:`add_observer`.
    """

    def __init__(
        self,
        *,
        stt: STT | None = None,
        llm: LLM | RealtimeLLM | None = None,
        tts: TTS | None = None,
        vad: VAD | None = None,
        turn_detector: TurnDetector | None = None,
        userdata: UserdataT | None = None,
        options: SessionOptions | None = None,
    ) -> None:
        self.stt, self.llm, self.tts, self.vad = stt, llm, tts, vad
        self.usage_collector = UsageCollector()
        self.turn_detector = turn_detector
        self._userdata = userdata
        self.options = options or SessionOptions()
        self.error_handler: ErrorHandler | None = None
        self.tool_executor: ToolCallExecutor | None = None
        self.tool_call_guard: ToolCallGuard | None = None
        self.hooks = SessionHooks()
        self.workflow_state: WorkflowState | None = None
        self.history = ChatContext()
        self.bus = EventBus()
        self.state = StateTracker(self.bus)
        self.errors = ErrorPolicy(self.options, self.bus, None, self._provider)
        self.audio_output: AudioOutput | None = None
        self.text_output: TextOutput | None = None
        self.close_reason: str | None = None
        self._close_error: ProviderError | None = None
        self._activity: AgentActivity | None = None
        self._scope: trio.CancelScope | None = None  # body and internals
        self._internal_scope: trio.CancelScope | None = None  # the activity
        self._closing = False
        self._body_waits = 0  # calls of the body waiting on the session right now
        self._closed = trio.Event()
        self._listeners = EventListeners(self.bus, lambda: self.close("listener_error"))

    # ------------------------------------------------------------ properties
    @property
    def userdata(self) -> UserdataT:
        if self._userdata is None:
            raise ConfigurationError("no userdata: pass AgentSession(userdata=...)")
        return self._userdata

    @userdata.setter
    def userdata(self, value: UserdataT) -> None:
        """Replace the userdata (e.g. restored from a journal)."""
        self._userdata = value

    @property
    def userdata_or_none(self) -> UserdataT | None:
        return self._userdata

    @property
    def agent_state(self) -> AgentState:
        return self.state.agent

    @property
    def user_state(self) -> UserState:
        return self.state.user

    @property
    def usage(self) -> SessionUsage:
        """Provider usage so far (tokens, characters, audio seconds), per provider."""
        return self.usage_collector.snapshot()

    def providers_for(self, agent: Agent) -> AgentProviders:
        """The providers ``agent`` runs with: its own, each else this session's."""
        return resolve_providers(agent, self)

    @property
    def current_agent(self) -> Agent:
        return self._require_activity().agent

    @property
    def transition_pending(self) -> bool:
        """True while a handoff or AgentTask switch is decided or running."""
        return self._activity is not None and self._activity.switcher.busy

    @property
    def current_speech(self) -> SpeechHandle | None:
        return self._activity.current if self._activity is not None else None

    def subscribe(self) -> trio.MemoryReceiveChannel[SessionEvent]:
        """A channel of every event from now on; ends when the session closes."""
        return self.bus.subscribe()

    @overload
    def on(self, event: EventName | type[SessionEvent], callback: ListenerT) -> ListenerT: ...

    @overload
    def on(
        self, event: EventName | type[SessionEvent], callback: None = None
    ) -> Callable[[ListenerT], ListenerT]: ...

    def on(
        self, event: EventName | type[SessionEvent], callback: ListenerT | None = None
    ) -> ListenerT | Callable[[ListenerT], ListenerT]:
        """Call ``callback(event)`` for each ``event`` (LiveKit's name, or the class).

        Returns ``callback`` (so ``@session.on("close")`` decorates). Sync or async;
        called in the session's dispatcher task, after the event, never inside the
        pipeline; an exception ends the session and propagates (see ``_listeners.py``).
        Before or during :meth:`start`. Raises ConfigurationError for an unknown name.
        """
        if callback is None:

            def register(function: ListenerT) -> ListenerT:
                self._listeners.add(event, function)
                return function

            return register
        self._listeners.add(event, callback)
        return callback

    def once(self, event: EventName | type[SessionEvent], callback: ListenerT) -> ListenerT:
        """As :meth:`on`, for the next such event only."""
        self._listeners.add(event, callback, once=True)
        return callback

    def off(self, event: EventName | type[SessionEvent], callback: Listener) -> None:
        """Stop calling ``callback`` for ``event`` (no-op if it was not registered)."""
        self._listeners.remove(event, callback)

    # ------------------------------------------------------------ lifecycle
    def add_observer(self, observer: SessionObserver) -> None:
        """Report scopes and turn commits to ``observer`` (see _hooks.py); before start()."""
        if self._scope is not None:
            raise ConfigurationError("add observers before session.start()")
        self.hooks.add(observer)

    @async_with_only("async with session.start(agent, ...):")
    @asynccontextmanager
    async def start(
        self,
        agent: Agent,
        *,
        audio_input: AudioInput | None = None,
        audio_output: AudioOutput | None = None,
        workflow: Workflow | None = None,
        text_output: TextOutput | None = None,
        run_on_enter: bool = True,
    ) -> AsyncIterator[AgentSession[UserdataT]]:
        """Run the session for the duration of the block (see the module docstring).

        ``run_on_enter=False`` skips the first agent's ``on_enter`` (a session resumed
        from a journal: that agent entered on the previous worker and the
        conversation continues with the user's next turn).

        The session gets its own ``mock_tools`` scope: mocks entered around this
        call or inside the block apply to its tools (see ``_tool_mocks``).

        Raises ConfigurationError (before anything runs) for an invalid workflow
        or one whose initial state is not ``agent``'s class.
        """
        if self._scope is not None:
            raise ConfigurationError("a session can be started once")
        providers = resolve_providers(agent, self)
        speaks_itself = isinstance(providers.llm, RealtimeLLM)  # a realtime model
        if audio_output is not None and providers.tts is None and not speaks_itself:
            raise ConfigurationError(
                "audio output needs a TTS: pass AgentSession(tts=...) or Agent(tts=...)"
            )
        self.workflow_state = _workflow_for(agent, workflow)
        self.audio_output = audio_output
        self.text_output = text_output
        self.errors = ErrorPolicy(self.options, self.bus, self.error_handler, self._provider)
        agent.attach(self)
        activity = AgentActivity(self, agent, self.workflow_state)
        activity.enter_first_agent = run_on_enter
        self._activity = activity
        hooks = self.hooks
        attributes = {"lk.agent_name": agent.name} if hooks.active else {}
        with (
            hooks.scope(
                "session", hooks.parent_scope_id, attributes, cancel_reason=self._cancel_reason
            ) as note,
            collapse_single_error(),
        ):
            hooks.session_scope_id = note.scope_id
            async with trio.open_nursery() as listening:  # outlives the session's tasks
                self._listeners.open(listening)
                try:
                    with collapse_single_error(), tool_mock_scope():
                        async with trio.open_nursery() as nursery:
                            self._scope = nursery.cancel_scope
                            await nursery.start(self._run_activity, activity, audio_input)
                            token = _BODY_OF.set(self)
                            try:
                                yield self
                            finally:
                                _BODY_OF.reset(token)
                                self._close_internals("user_initiated", None)
                                nursery.cancel_scope.cancel()
                finally:
                    await self._commit_trailing_speech(activity)
                    await self._finish(activity.agent)
                    self._listeners.close(self.options.close_grace)
                    note.reason = self.close_reason

    async def _run_activity(
        self,
        activity: AgentActivity,
        audio_input: AudioInput | None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        with trio.CancelScope() as scope:
            self._internal_scope = scope
            await run_activity(activity, audio_input, task_status=task_status)

    async def _commit_trailing_speech(self, activity: AgentActivity) -> None:
        """Record what the user said that no turn committed (shielded, bounded).

        Words the STT delivered before the close -- mid-speech, or a final transcript
        waiting for endpointing -- become an unanswered user message in the history,
        and observers (the journal) commit the turn, within ``close_grace``. A session
        taken over by another worker leaves the journal to that worker.
        """
        message = activity.commit_trailing_speech()
        if message is None or not self.hooks.active or self.close_reason == "taken_over":
            return
        with trio.CancelScope(shield=True), trio.move_on_after(self.options.close_grace):
            try:
                await self.hooks.turn_committed(activity.snapshot_after(message))
            except Exception as exc:  # closing: report it, keep closing (not Cancelled)
                logger.error(
                    "the last user words could not be committed at close",
                    extra={"error_type": type(exc).__name__},
                )

    async def _finish(self, agent: Agent) -> None:
        """``on_exit`` of the agent active at close (shielded, bounded); then SessionClosed."""
        with trio.CancelScope(shield=True), trio.move_on_after(self.options.close_grace):
            await agent.on_exit()
        agent.attach(None)
        if self.close_reason is None:
            self.close_reason = "user_initiated"
        self.bus.publish(SessionClosed(self.close_reason, self._close_error, trio.current_time()))
        self.bus.close()
        self._closed.set()

    def close(self, reason: str = "user_initiated", error: ProviderError | None = None) -> None:
        """End the session now (synchronous; see the module docstring).

        Every speech not finished is cut at once (its sink revoked); the session's
        own tasks are cancelled; the body's waits on the session raise
        :class:`SessionClosedError`, or, if it waits on none, the body is cancelled.
        """
        self._close_internals(reason, error)
        if self._scope is not None and self._body_waits == 0:
            self._scope.cancel()

    def _close_internals(self, reason: str, error: ProviderError | None) -> None:
        if self._closing:
            return
        self._closing = True
        if self.close_reason is None:
            self.close_reason, self._close_error = reason, error
        if self._activity is not None:
            # revoke sinks at the cancel point
            self._activity.close_speeches(self.close_reason, self._close_error)
            self._activity.close_tasks()
        if self._internal_scope is not None:
            self._internal_scope.cancel()

    @contextmanager
    def _body_wait(self) -> Iterator[None]:
        """Count a wait of the block's body on the session (see :meth:`close`)."""
        if _BODY_OF.get() is not self:
            yield
            return
        self._body_waits += 1
        try:
            yield
        finally:
            self._body_waits -= 1
            if self._closing and self._body_waits == 0 and self._scope is not None:
                self._scope.cancel()  # the body was told; what it does next is cancelled

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------ speech API
    def say(
        self,
        text: str,
        *,
        audio: AsyncIterable[AudioFrame] | None = None,
        allow_interruptions: bool | None = None,
        add_to_chat_ctx: bool = True,
        priority: int = SpeechPriority.NORMAL,
    ) -> SpeechHandle:
        """Speak ``text``; returns its handle at once (await it to wait for playout).

        ``audio``: pre-rendered frames to play instead of synthesizing ``text``
        (``text`` is their transcript). Called from inside a turn (a tool), the
        speech is nested in that turn (see ``docs/design.md``); otherwise it is
        queued by ``priority`` (:class:`SpeechPriority`). Raises
        :class:`SessionClosedError` once the session closed.
        """
        if not isinstance(text, str):
            raise ConfigurationError("say() needs the text to speak (a str)")
        activity = self._require_open()
        if (
            audio is None
            and self.audio_output is not None
            and self.providers_for(activity.agent).tts is None
        ):
            raise ConfigurationError(  # LiveKit's rule with a realtime model
                "say() speaks through a TTS: pass AgentSession(tts=...), or use "
                "generate_reply(instructions=...) to have the realtime model say it"
            )
        speech = self._new_handle(activity, "say", allow_interruptions, priority)
        plan = ReplyPlan(speech=speech, text=text, audio=audio, add_to_chat_ctx=add_to_chat_ctx)
        return activity.schedule(plan, "say")

    def generate_reply(
        self,
        *,
        user_input: str | None = None,
        instructions: str | None = None,
        tool_choice: ToolChoice | None = None,
        allow_interruptions: bool | None = None,
        priority: int = SpeechPriority.NORMAL,
    ) -> SpeechHandle:
        """An LLM reply (after recording ``user_input`` as a user message, if given).

        ``instructions`` are added to the agent's for this reply only.
        ``tool_choice`` defaults to the LLM's own default (``"auto"`` unless the LLM
        was built with another, e.g. ``OpenAIChatOptions(tool_choice=...)``), and to
        ``"none"`` inside a tool (LiveKit Agents' rule: a tool's reply does not call
        tools again). Nested or
        queued as :meth:`say`. Raises :class:`SessionClosedError` once closed.
        """
        activity = self._require_open()
        if tool_choice is None and CURRENT_TURN.get() is not None:
            tool_choice = "none"
        if user_input is not None:
            activity.record_item(
                ChatMessage(role="user", content=user_input, created_at=trio.current_time())
            )
        speech = self._new_handle(activity, "generate_reply", allow_interruptions, priority)
        # The LLM sees the conversation as it is now, not as it will be when this reply
        # reaches the front of the queue: an opening reply queued before the user spoke
        # must not answer (and act on) words said after it was asked for.
        plan = ReplyPlan(
            speech=speech,
            chat_ctx=activity.agent.llm_input(),
            instructions=instructions,
            tool_choice=tool_choice,
        )
        return activity.schedule(plan, "generate_reply")

    def _new_handle(
        self,
        activity: AgentActivity,
        source: SpeechSource,
        allow_interruptions: bool | None,
        priority: int,
    ) -> SpeechHandle:
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ConfigurationError("priority must be an int (SpeechPriority.LOW/NORMAL/HIGH)")
        speech = activity.new_handle(source, allow_interruptions, priority)
        speech.wait_tracker = self._body_wait
        return speech

    def interrupt(self, *, force: bool = False) -> None:
        """Interrupt the current and queued speeches (synchronous; see AgentActivity)."""
        self._require_activity().interrupt_all(force=force, reason="api_interrupt")

    def update_agent(self, agent: Agent) -> None:
        """Hand the conversation to ``agent`` from session code (an RPC, a timer...).

        Synchronous; validated now like a tool's handoff (an undeclared workflow
        transition raises ``UndeclaredTransitionError``). The switch runs once the
        current speech ended, atomically: ``on_exit``, the new agent's context per its
        ``context_policy``, ``AgentHandedOff``, ``on_enter``. Prefer a tool returning
        the agent when the LLM decides.
        """
        self._require_activity().switcher.request_switch(agent)

    def commit_user_turn(
        self,
        *,
        transcript_timeout: float = 2.0,
        stt_flush_duration: float = 2.0,
        skip_reply: bool = False,
    ) -> None:
        """End the user's turn now: push to talk with ``turn_detection="manual"``.

        Synchronous. The STT is flushed with ``stt_flush_duration`` seconds of
        silence; the commit waits up to ``transcript_timeout`` for the STT to catch
        up, then records what the user said (nothing said: nothing happens) and
        answers it, unless ``skip_reply``. Works in ``"auto"`` mode too (the turn
        ends without waiting for the endpointing delay).
        """
        if transcript_timeout < 0 or stt_flush_duration < 0:
            raise ConfigurationError("transcript_timeout and stt_flush_duration must be >= 0")
        self._require_activity().commit_user_turn(
            transcript_timeout=transcript_timeout,
            stt_flush_duration=stt_flush_duration,
            skip_reply=skip_reply,
        )

    def clear_user_turn(self) -> None:
        """Forget what the user said in the current turn (push to talk: cancel).

        Transcripts the STT still delivers for audio from before the call are
        dropped too, until the user speaks again.
        """
        self._require_activity().clear_user_turn()

    async def wait_idle(self) -> None:
        """Wait until nothing will be said without new input.

        Idle: no speech playing or queued, no handoff decided or running, no
        ``on_enter`` hook running (a hook awaiting an AgentTask counts as waiting).
        Checkpoints; raises ConfigurationError when the session is not running.
        """
        activity = self._require_open()
        with self._body_wait():
            await activity.wait_idle()

    async def run(self, *, user_input: str) -> RunResult:
        """Text-mode turn: record ``user_input``, reply, return the ordered events.

        Turn-based: waits until the session is idle (an opening line from
        ``on_enter`` included) before the user speaks, and returns once it is idle
        again (see :meth:`wait_idle`), so a handoff and the new agent's opening words
        are part of the result. What the agent heard never depends on scheduling.

        Raises the :class:`~trioagents.ProviderError` that made the reply fail, if any,
        and :class:`SessionClosedError` if the session closed before the run ended.
        """
        self._require_open()
        with self._body_wait():
            return await collect_run(self, user_input)

    # ------------------------------------------------------------ internals
    def _require_activity(self) -> AgentActivity:
        if self._activity is None or self._scope is None:
            raise ConfigurationError(
                "the session is not running: use `async with session.start(agent)`"
            )
        return self._activity

    def _require_open(self) -> AgentActivity:
        activity = self._require_activity()
        if self._closing or self._closed.is_set():
            raise SessionClosedError(self.close_reason or "user_initiated", self._close_error)
        return activity

    def _cancel_reason(self) -> str:
        return self.close_reason or "session_closed"

    def provider_label(self, kind: UsageKind) -> str:
        """The label usage is recorded under: the provider's ``label``, else ``kind``.

        The provider is the current agent's (``Agent(tts=...)``), else the session's.
        """
        label = getattr(self._provider(kind), "label", None)
        return label if isinstance(label, str) and label else kind

    def _provider(self, source: ErrorSource) -> object:
        """The provider of ``source`` in effect now (the current agent's, else ours)."""
        if self._activity is not None:
            providers = resolve_providers(self._activity.agent, self)
            return {
                "stt": providers.stt,
                "llm": providers.llm,
                "tts": providers.tts,
                "vad": providers.vad,
            }[source]
        return {"stt": self.stt, "llm": self.llm, "tts": self.tts, "vad": self.vad}[source]


def _workflow_for(agent: Agent, workflow: Workflow | None) -> WorkflowState | None:
    if workflow is not None:
        if workflow.initial is not type(agent):
            raise ConfigurationError(
                f"the workflow starts at {workflow.initial.__name__}, but the session was "
                f"started with {type(agent).__name__}"
            )
        return workflow.start()
    if is_abstract_agent_class(type(agent)):
        return None
    return Workflow(type(agent)).start()
