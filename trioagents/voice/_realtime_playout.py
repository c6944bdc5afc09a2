"""One realtime reply's playout: the model's frames through the revocable sink.

The model sends a reply's audio and its transcript faster than real time; the
turn feeds the frames here in order (:meth:`RealtimePlayout.play`) and the
transcript deltas as they come (:meth:`add_text`). Every frame goes through the
turn's :class:`~trioagents.voice.UtteranceSink`, so the turn's cancel revokes the
reply synchronously: no frame of a cut reply reaches the output after the cancel,
even one already handed to :meth:`play`.

What was heard comes from the :class:`TranscriptSynchronizer`: the reply is one
"sentence" whose text grows with the transcript deltas and whose audio grows with
the frames written; while the model still generates, characters are placed at
the voice's measured speaking rate (shared with the agent's earlier replies),
once the audio is complete at the reply's own rate. ``heard_text(position)`` is
the whole words played by ``position`` seconds (the sink's report after the
cancel), which the turn records and which the model is told by the truncation.

Without an audio output the text is what is "heard": all of it, as it arrived.

Like the pipeline's utterance, playout waits until the user is silent before the
first frame (an interruptible reply never starts over the user), pauses the
output while the speech is paused (a false interruption, with our own VAD), and
waits for the sink's report at the end, bounded by the expected end plus the time
paused plus ``playout_grace``.
Rejected alternative: the pipeline's :class:`~._playout.Utterance` with
pre-rendered audio: it needs the whole transcript before the first frame (one
segment), and a realtime reply's transcript arrives with its audio.
"""

from __future__ import annotations

import trio

from ..core import AudioFrame
from ._audio_io import AudioOutput, PlaybackFinished, TextOutput, UtteranceSink
from ._event_bus import StateTracker
from ._speech_handle import SpeechHandle
from ._transcript_sync import SpeakingRate, TranscriptSynchronizer

__all__ = ["RealtimePlayout"]


class RealtimePlayout:
    """Plays one reply (create per LLM step; :meth:`play` once)."""

    def __init__(
        self,
        speech: SpeechHandle,
        output: AudioOutput | None,
        state: StateTracker,
        *,
        playout_grace: float,
        rate: SpeakingRate,
        text_output: TextOutput | None = None,
    ) -> None:
        self.speech = speech
        self.output = output
        self.state = state
        self.playout_grace = playout_grace
        self.text_output = text_output
        self.sink = UtteranceSink(output) if output is not None else None
        self.sync = TranscriptSynchronizer(rate)
        self.sync.begin_sentence("")
        self.text = ""
        self.item_id: str | None = None  # the assistant item the audio belongs to
        self.first_output_at: float | None = None
        self.playback: PlaybackFinished | None = None
        self._paused_at: float | None = None  # the output paused by this reply, since
        self._paused_for = 0.0
        speech.on_pause_changed(self._pause_changed)

    @property
    def started(self) -> bool:
        return self.first_output_at is not None

    def add_text(self, item_id: str, delta: str) -> None:
        """A transcript delta (synchronous)."""
        if self.item_id is None:
            self.item_id = item_id
        self.text += delta
        self.sync.revise_text(self.text)

    def heard_text(self, position: float | None) -> str:
        """All the text after a full playout (None), else the words played by ``position``."""
        if self.sink is None or position is None:
            return self.text.strip()
        return self.sync.heard_text(position)

    async def play(self, frames: trio.MemoryReceiveChannel[tuple[str, AudioFrame]]) -> None:
        """Write every frame, then wait for the sink's report. Cancelled with the turn."""
        sink = self.sink
        async for item_id, frame in frames:
            if self.item_id is None:
                self.item_id = item_id
            if sink is None:
                await self._start()
                continue
            if not sink.started:
                await self._start()
            if not await sink.write(frame):
                return
            self.sync.push_audio(frame.duration)
        self.sync.expect_duration(self.sync.audio_duration)  # the reply's audio is complete
        self.sync.end_sentence()
        if sink is None:
            if self.text.strip():
                await self._start()
            return
        if sink.started:
            await self._wait_for_playout(sink)

    def _pause_changed(self, paused: bool) -> None:
        """A false-interruption pause (our VAD's, ``turn_detection=None``): the output
        stops playing, so the sink stops taking frames, until resumed or cut."""
        output, sink = self.output, self.sink
        if output is None or sink is None:
            return
        if paused and self._paused_at is None and sink.started and not sink.revoked:
            self._paused_at = trio.current_time()
            output.pause()
        elif not paused and self._paused_at is not None:
            self._paused_for += trio.current_time() - self._paused_at
            self._paused_at = None
            output.resume()

    async def _start(self) -> None:
        if self.first_output_at is not None:
            await trio.lowlevel.checkpoint()
            return
        if self.speech.allow_interruptions:
            await self.state.wait_user_not_speaking()
        await self.speech.wait_unpaused()
        self.first_output_at = trio.current_time()
        self.state.set_agent("speaking")

    async def _wait_for_playout(self, sink: UtteranceSink) -> None:
        """The sink's report, bounded by the expected end + grace (a sink that never
        reports is assumed to have played it all)."""
        assert self.output is not None
        assert sink.first_frame_at is not None
        self.output.flush()
        while True:
            if self.speech.paused:
                await self.speech.wait_unpaused()
                continue
            paused = self._paused_for
            deadline = sink.first_frame_at + sink.written + paused + self.playout_grace
            with trio.move_on_at(deadline) as waiting:
                self.playback = await self.output.wait_for_playout()
            if not waiting.cancelled_caught:
                return
            if not self.speech.paused:  # a sink that never reports: assume it played
                self.playback = PlaybackFinished(sink.written, interrupted=False)
                return
