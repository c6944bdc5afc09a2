"""The realtime turn: a reply of a speech-to-speech model inside the turn scope.

It replaces the pipeline's LLM step (``_reply.py``) when the session's ``llm`` is
a :class:`~trioagents.core.RealtimeLLM`, and keeps its shape: one
:class:`~trioagents.voice.SpeechHandle`, one cancel scope, steps of one model
reply each, tool steps between them, nested speech served during tool steps.

One step:

1. the link prepares the live connection (``_realtime_link.py``: the agent's
   instructions and tools, the context items the model does not hold; without
   the model's turn detection, the user's audio is committed here);
2. ``async with session.respond(...)`` asks for the reply *inside the turn's
   scope*; its frames go through the turn's revocable sink
   (``_realtime_playout.py``), its transcript into the synchronizer, its tool
   calls are collected;
3. cleanup, shielded, each wait bounded by ``close_grace``: the sink says where
   playback stopped; a reply cut short is truncated there on the model's side
   (``conversation.item.truncate`` at ``audio_end_ms`` = the position; deleted if
   nothing was heard), and exactly the heard words are recorded as the assistant
   message, with the model's item id, ``interrupted=True``.

Barge-in is ``speech.interrupt()``: in that one synchronous call the sink is
revoked (no frame after it reaches the output) and the turn's scope cancelled.
Unwinding, the ``respond`` block sends ``response.cancel`` (shielded) -- the
model stops generating -- and step 3 sends the truncation: both within the same
cancel, before the turn's scope has exited.

Tool calls run after the reply played, through the session's tool executor
(``_tool_runner.py``: parallel, committed in call order, handoffs decided there);
their outputs reach the model with the next step's preparation, then a new
reply is asked for -- the pipeline's step loop, ``max_tool_steps`` included.

Errors: a reply that failed with the connection still up (an error event, a
malformed event, status ``failed``) is resolved by the error policy as an LLM
error of the pipeline is. A lost connection is the link's to resolve; the turn,
if nothing was played yet, asks again once on the new connection (the realtime
path's retry, which LiveKit lacks).
"""

from __future__ import annotations

import math
from typing import Any

import trio

from ..core import (
    AudioFrame,
    ChatMessage,
    EndSession,
    LLMToolCall,
    LLMUsage,
    ProviderError,
    RealtimeResponse,
    RealtimeSession,
    ResponseAudio,
    ResponseText,
    RetryRequest,
    ToolChoice,
)
from ._nested_speech import CURRENT_TURN, NestedSpeeches
from ._realtime_link import RealtimeLink
from ._realtime_playout import RealtimePlayout
from ._reply import ReplyEnv, ReplyPlan, run_reply
from ._tools_exec import tool_choice_for_step
from ._turn_common import (
    begin_turn,
    publish_tools_executed,
    publish_turn_metrics,
    run_in_turn_scope,
)

__all__ = ["RealtimeTurns"]


class RealtimeTurns:
    """The activity's :data:`~._reply.TurnRunner` for a realtime model."""

    def __init__(self, link: RealtimeLink) -> None:
        self.link = link

    async def __call__(self, env: ReplyEnv, plan: ReplyPlan) -> None:
        await _RealtimeTurn(env, plan, self.link).run()


