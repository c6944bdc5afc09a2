"""Listening: user audio → VAD and STT → user state, transcripts, turn and barge-in input.

One pump task reads the audio input and feeds the VAD stream and the STT step (through a bounded
channel, in chunks of ``stt_chunk_duration`` -- see ``_stt_chunks.py``; chunks are dropped, not
queued without limit, while STT reconnects). Two
tasks consume the VAD and STT events and translate them into calls on the
:class:`UserTurnTracker` and the :class:`InterruptionController`. Every call is
synchronous. A VAD stream that also implements :class:`InlineVADStream`
(``push_frame_nowait``, for models cheap enough to run on the pump: Silero takes
~0.2 ms per 32 ms window; the Silero and energy VADs and the testing fake are all
inline) is run inline: its verdict reaches the interruption policy in the
same task step that received the frame, with no scheduling point in between, so
the playout task cannot slip a frame out after the interruption instant.

The STT step is restarted after a :class:`~trioagents.ProviderError` (``stt_retry_delay``
later) unless the error policy ends the session. Without a VAD, the STT's own
speech start/end events drive the user state.

A switch to an agent with other providers (:meth:`AudioRecognition.agent_changed`)
restarts the STT step at once (its scope is cancelled, the channel of frames stays,
so no audio is lost; words not yet finalized are) and swaps the VAD between two
input frames (the old stream is closed, its pending events dropped; a user still
"speaking" for it is marked as stopped).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import trio

from ..core import (
    STT,
    VAD,
    AudioFrame,
    EndSession,
    ProviderError,
    SpeechEvent,
    SpeechEventType,
    VADEvent,
    VADEventType,
    VADStream,
    silence,
)
from ._agent import Agent
from ._audio_io import AudioInput, PushAudioInput
from ._error_policy import ErrorPolicy
from ._event_bus import EventBus, StateTracker
from ._events import UserInputTranscribed
from ._interruption import InterruptionController
from ._stt_chunks import ChunkJoiner
from ._turn_detection import UserTurnTracker
from ._usage import UsageCollector

__all__ = ["AudioRecognition", "InlineVADStream", "RecognitionHooks"]

_STT_BUFFER = 500  # chunks (5 s of 10 ms audio, 20 s of 40 ms chunks) held while the STT reconnects


@runtime_checkable
class InlineVADStream(Protocol):
    """Optional VAD fast path: judge one frame synchronously, return the events."""

    def push_frame_nowait(self, frame: AudioFrame) -> Sequence[VADEvent]: ...


@dataclass(frozen=True, slots=True)
class RecognitionHooks:
    """Where listening reports to (the activity's pieces)."""

    tracker: UserTurnTracker
    interruptions: InterruptionController
    state: StateTracker
    bus: EventBus
    errors: ErrorPolicy
    on_final: Callable[[str], None]
    end_session: Callable[[str, ProviderError | None], None]
    discard_audio_if_uninterruptible: bool = True
    usage: UsageCollector = field(default_factory=UsageCollector)
    stt_provider: str = ""  # the STT's label; "" records no STT usage (no STT)
    stt_chunk_duration: float = 0.0  # join input frames into chunks this long for the STT


@dataclass(frozen=True, slots=True)
class _Frames:
    """The input and its one iterator (a pushing input shares its position with it)."""

    input: AudioInput
    iterator: AsyncIterator[AudioFrame]

    @property
    def push_input(self) -> PushAudioInput | None:
        return self.input if isinstance(self.input, PushAudioInput) else None


class AudioRecognition:
    stt_retry_delay = 0.5

    def __init__(
        self, agent: Agent, vad: VAD | None, hooks: RecognitionHooks, *, stt: STT | None = None
    ) -> None:
        self._agent = agent
        self._vad = vad  # the VAD to listen with (swapped between frames on a switch)
        self._stt = stt  # the STT the running STT step uses (for agent_changed)
        self._stt_scope: trio.CancelScope | None = None
        self._tracker = hooks.tracker
        self._interruptions = hooks.interruptions
        self._state = hooks.state
        self._bus = hooks.bus
        self._errors = hooks.errors
        self._on_final = hooks.on_final
        self._end_session = hooks.end_session
        self._discard = hooks.discard_audio_if_uninterruptible
        self._speech_duration = 0.0
        self._usage, self._stt_provider = hooks.usage, hooks.stt_provider
        self._stt_unreported = 0.0  # seconds handed to the STT, not yet in the usage
        self._stt_send: trio.MemorySendChannel[AudioFrame] | None = None
        self._last_frame: AudioFrame | None = None
        self._chunks = ChunkJoiner(hooks.stt_chunk_duration)
        self._flush_chunk = False  # the VAD started or ended speech: send the chunk now
        self._voiced_at: float | None = None  # when the VAD last heard voiced audio

    def agent_changed(
        self, agent: Agent, *, stt: STT | None, vad: VAD | None, stt_label: str
    ) -> None:
        """The active agent is now ``agent``, listening with ``stt`` and ``vad``.

        Synchronous. The STT step restarts when the STT or the agent's ``stt_node``
        differs (frames buffered meanwhile go to the new one); the VAD is swapped
        before the next input frame when it differs.
        """
        old, self._agent = self._agent, agent
        self._report_stt()
        self._stt_provider = stt_label if stt is not None else ""
        self._vad = vad
        if stt is not self._stt or type(agent).stt_node is not type(old).stt_node:
            self._stt = stt
            if self._stt_scope is not None:
                self._stt_scope.cancel()

    async def run(
        self, audio: AudioInput, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen until cancelled or the input ends. VAD errors propagate."""
        stt_send, stt_recv = trio.open_memory_channel[AudioFrame](_STT_BUFFER)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._run_stt, stt_recv)
            self._stt_send = stt_send
            frames = _Frames(audio, aiter(audio))
            try:
                async with stt_send:
                    while not await self._listen(frames, stt_send, task_status):
                        task_status = trio.TASK_STATUS_IGNORED  # started once
            finally:
                self._report_stt()

    async def _listen(
        self,
        frames: _Frames,
        stt_send: trio.MemorySendChannel[AudioFrame],
        task_status: trio.TaskStatus[None],
    ) -> bool:
        """Pump frames with the current VAD: True once the input ended, False when
        the VAD was swapped (its stream is closed, its pending events dropped)."""
        vad = self._vad
        async with AsyncExitStack() as stack:
            vad_stream = None
            if vad is not None:
                vad_stream = await stack.enter_async_context(vad.stream())
            consumers = await stack.enter_async_context(trio.open_nursery())
            if vad_stream is not None and not isinstance(vad_stream, InlineVADStream):
                consumers.start_soon(self._consume_vad, vad_stream)
            task_status.started()
            inline = vad_stream if isinstance(vad_stream, InlineVADStream) else None
            self._tracker.listen_with(vad_stream)
            try:
                ended = await self._pump_frames(frames, vad, vad_stream, inline, stt_send)
            finally:
                self._tracker.listen_with(None)
            if not ended:
                consumers.cancel_scope.cancel()
            elif vad_stream is not None:
                await vad_stream.end_input()
                if inline is not None:  # what end_input queued (speech in progress)
                    async for event in vad_stream:
                        self.handle_vad(event)
        if not ended and self._state.user == "speaking" and vad is not None:
            self._speech_ended(trio.current_time())  # the old VAD will not say so now
        return ended

    async def _pump_frames(
        self,
        frames: _Frames,
        vad: VAD | None,
        vad_stream: VADStream | None,
        inline: InlineVADStream | None,
        stt_send: trio.MemorySendChannel[AudioFrame],
    ) -> bool:
        """True once the input ended, False when the VAD was swapped. An input that
        pushes frames hands them to :meth:`_take_frame` itself (no task switch per
        frame) unless the VAD needs a task of its own (not inline)."""
        push = frames.push_input if inline is not None or vad_stream is None else None
        if push is not None:
            ended = await push.push_frames(
                functools.partial(self._take_frame, vad, inline, stt_send)
            )
        else:
            ended = True
            async for frame in frames.iterator:
                self._before_vad(frame)
                if inline is not None:
                    for event in inline.push_frame_nowait(frame):
                        self.handle_vad(event)
                elif vad_stream is not None:
                    await vad_stream.push_frame(frame)
                if not self._after_vad(frame, vad, stt_send):
                    ended = False
                    break
        self._send_stt(stt_send, self._chunks.flush())
        return ended

    def _take_frame(
        self,
        vad: VAD | None,
        inline: InlineVADStream | None,
        stt_send: trio.MemorySendChannel[AudioFrame],
        frame: AudioFrame,
    ) -> bool:
        """One frame, synchronously (VAD inline): False once the VAD was swapped."""
        self._before_vad(frame)
        if inline is not None:
            for event in inline.push_frame_nowait(frame):
                self.handle_vad(event)
        return self._after_vad(frame, vad, stt_send)

    def _before_vad(self, frame: AudioFrame) -> None:
        self._last_frame = frame
        self._tracker.push_audio(frame)

    def _after_vad(
        self, frame: AudioFrame, vad: VAD | None, stt_send: trio.MemorySendChannel[AudioFrame]
    ) -> bool:
        if self._discard and self._interruptions.uninterruptible_playing:
            frame = silence(frame.duration, frame.sample_rate, frame.num_channels)
        chunks = self._chunks.add(frame)
        if chunks:
            self._send_stt(stt_send, chunks)
        if self._flush_chunk:
            self._flush_chunk = False
            self._send_stt(stt_send, self._chunks.flush())
        return self._vad is vad

    def _send_stt(
        self, stt_send: trio.MemorySendChannel[AudioFrame], chunks: Sequence[AudioFrame]
    ) -> None:
        for chunk in chunks:
            try:
                stt_send.send_nowait(chunk)
            except trio.WouldBlock:
                continue  # STT reconnecting: drop audio rather than buffer without limit
            self._stt_unreported += chunk.duration
            if self._stt_unreported >= 1.0:
                self._report_stt()

    def _report_stt(self) -> None:
        if self._stt_unreported and self._stt_provider:
            self._usage.stt_audio(self._stt_provider, self._stt_unreported)
            self._stt_unreported = 0.0

    def flush_stt(self, duration: float) -> None:
        """Push ``duration`` seconds of silence to the STT, so it finalizes what it heard.

        Synchronous; frames the STT buffer has no room for are dropped (it is
        already that far behind). Nothing happens before the first input frame.
        """
        last, send = self._last_frame, self._stt_send
        if last is None or send is None:
            return
        pad = silence(last.duration, last.sample_rate, last.num_channels)
        chunks = [*self._chunks.flush()]  # what was heard first, then the silence
        for _ in range(max(1, round(duration / last.duration))):
            chunks.extend(self._chunks.add(pad))
        chunks.extend(self._chunks.flush())
        for chunk in chunks:
            try:
                send.send_nowait(chunk)
            except (trio.WouldBlock, trio.ClosedResourceError):
                return

    # ---------------------------------------------------------------- VAD
    async def _consume_vad(self, stream: VADStream) -> None:
        async for event in stream:
            self.handle_vad(event)

    def handle_vad(self, event: VADEvent) -> None:
        if event.type is VADEventType.START_OF_SPEECH:
            self._flush_chunk = True
            self._voiced_at = event.timestamp
            self._speech_started(event.timestamp - event.speech_duration)
        elif event.type is VADEventType.INFERENCE_DONE:
            if event.speaking:
                if not event.silence_duration:
                    self._voiced_at = event.timestamp  # voiced audio arrived
                self._speech_duration = event.speech_duration
                self._interruptions.user_speaking(event.speech_duration, self._tracker.transcript)
        elif event.type is VADEventType.END_OF_SPEECH:
            self._flush_chunk = True
            self._speech_ended(
                event.timestamp - event.silence_duration,
                heard_at=self._voiced_at,
                silence_heard=event.silence_duration,
            )

    def _speech_started(self, at: float) -> None:
        self._speech_duration = 0.0
        self._state.set_user("speaking")
        self._tracker.speech_started(at)
        self._interruptions.user_started_speaking()

    def _speech_ended(
        self,
        last_speaking_at: float,
        *,
        by_stt: bool = False,
        heard_at: float | None = None,
        silence_heard: float | None = None,
    ) -> None:
        self._state.set_user("listening")
        self._tracker.speech_ended(
            last_speaking_at, by_stt=by_stt, heard_at=heard_at, silence_heard=silence_heard
        )
        self._interruptions.user_stopped_speaking()

    # ---------------------------------------------------------------- STT
    async def _run_stt(self, frames: trio.MemoryReceiveChannel[AudioFrame]) -> None:
        while True:
            with trio.CancelScope() as scope:
                self._stt_scope = scope
                error = await self._stt_once(frames)
            self._stt_scope = None
            if scope.cancelled_caught:
                continue  # agent_changed: run the new agent's STT step
            if error is None:
                return  # input ended
            action = await self._errors.resolve(
                "stt", error, agent=self._agent.name, chat_ctx=self._agent.llm_input()
            )
            if isinstance(action, EndSession):
                self._end_session(action.reason, error)
                return
            await trio.sleep(self.stt_retry_delay)

    async def _stt_once(
        self, frames: trio.MemoryReceiveChannel[AudioFrame]
    ) -> ProviderError | None:
        """Run the STT step once; its ProviderError is returned, not raised (no group)."""
        events_send, events_recv = trio.open_memory_channel[SpeechEvent](0)
        error: ProviderError | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._consume_stt, events_recv)
            async with events_send:
                try:
                    await self._agent.stt_node(frames, events_send)
                except ProviderError as exc:
                    error = exc
        return error

    async def _consume_stt(self, events: trio.MemoryReceiveChannel[SpeechEvent]) -> None:
        async for event in events:
            self.handle_stt(event)

    def handle_stt(self, event: SpeechEvent) -> None:
        now = trio.current_time()
        if event.type is SpeechEventType.INTERIM_TRANSCRIPT:
            self._bus.publish(UserInputTranscribed(event.text, False, now))
            self._tracker.transcribed(event.text, final=False)
            if self._tracker.speaking:
                self._interruptions.user_speaking(self._speech_duration, self._tracker.transcript)
        elif event.type is SpeechEventType.FINAL_TRANSCRIPT:
            self._bus.publish(UserInputTranscribed(event.text, True, now))
            if event.text.strip():
                self._errors.succeeded("stt")
            self._tracker.transcribed(event.text, final=True)
            self._interruptions.final_transcript(self._tracker.transcript)
            if event.text.strip():
                self._on_final(self._tracker.transcript)
        elif self._vad is None and event.type is SpeechEventType.START_OF_SPEECH:
            self._speech_started(now)
        elif self._vad is None and event.type is SpeechEventType.END_OF_SPEECH:
            self._speech_ended(now, by_stt=True)
