"""Listening to the user through a realtime model.

Two tasks, both in the activity's realtime nursery:

* the *pump* sends every user frame to the live connection
  (``input_audio_buffer.append``; frames are dropped while reconnecting). While
  an uninterruptible speech plays, silence of the same length is sent instead
  (``discard_audio_if_uninterruptible``, as for an STT);
* the *listener* reads the model's input events, connection after connection.

With the model's own turn detection (``server_vad``/``semantic_vad``), its events
drive the turn, synchronously in the listener:

* ``speech_started`` -> user ``speaking`` and *barge-in*: the current and queued
  speeches are interrupted (``interrupt_all``: the sink revoked, the turn's scope
  cancelled; the turn then cancels the reply and truncates it);
* ``speech_stopped`` -> user ``listening``;
* ``committed`` -> the user's turn ended: a reply is queued (unless an
  uninterruptible speech is playing: LiveKit's rule, the user spoke over it and
  gets no reply). The user's words are not known yet -- the transcript follows --
  so ``Agent.on_user_turn_completed`` is not called (as in LiveKit with server
  turn detection) and the reply does not wait for them;
* transcripts -> :class:`~._events.UserInputTranscribed` (interim, then final);
  the final one is recorded as the user message, with the model's item id.

Without the model's turn detection (``turn_detection=None``) the session's own
VAD, STT and turn detector run as in the pipeline (``_recognition.py``) on the
same frames; the STT's words are the user message, the model's own transcripts
are not used, and the realtime turn commits the model's input buffer itself.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import trio

from ..core import (
    AudioFrame,
    ChatMessage,
    InputCommitted,
    InputSpeechStarted,
    InputSpeechStopped,
    InputTranscribed,
    InputTranscriptionFailed,
    ProviderError,
    RealtimeInputEvent,
    silence,
)
from ._audio_io import AudioInput
from ._events import UserInputTranscribed
from ._realtime_link import RealtimeLink
from ._reply import ReplyPlan
from ._turn_detection import UserTurn

if TYPE_CHECKING:
    from ._activity import AgentActivity

__all__ = ["RealtimeListening", "TeeAudioInput", "tee_channel"]

_TEE_BUFFER = 500  # frames held for the model while the connection is busy


class RealtimeListening:
    """The pump and the listener (see the module docs)."""

    def __init__(self, activity: AgentActivity, link: RealtimeLink) -> None:
        self._activity = activity
        self._link = link
        self._turns = link.model.server_turn_detection
        self._started_at: float | None = None
        self._stopped_at: float | None = None

    async def pump(
        self,
        frames: trio.MemoryReceiveChannel[AudioFrame] | AudioInput,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Send the user's frames to the live connection until the input ends.

        Reports started before its first read, so the input starts (its clock runs)
        before the session's block does, as with the pipeline's listening."""
        discard = self._activity.session.options.discard_audio_if_uninterruptible
        source = aiter(frames)
        task_status.started()
        async for frame in source:
            session = self._link.session
            if session is None or session.failure is not None:
                continue
            if discard and self._activity.interruptions.uninterruptible_playing:
                frame = silence(frame.duration, frame.sample_rate, frame.num_channels)
            self._link.clock.push(frame.duration)
            await session.push_audio(frame)

    async def listen(self) -> None:
        """Handle input events of every connection until cancelled."""
        generation = 0
        while True:
            session = await self._link.wait_next(generation)
            generation = self._link.generation
            try:
                async for event in session.input_events():
                    self.handle(event)
            except ProviderError:
                pass  # the link resolves the lost connection

    def handle(self, event: RealtimeInputEvent) -> None:
        """One input event (synchronous: its effects happen in this task step)."""
        if isinstance(event, InputTranscribed | InputTranscriptionFailed):
            if self._turns:
                self._transcribed(event)
            return
        if not self._turns:
            return
        state = self._activity.session.state
        if isinstance(event, InputSpeechStarted):
            self._started_at = self._link.clock.time_of(event.audio_at)
            state.set_user("speaking")
            self._activity.interrupt_all(reason="user_barge_in")
        elif isinstance(event, InputSpeechStopped):
            self._stopped_at = self._link.clock.time_of(event.audio_at)
            state.set_user("listening")
        elif isinstance(event, InputCommitted):
            self._committed(event.item_id)

    def _committed(self, item_id: str) -> None:
        activity = self._activity
        turn = UserTurn(
            transcript="",
            started_speaking_at=self._started_at,
            stopped_speaking_at=self._stopped_at,
            committed_at=trio.current_time(),
        )
        self._started_at = self._stopped_at = None
        if self._link.model.transcribes_input:
            self._link.expect_transcript(item_id)
        current = activity.current
        if current is not None and not current.done() and not current.allow_interruptions:
            return  # the user spoke over uninterruptible speech: no reply
        activity.interrupt_all(reason="user_barge_in")
        activity.spawn(self._reply, turn)

    async def _reply(self, turn: UserTurn) -> None:
        activity = self._activity
        await activity.switcher.wait_settled()
        plan = ReplyPlan(speech=activity.new_handle("user_turn", None), user_turn=turn)
        activity.enqueue(plan, "user_turn")

    def _transcribed(self, event: InputTranscribed | InputTranscriptionFailed) -> None:
        activity = self._activity
        if isinstance(event, InputTranscriptionFailed):
            self._link.transcribed(event.item_id)
            return
        now = trio.current_time()
        activity.session.bus.publish(UserInputTranscribed(event.text, event.final, now))
        if not event.final:
            return
        self._link.transcribed(event.item_id)
        if event.text.strip():
            message = ChatMessage(
                role="user", content=event.text.strip(), id=event.item_id, created_at=now
            )
            activity.record_item(message)


class TeeAudioInput:
    """The user's frames for the session's own listening, copied to ``send``
    (dropped when the model's pump is that far behind)."""

    def __init__(self, audio: AudioInput, send: trio.MemorySendChannel[AudioFrame]) -> None:
        self._frames = aiter(audio)
        self._send = send

    def __aiter__(self) -> TeeAudioInput:
        return self

    async def __anext__(self) -> AudioFrame:
        try:
            frame = await self._frames.__anext__()
        except StopAsyncIteration:
            self._send.close()
            raise
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError):
            self._send.send_nowait(frame)
        return frame


def tee_channel() -> tuple[
    trio.MemorySendChannel[AudioFrame], trio.MemoryReceiveChannel[AudioFrame]
]:
    """The bounded channel between a :class:`TeeAudioInput` and the pump."""
    return trio.open_memory_channel[AudioFrame](_TEE_BUFFER)
