"""AgentActivity: the runtime of one agent inside a session.

Scope tree (each level an ``async with`` owned by the one above)::

    session nursery                        AgentSession.start()
    └── activity nursery                   AgentActivity.run()
        ├── turn tracker (endpointing waits)
        ├── interruption controller (false-interruption timers)
        ├── audio recognition (VAD/STT pump)
        ├── preemptive generations (at most one live)
        ├── agent entries (one task per on_enter; see _transitions.py)
        └── scheduler ── turn scope        run_reply(): one SpeechHandle
                         ├── utterance     Utterance.run(): TTS + playout (child scope)
                         ├── nested speech say()/generate_reply() from inside the turn,
                         │                 played in the turn's scope (_nested_speech.py)
                         └── tool step     run_tool_calls(): one shielded scope per tool
                             └── AgentTask (from a tool) serves the queue itself
                                 until complete(): nested turn scopes
        (between two turns) the scheduler runs a decided handoff: plan, on_exit, swap

Speeches play one at a time, by priority, then in the order created. The activity
glues the pieces with synchronous callbacks (commit a user turn, start a preemptive
generation) and owns nothing the pieces could share by accident: turns get a
:class:`ReplyEnv`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from ..core import ChatItem, ChatMessage
from ._agent import Agent
from ._agent_providers import resolve_providers
from ._audio_io import AudioInput
from ._events import ConversationItemAdded, SpeechCreated, SpeechSource
from ._generation import LLMGeneration
from ._hooks import TurnCommitted
from ._interruption import InterruptionController
from ._nested_speech import CURRENT_TURN, in_turn_chain
from ._recognition import AudioRecognition, RecognitionHooks
from ._reply import ReplyEnv, ReplyPlan, run_reply
from ._speech_handle import CircularWaitError, SessionClosedError, SpeechHandle
from ._speech_queue import SpeechPriority, SpeechQueue, get_unless
from ._task_switch import run_agent_task
from ._tool_runner import SessionToolRunner
from ._transitions import CURRENT_ACTIVITY, IN_TURN, Switcher
from ._turn_detection import UserTurn, UserTurnTracker
from ._workflow import WorkflowState

if TYPE_CHECKING:
    from ._agent_task import AgentTask
    from ._session import AgentSession

__all__ = ["AgentActivity"]


class AgentActivity:
    def __init__(
        self, session: AgentSession[Any], agent: Agent, workflow: WorkflowState | None = None
    ) -> None:
        self.session = session
        self.agent = agent
        self.switcher = Switcher(self, workflow)
        self._changed = trio.Event()
        options = session.options
        output = session.audio_output
        self.interruptions = InterruptionController(
            options, session.state, session.bus, can_pause=output is not None and output.can_pause
        )
        providers = resolve_providers(agent, session)
        self.tracker = UserTurnTracker(
            options,
            providers.turn_detector,
            self._commit_user_turn,
            self._llm_input,
            session.hooks,
            session.state,
        )
        self.tracker.set_detection(providers.turn_detector, manual=providers.manual_turns)
        self.env = ReplyEnv(
            agent=agent,
            options=options,
            output=output,
            state=session.state,
            bus=session.bus,
            errors=session.errors,
            interruptions=self.interruptions,
            tool_executor=session.tool_executor or SessionToolRunner(self),
            hooks=session.hooks,
            record_item=self.record_item,
            end_session=session.close,
            text_output=session.text_output,
            usage=session.usage_collector,
            provider_label=session.provider_label,
            play_nested=self._play_nested,
        )
        self._queue: SpeechQueue[ReplyPlan] = SpeechQueue()
        self._pending: list[SpeechHandle] = []
        self._suspended: list[SpeechHandle] = []  # turns whose tool serves the queue
        self.closed: SessionClosedError | None = None
        self.current: SpeechHandle | None = None
        self._preemptive: LLMGeneration | None = None
        self._nursery: trio.Nursery | None = None
        self.enter_first_agent = True  # False: a resumed session, the agent entered before
        self._finishing = 0  # speeches past playout whose handoff/turn commit still runs
        self._recognition: AudioRecognition | None = None

    async def run(
        self,
        audio_input: AudioInput | None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled: listen, detect turns, play speeches."""
        CURRENT_ACTIVITY.set(self)  # inherited by every task started below
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if audio_input is not None:  # their timers only follow the user's audio
                await nursery.start(self.tracker.run)
                await nursery.start(self.interruptions.run)
            nursery.start_soon(self._schedule)
            away = self.session.options.user_away_timeout
            if away is not None:
                nursery.start_soon(self.session.state.serve_away_detection, away)
            if audio_input is not None:
                providers = resolve_providers(self.agent, self.session)
                hooks = RecognitionHooks(
                    tracker=self.tracker,
                    interruptions=self.interruptions,
                    state=self.session.state,
                    bus=self.session.bus,
                    errors=self.session.errors,
                    on_final=self._start_preemptive,
                    end_session=self.session.close,
                    discard_audio_if_uninterruptible=(
                        self.session.options.discard_audio_if_uninterruptible
                    ),
                    usage=self.session.usage_collector,
                    stt_provider=self._stt_label(providers.stt),
                    stt_chunk_duration=self.session.options.stt_chunk_duration,
                )
                recognition = AudioRecognition(self.agent, providers.vad, hooks, stt=providers.stt)
                self._recognition = recognition
                await nursery.start(recognition.run, audio_input)
            self.session.state.set_agent("listening")
            task_status.started()
            if self.enter_first_agent:
                self.switcher.start_entering(self.agent)

    # ------------------------------------------------------------ agent switching
    def _llm_input(self) -> Any:
        return self.agent.llm_input()

    def replace_agent(self, agent: Agent) -> None:
        """Make ``agent`` the active agent (synchronous; part of an atomic switch).

        Listening follows the agent's providers (``_agent_providers.py``).
        """
        self.agent.attach(None)
        agent.attach(self.session)
        self.agent = agent
        self.env = dataclasses.replace(self.env, agent=agent)
        self._cancel_preemptive()
        providers = resolve_providers(agent, self.session)
        self.tracker.set_detection(providers.turn_detector, manual=providers.manual_turns)
        if self._recognition is not None:
            self._recognition.agent_changed(
                agent,
                stt=providers.stt,
                vad=providers.vad,
                stt_label=self._stt_label(providers.stt),
            )
        self.notify()

    def _listening_vad(self) -> object:
        return resolve_providers(self.agent, self.session).vad

    def _stt_label(self, stt: object) -> str:
        """The usage label of ``stt`` ("" without one: no STT usage is recorded)."""
        if stt is None:
            return ""
        label = getattr(stt, "label", None)
        return label if isinstance(label, str) and label else "stt"

    def record_history(self, item: ChatItem) -> None:
        """Append to the session history only (e.g. handoff items); publish it."""
        self.session.history.append(item)
        self.session.bus.publish(ConversationItemAdded(item, trio.current_time()))

    def spawn(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run ``fn(*args)`` in the activity's nursery (it ends with the activity).

        The task belongs to no turn, even when spawned from one: speech it creates
        joins the queue.
        """
        assert self._nursery is not None, "the activity is running"
        self._nursery.start_soon(_outside_turns, fn, *args)

    async def run_agent_task(self, task: AgentTask[Any], *, nested: bool) -> None:
        """Run ``task`` as the active agent until it completes (see _agent_task.py)."""
        await run_agent_task(self, task, nested=nested)

    def close_tasks(self) -> None:
        """Cancel the waits of pending AgentTasks (session closing; synchronous)."""
        self.switcher.cancel_tasks()

    # ------------------------------------------------------------ idleness
    def notify(self) -> None:
        """Wake :meth:`wait_idle` waiters (synchronous)."""
        self._changed.set()
        self._changed = trio.Event()

    @property
    def idle(self) -> bool:
        """Nothing will be said without new input: no speech, transition or entry runs."""
        busy = self.switcher.busy or self.switcher.entering > 0 or self._finishing > 0
        return not busy and not self._pending and self.current is None

    async def wait_no_speech(self) -> None:
        """Return once no speech is playing (checkpoints)."""
        await trio.lowlevel.checkpoint()
        while self.current is not None:
            await self._changed.wait()

    async def wait_switchable(self) -> None:
        """Return once no speech plays or finishes and no handoff runs (checkpoints)."""
        await trio.lowlevel.checkpoint()
        while self.current is not None or self._finishing or self.switcher.transitioning:
            await self._changed.wait()

    async def wait_idle(self) -> None:
        """Return once :attr:`idle` (checkpoints); SessionClosedError once closing."""
        await trio.lowlevel.checkpoint()
        while not self.idle:
            if self.closed is not None:
                raise SessionClosedError(self.closed.reason, self.closed.error)
            await self._changed.wait()
        if self.closed is not None:
            raise SessionClosedError(self.closed.reason, self.closed.error)

    def close_speeches(self, reason: str, error: BaseException | None) -> None:
        """The session closes: every speech not finished is cut; its waiters are told."""
        self.closed = SessionClosedError(reason, error)
        self._cancel_preemptive()
        for speech in [*self._suspended, self.current, *self._pending]:
            if speech is not None:
                speech.close(reason, error)
        self.notify()

    # ------------------------------------------------------------ speeches
    def schedule(self, plan: ReplyPlan, source: SpeechSource) -> SpeechHandle:
        """Nest ``plan`` in the running turn that created it, else queue it."""
        turn = CURRENT_TURN.get()
        if turn is not None and (not turn.closed or turn.speech.interrupted):
            plan.agent = self.agent
            self._publish_created(plan.speech, source)
            turn.add(plan)  # born interrupted (and done) if the turn was cut
            return plan.speech
        return self.enqueue(plan, source)

    def enqueue(self, plan: ReplyPlan, source: SpeechSource) -> SpeechHandle:
        speech = plan.speech
        plan.agent = self.agent
        self._pending.append(speech)
        speech.wait_guard = self._check_wait
        speech.on_interrupt(lambda: self._drop_pending(speech))
        self.notify()
        self._publish_created(speech, source)
        self._queue.put(plan, speech.priority)
        return speech

    def _publish_created(self, speech: SpeechHandle, source: SpeechSource) -> None:
        self.session.bus.publish(
            SpeechCreated(speech.id, source, source != "user_turn", trio.current_time())
        )

    def _drop_pending(self, speech: SpeechHandle) -> None:
        """A queued speech interrupted before it started is done at once."""
        if speech in self._pending:
            self._pending.remove(speech)
            speech.mark_done()
            self.notify()

    def _check_wait(self, speech: SpeechHandle) -> None:
        """Refuse an await of a queued speech from inside the turn it waits behind."""
        turn = CURRENT_TURN.get()
        if turn is None:
            return
        if in_turn_chain(speech, turn):
            raise CircularWaitError("a turn cannot wait for itself or for an enclosing turn")
        if speech in self._pending and not self._suspended:
            raise CircularWaitError(
                "this speech is queued behind the turn that awaits it; create it from "
                "inside the turn (it then plays nested) or do not await it there"
            )

    def new_handle(
        self,
        source: SpeechSource,
        allow_interruptions: bool | None,
        priority: int = SpeechPriority.NORMAL,
    ) -> SpeechHandle:
        if allow_interruptions is None:
            allow_interruptions = self.agent.allow_interruptions
        if allow_interruptions is None:
            allow_interruptions = self.session.options.allow_interruptions
        return SpeechHandle(
            source=source, allow_interruptions=allow_interruptions, priority=priority
        )

    async def _play_nested(self, plan: ReplyPlan) -> None:
        """Play a nested speech inside the running turn (see _nested_speech.py)."""
        if plan.agent is not self.agent:
            plan.chat_ctx = None
        parent = plan.speech.parent
        await self._run_reply_observed(plan)
        if parent is not None and not parent.done() and not parent.interrupted:
            self.session.state.set_agent("thinking")  # back to the turn's tool step

    def interrupt_all(self, *, force: bool = False, reason: str = "api_interrupt") -> None:
        """Interrupt the current and queued speeches, stopping at an uninterruptible one.

        Also cancels a preemptive generation. Synchronous: every interrupted turn's
        sink is revoked and its scope cancelled before this returns.
        """
        self._cancel_preemptive()
        self._interrupt_speeches(force=force, reason=reason)

    def _interrupt_speeches(self, *, force: bool, reason: str) -> None:
        for speech in [s for s in [self.current, *self._pending] if s is not None]:
            if not speech.allow_interruptions and not force:
                break
            speech.interrupt(force=force, reason=reason)

    async def _schedule(self) -> None:
        while True:
            plan = await self._queue.get()
            await self.switcher.wait_settled()
            await self.run_plan(plan)

    async def run_plan(self, plan: ReplyPlan) -> None:
        """Play one queued speech, then run the handoff it decided, if any."""
        speech = plan.speech
        if speech.done():  # interrupted while queued
            if plan.preemptive is not None:
                plan.preemptive.cancel()
            return
        self._pending.remove(speech)
        if plan.agent is not self.agent:  # queued before a switch: rebuild for this agent
            plan.chat_ctx = None
            if plan.preemptive is not None:
                plan.preemptive.cancel()
                plan.preemptive = None
        if speech.interrupted:
            if plan.preemptive is not None:
                plan.preemptive.cancel()
            speech.mark_done()
            self.notify()
            return
        self.current = speech
        token = IN_TURN.set(True)
        try:
            await self._run_reply_observed(plan)
        finally:
            IN_TURN.reset(token)
            self.current = None
            self._finishing += 1  # not idle until the handoff and the commit ran
            self.notify()
        try:
            await self._run_handoff_observed()
            if self.session.hooks.active and not speech.interrupted and speech.error is None:
                workflow = self.switcher.workflow
                state = workflow.current.__name__ if workflow is not None else None
                snapshot = TurnCommitted.of(
                    self.agent, state, self.session.userdata_or_none, speech
                )
                await self.session.hooks.turn_committed(snapshot)
        finally:
            self._finishing -= 1
            self.notify()

    async def _run_reply_observed(self, plan: ReplyPlan) -> None:
        """``run_reply`` reported as an ``agent_turn`` scope (id: the speech id)."""
        hooks, speech = self.session.hooks, plan.speech
        agent = self.agent.name if hooks.active else ""
        with hooks.scope(
            "agent_turn",
            hooks.session_scope_id,
            {"lk.speech_id": speech.id, "lk.agent_name": agent} if agent else {},
            scope_id=speech.id,
            cancel_reason=lambda: speech.interrupt_reason or "superseded",
        ) as note:
            await run_reply(self.env, plan)
            if speech.interrupted:
                note.outcome, note.reason = "cancelled", speech.interrupt_reason
            elif speech.error is not None:
                note.outcome, note.reason = "error", type(speech.error).__name__

    async def run_decided_handoff(self) -> None:
        """Run the handoff decided outside a turn (``update_agent``)."""
        await self._run_handoff_observed()

    async def _run_handoff_observed(self) -> None:
        """The decided handoff, if any, reported as a ``handoff`` scope."""
        hooks = self.session.hooks
        if not hooks.active or not self.switcher.handoff_decided:
            await self.switcher.run_handoff()
            return
        old = self.agent
        with hooks.scope("handoff", hooks.session_scope_id, {"lk.from_agent": old.name}) as note:
            await self.switcher.run_handoff()
            if self.agent is old:
                note.outcome, note.reason = "error", "not_switched"
            note.attributes["lk.to_agent"] = self.agent.name

    async def serve_until(self, done: trio.Event) -> None:
        """Play queued speeches in this task until ``done`` is set (AgentTask from a tool).

        Takes turns with the speeches the calling turn nests (its ``floor``).
        """
        parent, self.current = self.current, None  # the suspended turn cannot be barged in on
        turn = CURRENT_TURN.get()
        if parent is not None:
            self._suspended.append(parent)
        try:
            while not done.is_set():
                plan = await get_unless(self._queue, done)
                if plan is None:
                    continue
                if turn is None:
                    await self.run_plan(plan)
                    continue
                async with turn.floor:
                    await self.run_plan(plan)
        finally:
            if parent is not None:
                self._suspended.remove(parent)
            self.current = parent

    def record_item(self, item: ChatItem) -> None:
        """Append to the agent's context and the session history; publish it."""
        self.agent.chat_ctx.append(item)
        self.session.history.append(item)
        self.session.bus.publish(ConversationItemAdded(item, trio.current_time()))

    # ------------------------------------------------------------ user turns
    def _active_speech(self) -> SpeechHandle | None:
        speech = self.current
        if speech is None or speech.done() or speech.interrupted:
            return None
        return speech

    def _commit_user_turn(self, turn: UserTurn) -> bool:
        """Synchronous end-of-turn decision (cannot be cancelled half-way)."""
        active = self._active_speech()
        min_words = self.session.options.min_interruption_words
        interruptible = active is not None and active.allow_interruptions and not active.paused
        short = min_words and len(turn.transcript.split()) < min_words
        if interruptible and short and not turn.manual:
            return False  # too short to take the floor; keep accumulating
        speaking = active is not None and active.allow_interruptions and not turn.manual
        if speaking and self.interruptions.is_backchannel(turn.transcript):
            self.interruptions.resume_backchannel()  # "mm-hm" over the agent: not a turn
            return True
        message = ChatMessage(
            role="user",
            content=turn.transcript,
            created_at=turn.committed_at,
            metrics=_turn_metrics(turn),
        )
        self.record_item(message)
        if not turn.reply:  # commit_user_turn(skip_reply=True): on the record, unanswered
            self._cancel_preemptive()
            return True
        if active is not None and not active.allow_interruptions:
            self._cancel_preemptive()  # the user spoke over uninterruptible speech: no reply
            return True
        self._interrupt_speeches(
            force=False, reason="user_barge_in"
        )  # a preemptive generation is checked below
        if self._nursery is not None:
            self.spawn(self._reply_to_user, turn, message)
        return True

    def commit_trailing_speech(self) -> ChatMessage | None:
        """The session closed: words the STT delivered that no turn committed yet go
        on the record as an unanswered user message (returned; None if there were none)."""
        turn = self.tracker.pending()
        if turn is None:
            return None
        if turn.started_speaking_at is None and self._listening_vad() is not None:
            return None  # no speech since the last commit: the STT catching up on it
        self.tracker.clear()
        message = ChatMessage(
            role="user",
            content=turn.transcript,
            created_at=turn.committed_at,
            metrics=_turn_metrics(turn),
        )
        self.record_item(message)
        return message

    def snapshot_after(self, message: ChatMessage) -> TurnCommitted:
        """The turn boundary right after ``message`` was recorded (no speech of its own)."""
        workflow = self.switcher.workflow
        return TurnCommitted(
            chat_ctx=self.agent.chat_ctx.copy(),
            agent_name=self.agent.name,
            fsm_state=workflow.current.__name__ if workflow is not None else None,
            userdata=self.session.userdata_or_none,
            speech_id=message.id,
            created_at=trio.current_time(),
        )

    def commit_user_turn(
        self, *, transcript_timeout: float, stt_flush_duration: float, skip_reply: bool
    ) -> None:
        """End the user's turn now (see ``AgentSession.commit_user_turn``)."""
        if self._recognition is not None and stt_flush_duration > 0:
            self._recognition.flush_stt(stt_flush_duration)
        self.tracker.commit_manually(transcript_timeout=transcript_timeout, reply=not skip_reply)

    def clear_user_turn(self) -> None:
        """Drop what the user said so far in this turn (see ``AgentSession``)."""
        self.tracker.clear(until_speech=True)
        self._cancel_preemptive()

    async def _reply_to_user(self, turn: UserTurn, message: ChatMessage) -> None:
        await self.switcher.wait_settled()
        turn_ctx = self.agent.llm_input()
        await self.agent.on_user_turn_completed(turn_ctx, message)
        preemptive, self._preemptive = self._preemptive, None
        if preemptive is not None and not preemptive.matches(turn_ctx, self.agent.tool_specs):
            preemptive.cancel()
            preemptive = None
        plan = ReplyPlan(
            speech=self.new_handle("user_turn", None),
            user_turn=turn,
            preemptive=preemptive,
            chat_ctx=turn_ctx,
        )
        self.enqueue(plan, "user_turn")

    # ------------------------------------------------------------ preemption
    def _start_preemptive(self, transcript: str) -> None:
        """Final transcript before end of turn: start the LLM now (may be reused)."""
        if not self.session.options.preemptive_generation or self._nursery is None:
            return
        if self.switcher.busy:
            return
        if self._active_speech() is not None or self._pending:
            return
        self._cancel_preemptive()
        ctx = self.agent.llm_input()
        ctx.append(ChatMessage(role="user", content=transcript))
        generation = LLMGeneration(
            self.agent,
            ctx,
            self.agent.tool_specs,
            usage=self.session.usage_collector,
            provider=self.session.provider_label("llm"),
        )
        self._preemptive = generation
        self._nursery.start_soon(generation.run)

    def _cancel_preemptive(self) -> None:
        if self._preemptive is not None:
            self._preemptive.cancel()
            self._preemptive = None


async def _outside_turns(fn: Callable[..., Awaitable[None]], *args: Any) -> None:
    CURRENT_TURN.set(None)  # this task's own context (a copy of the spawner's)
    await fn(*args)


def _turn_metrics(turn: UserTurn) -> dict[str, float]:
    metrics = {"committed_at": turn.committed_at}
    if turn.started_speaking_at is not None:
        metrics["started_speaking_at"] = turn.started_speaking_at
    if turn.stopped_speaking_at is not None:
        metrics["stopped_speaking_at"] = turn.stopped_speaking_at
    if turn.end_of_turn_delay is not None:
        metrics["end_of_turn_delay"] = turn.end_of_turn_delay
    return metrics
