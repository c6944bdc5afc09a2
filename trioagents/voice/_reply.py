"""One turn: the cancel scope of a reply, its LLM steps, and what it leaves in the context.

``run_reply`` is the turn scope. Interrupting the :class:`SpeechHandle` runs, in one
synchronous call, ``sink.revoke()`` (the device queue is cleared and no further
frame of this reply is accepted) and ``turn_scope.cancel()``. Inside the turn, each
LLM step is an :class:`~trioagents.voice._playout.Utterance` (the child scope) fed
by an :class:`LLMGeneration`.

When a step ends -- played, failed or cancelled -- its cleanup runs shielded and
bounded by ``close_grace``: the LLM stream is cancelled and awaited closed, the sink
is asked where playback stopped, and exactly the heard text is recorded as the
assistant message (``interrupted=True`` when cut). Nothing heard → no message.

Provider errors are resolved by the :class:`ErrorPolicy` after the step's scope
exited, so a user hook never runs inside a half-cancelled step.

Mid-stream failover (``SessionOptions.mid_stream_failover``): when the LLM fails
after part of the reply was produced and its fallback group switched
(``ProviderError.failed_over``), the step goes on inside the same scope. With
``"continue"`` a new generation on the next member gets the produced text as a
partial assistant message and is asked to go on from there; its words flow into
the same utterance, so the user hears one reply and the chat context holds it as
one message. With ``"restart"`` the step's nursery is cancelled (what was not yet
played is dropped, the heard part is recorded ``interrupted=True``) and the step
runs again. A failed generation that had already produced tool calls is always
restarted (its calls have not run). Each failover leaves a system note in the chat
context after the reply and an :class:`ErrorOccurred` with action ``RetryRequest``;
it counts as no unrecoverable error. The TTS does the same per sentence
(:mod:`._playout`).

Speech created while the turn runs (a tool's ``say``) is *nested*: it plays inside
the turn's scope during the tool step and before the next LLM step
(:mod:`._nested_speech`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import trio

from ..core import (
    AudioFrame,
    ChatContext,
    ChatItem,
    ChatMessage,
    EndSession,
    ErrorSource,
    LLMTextDelta,
    LLMToolCall,
    ProviderError,
    RetryRequest,
    SayMessage,
    ToolChoice,
)
from ._agent import Agent
from ._audio_io import AudioOutput, TextOutput
from ._error_policy import ErrorPolicy
from ._event_bus import EventBus, StateTracker
from ._events import SessionUsageUpdated
from ._generation import LLMGeneration, ToolCallExecutor
from ._hooks import SessionHooks
from ._interruption import InterruptionController
from ._nested_speech import CURRENT_TURN, NestedSpeeches
from ._options import SessionOptions
from ._playout import Utterance
from ._speech_handle import SpeechHandle
from ._tools_exec import tool_choice_for_step
from ._transcript_sync import SpeakingRate, TranscriptSynchronizer
from ._turn_common import (
    begin_turn,
    publish_tools_executed,
    publish_turn_metrics,
    run_in_turn_scope,
)
from ._turn_detection import UserTurn
from ._usage import UsageCollector, UsageKind

__all__ = [
    "ReplyEnv",
    "ReplyPlan",
    "TurnRunner",
    "run_reply",
]

_MAX_FAILOVERS = 3  # per step: a group that keeps switching gives up after this
_CONTINUE = (
    "Your previous reply was cut off by a technical fault right after the text above. "
    "Continue it from exactly that point: do not repeat it and do not mention the fault."
)


@dataclass(frozen=True, slots=True)
class ReplyEnv:
    """What a turn needs from its activity (no back-reference to the session)."""

    agent: Agent
    options: SessionOptions
    output: AudioOutput | None
    state: StateTracker
    bus: EventBus
    errors: ErrorPolicy
    interruptions: InterruptionController
    tool_executor: ToolCallExecutor
    record_item: Callable[[ChatItem], None]
    end_session: Callable[[str, ProviderError | None], None]
    text_output: TextOutput | None = None
    hooks: SessionHooks = field(default_factory=SessionHooks)
    usage: UsageCollector = field(default_factory=UsageCollector)
    provider_label: Callable[[UsageKind], str] = str  # "llm" -> the session LLM's label
    play_nested: Callable[[ReplyPlan], Awaitable[None]] | None = None  # default: run_reply
    speaking_rate: SpeakingRate = field(default_factory=SpeakingRate)  # the agent's voice
    realtime: TurnRunner | None = None  # a realtime model's turns (``_realtime_turn.py``)


class TurnRunner(Protocol):
    """Runs an LLM turn another way than the pipeline does (a realtime model)."""

    async def __call__(self, env: ReplyEnv, plan: ReplyPlan) -> None: ...


@dataclass(slots=True)
class ReplyPlan:
    """``text`` set: speak it (``say``); else generate with the LLM (maybe preemptively).

    ``audio``: pre-rendered frames played instead of synthesizing ``text`` (``text``
    is then the transcript). ``instructions``: added to the agent's instructions
    for this reply's LLM steps only. ``tool_choice``: for the first LLM step (see
    :func:`tool_choice_for_step`).
    """

    speech: SpeechHandle
    text: str | None = None
    audio: AsyncIterable[AudioFrame] | None = None
    instructions: str | None = None
    tool_choice: ToolChoice | None = None  # None: the LLM's own default on step 1
    user_turn: UserTurn | None = None
    preemptive: LLMGeneration | None = None
    chat_ctx: ChatContext | None = None  # first step's LLM input (default: the agent's)
    add_to_chat_ctx: bool = True
    metrics: dict[str, float] = field(default_factory=dict)
    agent: Agent | None = None  # the active agent when queued (set by the activity)


async def run_reply(env: ReplyEnv, plan: ReplyPlan) -> None:
    """Run ``plan.speech`` to completion or interruption; never raises ProviderError.

    With a realtime model (``env.realtime``) its turn runs an LLM reply; ``say()``
    text still plays through the TTS pipeline."""
    try:
        if env.realtime is not None and plan.text is None:
            await env.realtime(env, plan)
        else:
            await _Turn(env, plan).run()
    finally:
        if plan.preemptive is not None:
            await _close_generation(plan.preemptive, env.options.close_grace)
        env.interruptions.end(plan.speech)
        if env.state.agent in ("thinking", "speaking"):
            env.state.set_agent("listening")
        update = env.usage.take_update()
        if update is not None:
            env.bus.publish(SessionUsageUpdated(update, trio.current_time()))
        plan.speech.mark_done()


class _Turn:
    def __init__(self, env: ReplyEnv, plan: ReplyPlan) -> None:
        self.env = env
        self.plan = plan
        self.speech = plan.speech
        self.utterance: Utterance | None = None
        self.utterance_scope_id: str | None = None
        self.scope = trio.CancelScope()
        self.notes: list[str] = []  # failover notes, recorded after the step's message
        self.restart: ProviderError | None = None  # the step is to run again (failover)
        self.step_choice: ToolChoice | None = None
        play = env.play_nested or (lambda nested: run_reply(env, nested))
        self.nested = NestedSpeeches(plan.speech, CURRENT_TURN.get(), play)

    def _interrupted(self) -> None:
        if self.utterance is not None and self.utterance.sink is not None:
            self.utterance.sink.revoke()
        self.scope.cancel()

    async def run(self) -> None:
        await run_in_turn_scope(self.nested, self.scope, self._run_steps)
        publish_turn_metrics(self.env.bus, self.plan)

    async def _run_steps(self) -> None:
        env = self.env
        begin_turn(env, self.speech, self._interrupted)
        text, generation = self.plan.text, self.plan.preemptive
        self.plan.preemptive = None
        for step in range(1, env.options.max_tool_steps + 2):
            choice = tool_choice_for_step(
                step, max_tool_steps=env.options.max_tool_steps, requested=self.plan.tool_choice
            )
            again = await self._step(text, generation, tool_choice=choice)
            text, generation = None, None
            if not again:
                break
        await self.nested.drain()  # speech created during the last LLM step

    async def _step(
        self,
        text: str | None,
        generation: LLMGeneration | None,
        *,
        tool_choice: ToolChoice | None,
    ) -> bool:
        """One LLM step (or fixed text) played out; True if the LLM must speak again."""
        env = self.env
        owned = text is None and generation is None
        if owned:
            tools = env.agent.tool_specs if tool_choice != "none" else ()
            chat_ctx, self.plan.chat_ctx = self.plan.chat_ctx or env.agent.llm_input(), None
            generation = LLMGeneration(
                env.agent,
                _with_instructions(chat_ctx, env.agent.instructions, self.plan.instructions),
                tools,
                usage=env.usage,
                provider=env.provider_label("llm"),
                tool_choice=tool_choice,
            )
        utterance = Utterance(
            env.agent,
            self.speech,
            env.output,
            env.state,
            env.options.playout_grace,
            env.text_output,
        )
        utterance.sync = TranscriptSynchronizer(env.speaking_rate)  # this voice's measured rate
        utterance.failover_policy = env.options.mid_stream_failover
        utterance.tts_input = env.options.tts_input
        # not a bound method: the utterance would hold the turn in a reference cycle
        utterance.on_failover = functools.partial(_tts_failed_over, env.errors, self.notes)
        self.step_choice = tool_choice
        generations = [generation] if generation is not None else []
        utterance.fixed_text = text
        if text is not None:
            utterance.fixed_audio, self.plan.audio = self.plan.audio, None
        self.utterance = utterance
        calls: list[LLMToolCall] = []
        with env.hooks.scope(
            "utterance", self.speech.id, {}, cancel_reason=self._cancel_reason
        ) as note:
            self.utterance_scope_id = utterance.scope_id = note.scope_id
            utterance.hooks = env.hooks
            utterance.usage, utterance.tts_provider = env.usage, env.provider_label("tts")
            try:
                async with trio.open_nursery() as nursery:
                    send, recv = trio.open_memory_channel[str](math.inf)
                    if owned and generation is not None:
                        await nursery.start(generation.run)
                    nursery.start_soon(self._feed, generations, text, send, calls, nursery)
                    nursery.start_soon(utterance.run, recv)
            finally:
                # shielded; each await inside is bounded by close_grace on its own, so
                # the heard text is recorded even when the stream close used up its grace
                with trio.CancelScope(shield=True):
                    for each in generations:
                        await _close_generation(each, env.options.close_grace)
                    await self._commit_heard(utterance)
            if self.speech.interrupted:  # cut, even if no checkpoint raised Cancelled here
                note.outcome, note.reason = "cancelled", self._cancel_reason()
            elif utterance.error is not None:
                note.outcome, note.reason = "error", type(utterance.error).__name__
        generation = generations[-1] if generations else None
        return await self._after_step(generation, utterance, calls)

    def _cancel_reason(self) -> str:
        return self.speech.interrupt_reason or "superseded"

    async def _feed(
        self,
        generations: list[LLMGeneration],
        text: str | None,
        out: trio.MemorySendChannel[str],
        calls: list[LLMToolCall],
        step: trio.Nursery,
    ) -> None:
        async with out:
            if not generations:
                await out.send(text or "")
                return
            produced: list[str] = []
            while True:
                generation = generations[-1]
                await self._relay(generation, out, calls, produced)
                successor = self._failover_successor(generation, calls, produced, generations)
                if successor is None:
                    return
                if self.restart is not None:
                    step.cancel_scope.cancel()  # drop what was not played; run the step again
                    return
                await step.start(successor.run)
                generations.append(successor)

    def _failover_successor(
        self,
        failed: LLMGeneration,
        calls: list[LLMToolCall],
        produced: list[str],
        generations: list[LLMGeneration],
    ) -> LLMGeneration | None:
        """After ``failed`` ended: the generation that continues the step, or None.

        Sets ``self.restart`` (and returns the failed generation) when the step must
        start over instead; see the module docstring.
        """
        error, policy = failed.error, self.env.options.mid_stream_failover
        if error is None or error.failed_over is None or policy == "off":
            return None
        if len(generations) > _MAX_FAILOVERS or self.speech.interrupted:
            return None
        self.env.errors.recovered("llm", error)
        if policy == "restart" or calls:
            self.restart = error
            self.notes.append(_failover_note("LLM", error, "answered again"))
            return failed
        self.notes.append(_failover_note("LLM", error, "continued the reply"))
        chat_ctx = failed.chat_ctx.copy()
        partial = "".join(produced)
        if partial.strip():
            chat_ctx.append(ChatMessage(role="assistant", content=partial, interrupted=True))
            chat_ctx.append(ChatMessage(role="system", content=_CONTINUE))
        return LLMGeneration(
            failed.agent,
            chat_ctx,
            failed.tools,
            usage=self.env.usage,
            provider=self.env.provider_label("llm"),
            tool_choice=failed.tool_choice,
        )

    async def _relay(
        self,
        generation: LLMGeneration,
        out: trio.MemorySendChannel[str],
        calls: list[LLMToolCall],
        produced: list[str],
    ) -> None:
        """Forward one generation's text; reported as an ``llm`` scope."""
        hooks = self.env.hooks
        with hooks.scope(
            "llm", self.utterance_scope_id, {}, cancel_reason=self._cancel_reason
        ) as note:
            async for event in generation.events:
                if isinstance(event, LLMTextDelta):
                    ttft = generation.ttft
                    if ttft is not None:
                        self.plan.metrics.setdefault("llm_ttft", ttft)
                    produced.append(event.text)
                    await out.send(event.text)
                elif isinstance(event, LLMToolCall):
                    calls.append(event)
            if generation.error is not None:
                note.outcome, note.reason = "error", type(generation.error).__name__
            if generation.ttft is not None:
                note.attributes["lk.llm.ttft"] = generation.ttft

    async def _commit_heard(self, utterance: Utterance) -> None:
        """Record what was heard (shielded caller). Checkpoints in ``wait_for_playout``."""
        position = await self._settle_playback(utterance)
        heard = utterance.heard_text(position)
        if utterance.started and "e2e" not in self.plan.metrics:
            self._record_start_metrics(utterance)
        if heard and self.env.text_output is not None:
            self.env.text_output.publish_transcript(self.speech.id, heard, final=True)
        if heard and self.plan.add_to_chat_ctx:
            message = ChatMessage(
                role="assistant",
                content=heard,
                interrupted=(
                    position is not None or self.speech.interrupted or self.restart is not None
                ),
                created_at=trio.current_time(),
            )
            self.speech.chat_items.append(message)
            self.env.record_item(message)
        notes, self.notes = self.notes, []
        for text in notes:
            if self.plan.add_to_chat_ctx:
                self.env.record_item(
                    ChatMessage(role="system", content=text, created_at=trio.current_time())
                )

    async def _settle_playback(self, utterance: Utterance) -> float | None:
        """Seconds heard, or None when everything generated was played."""
        sink, output = utterance.sink, self.env.output
        if sink is None:
            return None
        if utterance.playback is not None and not utterance.playback.interrupted:
            return None
        if utterance.playback is not None:
            return utterance.playback.playback_position
        if not sink.started or output is None:
            return 0.0
        sink.revoke()  # cancelled for another reason than interrupt(): stop the audio too
        with trio.move_on_after(self.env.options.close_grace):
            return (await output.wait_for_playout()).playback_position
        assert sink.first_frame_at is not None  # the sink never reported: estimate
        return min(sink.written, trio.current_time() - sink.first_frame_at)

    def _record_start_metrics(self, utterance: Utterance) -> None:
        metrics, env = self.plan.metrics, self.env
        assert utterance.first_output_at is not None
        metrics["e2e"] = utterance.first_output_at
        if utterance.tts_requested_at is not None and utterance.tts_first_frame_at is not None:
            metrics["tts_ttfb"] = utterance.tts_first_frame_at - utterance.tts_requested_at
        env.errors.succeeded("llm")
        env.errors.succeeded("tts")

    async def _after_step(
        self, generation: LLMGeneration | None, utterance: Utterance, calls: list[LLMToolCall]
    ) -> bool:
        if self.restart is not None and not self.speech.interrupted:
            self.restart = None
            calls.clear()  # the failed generation's calls never ran
            return await self._step(None, None, tool_choice=self.step_choice)
        failure: tuple[ErrorSource, ProviderError] | None = None
        if generation is not None and generation.error is not None:
            failure = ("llm", generation.error)
        elif utterance.error is not None:
            failure = ("tts", utterance.error)
        if failure is not None:
            return await self._handle_failure(*failure, utterance)
        if not calls or self.speech.interrupted:
            return False
        env = self.env
        outcome = await self.nested.serve_while(
            lambda: env.tool_executor(env.agent, self.speech, calls)
        )
        for item in outcome.items:
            self.speech.chat_items.append(item)
            self.env.record_item(item)
        publish_tools_executed(self.env.bus, self.speech, outcome)
        return outcome.reply_required

    async def _handle_failure(
        self, source: ErrorSource, error: ProviderError, utterance: Utterance
    ) -> bool:
        env = self.env
        self.speech.error = error
        action = await env.errors.resolve(
            source, error, agent=env.agent.name, chat_ctx=env.agent.llm_input()
        )
        if isinstance(action, RetryRequest) and not utterance.started:
            # run the failed step again (fixed text again, or a fresh generation)
            if utterance.fixed_text is not None:
                self.plan.audio = utterance.fixed_audio  # not started: nothing was consumed
            return await self._step(utterance.fixed_text, None, tool_choice="auto")
        if isinstance(action, SayMessage):
            await self._step(action.text, None, tool_choice="none")
        elif isinstance(action, EndSession):
            env.end_session(action.reason, error)
        return False


