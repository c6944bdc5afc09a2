"""AgentActivity: the runtime of one agent inside a session.

Scope tree (each level an ``async with`` owned by the one above)::

    session nursery                        AgentSession.start()
    └── activity nursery                   AgentActivity.run()
        ├── turn tracker (endpointing waits)
        ├── interruption controller (false-interruption timers)
        ├── audio recognition (VAD/STT pump)
        ├── preemptive generations (at most one live)
        └── scheduler ── turn scope        run_reply(): one SpeechHandle
                         └── utterance     Utterance.run(): TTS + playout (child scope)

Speeches play one at a time in queue order. The activity glues the pieces with
synchronous callbacks (commit a user turn, start a preemptive generation) and owns
nothing the pieces could share by accident: turns get a :class:`ReplyEnv`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import trio

from ..core import ChatItem, ChatMessage
from ._agent import Agent
from ._audio_io import AudioInput
from ._events import ConversationItemAdded, SpeechCreated, SpeechSource
from ._generation import LLMGeneration
from ._interruption import InterruptionController
from ._recognition import AudioRecognition
from ._reply import ReplyEnv, ReplyPlan, run_reply
from ._speech_handle import SpeechHandle
from ._turn_detection import UserTurn, UserTurnTracker

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["AgentActivity"]


class AgentActivity:
    def __init__(self, session: AgentSession[Any], agent: Agent) -> None:
        self.session = session
        self.agent = agent
        options = session.options
        output = session.audio_output
        self.interruptions = InterruptionController(
            options, session.state, session.bus, can_pause=output is not None and output.can_pause
        )
        self.tracker = UserTurnTracker(
            options, session.turn_detector, self._commit_user_turn, agent.llm_input
        )
        self.env = ReplyEnv(
            agent=agent,
            options=options,
            output=output,
            state=session.state,
            bus=session.bus,
            errors=session.errors,
            interruptions=self.interruptions,
            tool_executor=session.tool_executor,
            record_item=self.record_item,
            end_session=session.close,
        )
        self._queue_send, self._queue = trio.open_memory_channel[ReplyPlan](math.inf)
        self._pending: list[SpeechHandle] = []
        self.current: SpeechHandle | None = None
        self._preemptive: LLMGeneration | None = None
        self._nursery: trio.Nursery | None = None

    async def run(
        self,
        audio_input: AudioInput | None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled: listen, detect turns, play speeches."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.tracker.run)
            await nursery.start(self.interruptions.run)
            nursery.start_soon(self._schedule)
            away = self.session.options.user_away_timeout
            if away is not None:
                nursery.start_soon(self.session.state.serve_away_detection, away)
            if audio_input is not None:
                recognition = AudioRecognition(
                    self.agent,
                    self.session.vad,
                    self.tracker,
                    self.interruptions,
                    self.session.state,
                    self.session.bus,
                    self.session.errors,
                    self._start_preemptive,
                    self.session.close,
                )
                await nursery.start(recognition.run, audio_input)
            self.session.state.set_agent("listening")
            task_status.started()
            await self.agent.on_enter()

    # ------------------------------------------------------------ speeches
    def enqueue(self, plan: ReplyPlan, source: SpeechSource) -> SpeechHandle:
        self._pending.append(plan.speech)
        self.session.bus.publish(
            SpeechCreated(plan.speech.id, source, source != "user_turn", trio.current_time())
        )
        self._queue_send.send_nowait(plan)
        return plan.speech

    def new_handle(self, source: SpeechSource, allow_interruptions: bool | None) -> SpeechHandle:
        if allow_interruptions is None:
            allow_interruptions = self.agent.allow_interruptions
        if allow_interruptions is None:
            allow_interruptions = self.session.options.allow_interruptions
        return SpeechHandle(source=source, allow_interruptions=allow_interruptions)

    def interrupt_all(self, *, force: bool = False) -> None:
        """Interrupt the current and queued speeches, stopping at an uninterruptible one.

        Also cancels a preemptive generation. Synchronous: every interrupted turn's
        sink is revoked and its scope cancelled before this returns.
        """
        self._cancel_preemptive()
        self._interrupt_speeches(force=force)

    def _interrupt_speeches(self, *, force: bool) -> None:
        for speech in [s for s in [self.current, *self._pending] if s is not None]:
            if not speech.allow_interruptions and not force:
                break
            speech.interrupt(force=force)

    async def _schedule(self) -> None:
        async for plan in self._queue:
            speech = plan.speech
            self._pending.remove(speech)
            if speech.interrupted:
                if plan.preemptive is not None:
                    plan.preemptive.cancel()
                speech.mark_done()
                continue
            self.current = speech
            try:
                await run_reply(self.env, plan)
            finally:
                self.current = None

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
        if interruptible and min_words and len(turn.transcript.split()) < min_words:
            return False  # too short to take the floor; keep accumulating
        message = ChatMessage(
            role="user",
            content=turn.transcript,
            created_at=turn.committed_at,
            metrics=_turn_metrics(turn),
        )
        self.record_item(message)
        if active is not None and not active.allow_interruptions:
            self._cancel_preemptive()  # the user spoke over uninterruptible speech: no reply
            return True
        self._interrupt_speeches(force=False)  # a preemptive generation is checked below
        if self._nursery is not None:
            self._nursery.start_soon(self._reply_to_user, turn, message)
        return True

    async def _reply_to_user(self, turn: UserTurn, message: ChatMessage) -> None:
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
        if self._active_speech() is not None or self._pending:
            return
        self._cancel_preemptive()
        ctx = self.agent.llm_input()
        ctx.append(ChatMessage(role="user", content=transcript))
        generation = LLMGeneration(self.agent, ctx, self.agent.tool_specs)
        self._preemptive = generation
        self._nursery.start_soon(generation.run)

    def _cancel_preemptive(self) -> None:
        if self._preemptive is not None:
            self._preemptive.cancel()
            self._preemptive = None


def _turn_metrics(turn: UserTurn) -> dict[str, float]:
    metrics = {"committed_at": turn.committed_at}
    if turn.started_speaking_at is not None:
        metrics["started_speaking_at"] = turn.started_speaking_at
    if turn.stopped_speaking_at is not None:
        metrics["stopped_speaking_at"] = turn.stopped_speaking_at
    if turn.end_of_turn_delay is not None:
        metrics["end_of_turn_delay"] = turn.end_of_turn_delay
    return metrics