class _RealtimeTurn:
    def __init__(self, env: ReplyEnv, plan: ReplyPlan, link: RealtimeLink) -> None:
        self.env = env
        self.plan = plan
        self.speech = plan.speech
        self.link = link
        self.scope = trio.CancelScope()
        self.playout: RealtimePlayout | None = None
        self.retried = False
        self.answering: frozenset[str] = frozenset()
        self.commit_audio = not link.model.server_turn_detection and plan.user_turn is not None
        play = env.play_nested or (lambda nested: run_reply(env, nested))
        self.nested = NestedSpeeches(plan.speech, CURRENT_TURN.get(), play)

    def _interrupted(self) -> None:
        if self.playout is not None and self.playout.sink is not None:
            self.playout.sink.revoke()
        self.scope.cancel()

    async def run(self) -> None:
        await run_in_turn_scope(self.nested, self.scope, self._run_steps)
        publish_turn_metrics(self.env.bus, self.plan)

    async def _run_steps(self) -> None:
        env = self.env
        begin_turn(env, self.speech, self._interrupted)
        for step in range(1, env.options.max_tool_steps + 2):
            choice = tool_choice_for_step(
                step, max_tool_steps=env.options.max_tool_steps, requested=self.plan.tool_choice
            )
            if not await self._step(choice):
                break
        await self.nested.drain()

    # ------------------------------------------------------------ one step
    async def _prepare(self) -> RealtimeSession:
        commit, self.commit_audio = self.commit_audio, False
        if commit:  # our turn detection ended the user's turn: the model has it as audio
            message = _last_user_message(self.plan, self.env.agent.chat_ctx)
            if message is not None:
                self.link.represent(message)
        session = await self.link.prepare(self.env.agent)
        if commit:
            await session.commit_input()
        return session

    async def _step(self, choice: ToolChoice | None) -> bool:
        """One model reply played out; True if the model must speak again (tools)."""
        env = self.env
        session = await self._prepare()
        playout = RealtimePlayout(
            self.speech,
            env.output,
            env.state,
            playout_grace=env.options.playout_grace,
            rate=env.speaking_rate,
            text_output=env.text_output,
        )
        self.playout = playout
        self.answering = self.link.pending_transcripts()  # the user turns this reply answers
        calls: list[LLMToolCall] = []
        failures: list[ProviderError] = []
        label = env.provider_label("llm")
        env.usage.llm_request(label)
        reason = self._cancel_reason
        with env.hooks.scope("utterance", self.speech.id, {}, cancel_reason=reason) as note:
            try:
                async with (
                    session.respond(instructions=self._instructions(), tool_choice=choice) as reply,
                    trio.open_nursery() as nursery,
                ):
                    send, frames = trio.open_memory_channel[tuple[str, AudioFrame]](math.inf)
                    nursery.start_soon(self._relay, reply, send, calls, failures, label)
                    await playout.play(frames)
            except ProviderError as exc:  # respond() on a connection that was lost
                failures.append(exc)
            finally:
                with trio.CancelScope(shield=True):
                    await self._commit_heard(session, playout, complete=not failures)
            if self.speech.interrupted:
                note.outcome, note.reason = "cancelled", self._cancel_reason()
            elif failures:
                note.outcome, note.reason = "error", type(failures[0]).__name__
        if failures:
            return await self._failed(session, failures[0], choice)
        return await self._tools(calls)

    async def _relay(
        self,
        reply: RealtimeResponse,
        frames: trio.MemorySendChannel[tuple[str, AudioFrame]],
        calls: list[LLMToolCall],
        failures: list[ProviderError],
        label: str,
    ) -> None:
        """The reply's events to the playout; its ProviderError into ``failures``."""
        assert self.playout is not None
        asked_at = trio.current_time()
        async with frames:
            try:
                async for event in reply:
                    if isinstance(event, ResponseAudio):
                        self.plan.metrics.setdefault("llm_ttft", trio.current_time() - asked_at)
                        frames.send_nowait((event.item_id, event.frame))
                    elif isinstance(event, ResponseText):
                        self.playout.add_text(event.item_id, event.text)
                    elif isinstance(event, LLMToolCall):
                        calls.append(event)
                    elif isinstance(event, LLMUsage):
                        self.env.usage.llm_tokens(
                            label, event.prompt_tokens, event.completion_tokens
                        )
            except ProviderError as exc:
                failures.append(exc)

    def _instructions(self) -> str | None:
        extra = self.plan.instructions
        if not extra:
            return None
        own = self.env.agent.instructions
        return f"{own}\n\n{extra}" if own else extra

    def _cancel_reason(self) -> str:
        return self.speech.interrupt_reason or "superseded"

    # ------------------------------------------------------------ what was heard
    async def _commit_heard(
        self, session: RealtimeSession, playout: RealtimePlayout, *, complete: bool
    ) -> None:
        """Truncate the model's item to what was heard; record it (shielded caller)."""
        env, grace = self.env, self.env.options.close_grace
        position = await self._settle(playout, complete)
        item_id = playout.item_id
        if item_id is not None and position is not None:
            with trio.move_on_after(grace):
                if position > 0:
                    await session.truncate(item_id, position)
                else:
                    await session.delete_item(item_id)  # nothing heard: nothing said
        if playout.started and "e2e" not in self.plan.metrics:
            assert playout.first_output_at is not None
            self.plan.metrics["e2e"] = playout.first_output_at
            env.errors.succeeded("llm")
        heard = playout.heard_text(position)
        await self.link.wait_transcripts(self.answering, grace)  # their words before the reply
        if heard and env.text_output is not None:
            env.text_output.publish_transcript(self.speech.id, heard, final=True)
        if heard and self.plan.add_to_chat_ctx:
            ids: dict[str, Any] = {"id": item_id} if item_id is not None else {}
            message = ChatMessage(
                role="assistant",
                content=heard,
                interrupted=position is not None or self.speech.interrupted,
                created_at=trio.current_time(),
                **ids,
            )
            self.speech.chat_items.append(message)
            env.record_item(message)

    async def _settle(self, playout: RealtimePlayout, complete: bool) -> float | None:
        """Seconds heard, or None when the whole reply was played."""
        sink, output = playout.sink, self.env.output
        if sink is None or output is None:
            return None
        report = playout.playback
        if report is not None:
            if report.interrupted:
                return report.playback_position
            return None if complete else sink.written
        if not sink.started:
            return 0.0
        sink.revoke()  # cut for another reason than interrupt(): stop the audio too
        with trio.move_on_after(self.env.options.close_grace):
            return (await output.wait_for_playout()).playback_position
        assert sink.first_frame_at is not None  # the sink never reported: estimate
        return min(sink.written, trio.current_time() - sink.first_frame_at)

    # ------------------------------------------------------------ after the reply
    async def _failed(
        self, session: RealtimeSession, error: ProviderError, choice: ToolChoice | None
    ) -> bool:
        env = self.env
        started = self.playout is not None and self.playout.started
        if session.failure is not None:  # the connection: the link resolves it
            if not started and not self.retried and not self.speech.interrupted:
                self.retried = True
                return await self._step(choice)  # once more, on the next connection
            self.speech.error = error
            return False
        self.speech.error = error
        action = await env.errors.resolve(
            "llm", error, agent=env.agent.name, chat_ctx=env.agent.llm_input()
        )
        if isinstance(action, RetryRequest) and not started and not self.speech.interrupted:
            self.speech.error = None
            return await self._step(choice)
        if isinstance(action, EndSession):
            env.end_session(action.reason, error)
        return False

    async def _tools(self, calls: list[LLMToolCall]) -> bool:
        if not calls or self.speech.interrupted:
            return False
        env = self.env
        env.state.set_agent("thinking")
        outcome = await self.nested.serve_while(
            lambda: env.tool_executor(env.agent, self.speech, calls)
        )
        for item in outcome.items:
            self.speech.chat_items.append(item)
            env.record_item(item)
        publish_tools_executed(env.bus, self.speech, outcome)
        return outcome.reply_required


def _last_user_message(plan: ReplyPlan, chat_ctx: Any) -> ChatMessage | None:
    """The user message the turn answers (the last one with its words)."""
    transcript = plan.user_turn.transcript if plan.user_turn is not None else None
    for item in reversed(list(chat_ctx)):
        if isinstance(item, ChatMessage) and item.role == "user":
            return item if transcript is None or item.content == transcript else None
    return None