def _failover_note(kind: str, error: ProviderError, what: str) -> str:
    """The system note a mid-stream failover leaves in the chat context."""
    return (
        f"[{kind} failover: {error.provider} failed mid-reply ({type(error).__name__}); "
        f"{error.failed_over} {what}.]"
    )


async def _close_generation(generation: LLMGeneration, grace: float) -> None:
    """Cancel a completion and wait (shielded, bounded) until its stream is closed."""
    generation.cancel()
    with trio.CancelScope(shield=True), trio.move_on_after(grace):
        await generation.wait_closed()


def _with_instructions(chat_ctx: ChatContext, instructions: str, extra: str | None) -> ChatContext:
    """``chat_ctx`` with ``extra`` added to the agent's instructions (this reply only)."""
    if not extra:
        return chat_ctx
    items = list(chat_ctx)
    combined = f"{instructions}\n\n{extra}" if instructions else extra
    first = items[0] if items else None
    if isinstance(first, ChatMessage) and first.role == "system" and first.content == instructions:
        items[0] = ChatMessage(role="system", content=combined, created_at=first.created_at)
    else:
        items.insert(0, ChatMessage(role="system", content=combined))
    return ChatContext(items)


def _tts_failed_over(
    errors: ErrorPolicy, notes: list[str], error: ProviderError, restarted: bool
) -> None:
    """The utterance went on after a TTS member failed mid-sentence."""
    errors.recovered("tts", error)
    what = "spoke the sentence again" if restarted else "spoke the rest"
    notes.append(_failover_note("TTS", error, what))
