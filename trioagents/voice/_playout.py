"""One utterance: text in, sentences to TTS, frames out through a revocable sink.

Three tasks in the utterance's own nursery (the child scope of the turn):

1. split the streamed text into sentences (:class:`~trioagents.SentenceSplitter`);
2. synthesize each sentence with ``Agent.tts_node`` as soon as it is complete --
   pre-synthesis: the first sentence's TTS starts while the LLM is still writing,
   and the next sentence is synthesized while the previous one plays;
3. play: wait until the user is silent and the speech is not paused (interruptible
   speech never starts over the user), then write each frame through the
   :class:`UtteranceSink`, recording sentence boundaries and durations in the
   :class:`TranscriptSynchronizer`; flush and wait for the sink to report playout
   (bounded by the expected end + ``playout_grace``).

Frames move between these tasks in bursts, with few task switches per frame
(``_frame_relay.py``).

Pre-rendered audio (``say(text, audio=frames)``) replaces step 2: the frames are
played as they come, ``text`` being their transcript (one segment, so the heard
text is cut in proportion to the audio played). An item that is not an
:class:`~trioagents.AudioFrame` ends the utterance with a logged error.

Without an audio output the text itself is "played": it is heard as it arrives.
A TTS :class:`~trioagents.ProviderError` is stored in ``error`` and ends the
utterance; cancellation propagates.

Except a mid-sentence failover: a fallback TTS that switched after part of a
sentence was synthesized (``error.failed_over``) makes the utterance go on, unless
``failover_policy`` is ``"off"``. The cut sentence's transcript is revised to the
words its audio covered (estimated at the utterance's speaking rate), and the next
member synthesizes the rest of it (``"continue"``: from the first word not covered)
or all of it again (``"restart"``); ``on_failover`` is told.

``Agent.transcription_node`` (when overridden) gives each sentence its shown form
before it is synthesized; the synchronizer paces the spoken text and reports the
heard part in the shown form (``_transcript_sync.py``). Without audio output the
text is then shown sentence by sentence.

``Agent.tts_stream_node`` (LiveKit's ``tts_node`` shape) replaces step 2 when
overridden: one call per utterance, fed the sentences through a rendezvous channel
(a sentence counts as spoken text once the node took it), its frames relayed as
they come. The node sits in the utterance's nursery, so the turn's cancel stops it
and the TTS streams it opened, and every frame still goes through the revocable
sink: no frame after the cancel. What the node does with the text inside is
invisible, so its audio forms *one* segment: the heard text is the share of all
consumed text given by the playback position over the audio's length (the rate
estimate until the node has finished), in whole words -- coarser than the
per-sentence accounting of the default path, which is why the default path stays
per sentence. A mid-sentence failover inside the node is an error of the utterance.

Rejected alternative: LiveKit's async-generator node (``async for frame in
Agent.default.tts_node(self, text, settings): yield frame``). A generator that
yields frames across the turn's cancel scope is what the channel-style nodes avoid:
cancellation of the consumer would land in the producer's frame at an arbitrary
``yield``, and cleanup of its TTS stream would wait for the generator's ``aclose``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Callable

import trio

from ..core import AudioFrame, ProviderError, SentenceSplitter, streams_text_input
from ._agent import Agent, overrides
from ._audio_io import AudioOutput, PlaybackFinished, TextOutput, UtteranceSink
from ._event_bus import StateTracker
from ._frame_relay import Refill, next_item
from ._hooks import SessionHooks
from ._options import MidStreamFailover, TTSInput
from ._playout_parts import (
    SentenceMark,
    relay_audio,
    run_node,
    run_stream_node,
    split_sentences,
    split_words,
    transcribe,
    whole,
)
from ._speech_handle import SpeechHandle
from ._transcript_sync import TranscriptSynchronizer, whole_words
from ._usage import UsageCollector

__all__ = ["Utterance", "transcribe"]

_FRAME_BUFFER = 512  # frames synthesized ahead of playout (~10 s of 20 ms frames)
_REFILL_BATCH = 64  # a full playout buffer is refilled after this many were played
_NODE_BUFFER = 16  # a TTS node's frames wait here for the relay (see _frame_relay.py)
_MAX_FAILOVERS = 3  # per sentence


class Utterance:
    """Plays one LLM step's text. Create per step; call :meth:`run` once."""

    def __init__(
        self,
        agent: Agent,
        speech: SpeechHandle,
        output: AudioOutput | None,
        state: StateTracker,
        playout_grace: float,
        text_output: TextOutput | None = None,
    ) -> None:
        self.agent = agent
        self.text_output = text_output
        self.speech = speech
        self.output = output
        self.state = state
        self.playout_grace = playout_grace
        self.sink = UtteranceSink(output) if output is not None else None
        self.sync = TranscriptSynchronizer()
        self.fixed_text: str | None = None  # say(): the text, for a retry
        self.fixed_audio: AsyncIterable[AudioFrame] | None = None  # say(audio=...)
        self.text_heard = ""  # text mode: everything received so far
        self.error: ProviderError | None = None
        self.playback: PlaybackFinished | None = None
        self.first_output_at: float | None = None
        self.tts_requested_at: float | None = None
        self.tts_first_frame_at: float | None = None
        self.hooks = SessionHooks()  # set by the turn: reports the ``tts`` scope
        self.usage = UsageCollector()  # set by the turn: the session's
        self.tts_provider = "tts"
        self.scope_id: str | None = None  # the utterance's scope id (the tts parent)
        self.failover_policy: MidStreamFailover = "off"  # set by the turn
        self.on_failover: Callable[[ProviderError, bool], None] = _ignore_failover
        self.tts_input: TTSInput = "auto"  # set by the turn
        self._transcribing = overrides(agent, "transcription_node")
        self._words = False  # fed word by word (see _synthesis_mode)
        self._active = False
        self._output_paused = False
        self._paused_at = 0.0
        self._paused_for = 0.0  # total time the sink was paused by this utterance
        self._refill = Refill(_REFILL_BATCH)

    @property
    def started(self) -> bool:
        return self.first_output_at is not None

    def heard_text(self, position: float | None) -> str:
        """Text the user heard: all of it after a full playout, else the synced prefix."""
        if self.sink is None:
            return self.text_heard.strip()
        if position is None:
            return self.sync.text
        return self.sync.heard_text(position)

    async def run(self, text: trio.MemoryReceiveChannel[str]) -> None:
        """Play everything from ``text``; returns after playout. Cancelled with the turn."""
        self._active = True
        self.speech.on_pause_changed(self._pause_changed)
        try:
            if self.sink is None:
                await self._run_text_only(text)
            else:
                await self._run_audio(text, self.sink)
        finally:
            self._active = False

    def _pause_changed(self, paused: bool) -> None:
        if self.output is None or self.sink is None:
            return
        if not paused and self._output_paused:
            self._output_paused = False
            self._paused_for += trio.current_time() - self._paused_at
            self.output.resume()
        elif paused and self._active and self.sink.started and not self.sink.revoked:
            self._output_paused = True  # before first audio the playout gate holds instead
            self._paused_at = trio.current_time()
            self.output.pause()

    async def _run_audio(self, text: trio.MemoryReceiveChannel[str], sink: UtteranceSink) -> None:
        sentences_send, sentences = trio.open_memory_channel[str](math.inf)
        frames_send, frames = trio.open_memory_channel[AudioFrame | SentenceMark](_FRAME_BUFFER)
        streamed, self._words = self._synthesis_mode()
        async with trio.open_nursery() as nursery:
            split = whole if self.fixed_audio is not None else split_sentences
            nursery.start_soon(split_words if self._words else split, text, sentences_send)
            synthesize = self._synthesize_stream if streamed else self._synthesize
            nursery.start_soon(synthesize, sentences, frames_send, nursery.cancel_scope)
            if self.text_output is not None:
                nursery.start_soon(self._pace_transcript, self.text_output, sink)
            await self._play(frames, sink)
            nursery.cancel_scope.cancel()  # playout done: stop pacing the transcript

    def _synthesis_mode(self) -> tuple[bool, bool]:
        """``(streamed, words)``: one ``tts_stream_node`` call for the utterance, and
        whether it is fed whole words as they arrive (else sentences).

        Words when ``tts_input`` is ``"auto"`` and the agent's TTS takes streamed
        input, unless ``tts_node`` or ``transcription_node`` is overridden (both are
        sentence by sentence by contract).
        """
        agent = self.agent
        if self.fixed_audio is not None:
            return False, False
        node = overrides(agent, "tts_stream_node")
        words = (
            self.tts_input == "auto"
            and streams_text_input(agent.providers.tts)
            and (node or not overrides(agent, "tts_node"))
            and not self._transcribing
        )
        return node or words, words

    async def _run_text_only(self, text: trio.MemoryReceiveChannel[str]) -> None:
        """Text is heard as it arrives; through ``transcription_node``, sentence by
        sentence (a sentence cut before it was complete was not shown: not heard)."""
        splitter = SentenceSplitter() if self._transcribing else None
        async for piece in text:
            if self.first_output_at is None and piece.strip():
                await self._gate()
                self._mark_started()
            if splitter is None:
                self._show(piece)
                continue
            for sentence in splitter.push(piece):
                self._show(" " + await transcribe(self.agent, sentence))
        rest = splitter.flush() if splitter is not None else None
        if rest:
            self._show(" " + await transcribe(self.agent, rest))

    def _show(self, piece: str) -> None:
        self.text_heard += piece
        if self.text_output is not None and self.text_heard.strip():
            self.text_output.publish_transcript(
                self.speech.id, self.text_heard.strip(), final=False
            )

    async def _pace_transcript(self, out: TextOutput, sink: UtteranceSink) -> None:
        """Publish the words heard so far, every 50 ms while audio plays (estimate)."""
        published = ""
        while True:
            await trio.sleep(0.05)
            if sink.first_frame_at is None or self.speech.paused:
                continue
            played = trio.current_time() - sink.first_frame_at - self._paused_for
            text = self.sync.heard_text(min(played, sink.written))
            if text and text != published:
                published = text
                out.publish_transcript(self.speech.id, text, final=False)

    async def _synthesize(
        self,
        sentences: trio.MemoryReceiveChannel[str],
        frames: trio.MemorySendChannel[AudioFrame | SentenceMark],
        utterance_scope: trio.CancelScope,
    ) -> None:
        reason = self._cancel_reason
        async with frames:
            with self.hooks.scope("tts", self.scope_id, {}, cancel_reason=reason) as note:
                async for sentence in sentences:
                    mark = SentenceMark(sentence, await self._shown(sentence))
                    await frames.send(mark)
                    if self.tts_requested_at is None:
                        self.tts_requested_at = trio.current_time()
                    if self.fixed_audio is None:  # pre-rendered audio costs no TTS
                        self.usage.tts_sentence(self.tts_provider, len(sentence))
                    try:
                        await self._synthesize_sentence(mark, frames)
                    except ProviderError as exc:
                        self.error = exc
                        note.outcome, note.reason = "error", type(exc).__name__
                        utterance_scope.cancel()
                        return

    async def _synthesize_sentence(
        self, mark: SentenceMark, frames: trio.MemorySendChannel[AudioFrame | SentenceMark]
    ) -> None:
        """Synthesize ``mark``'s sentence, going on after mid-sentence failovers."""
        for attempt in range(_MAX_FAILOVERS + 1):
            delivered: list[float] = []
            try:
                mark.duration = await self._synthesize_one(mark.text, frames, delivered)
                return
            except ProviderError as exc:
                covered = delivered[0] if delivered else 0.0
                last = attempt == _MAX_FAILOVERS
                rest = None if last else self._after_failover(mark, exc, covered)
                if rest is None:
                    raise
            if not rest:
                return  # the audio covered the whole sentence
            mark = SentenceMark(rest, await self._shown(rest))
            await frames.send(mark)
            self.usage.tts_sentence(self.tts_provider, len(rest))

    async def _shown(self, sentence: str) -> str | None:
        """``sentence``'s transcript form, or None when it is the sentence itself."""
        return await transcribe(self.agent, sentence) if self._transcribing else None

    async def _synthesize_stream(
        self,
        sentences: trio.MemoryReceiveChannel[str],
        frames: trio.MemorySendChannel[AudioFrame | SentenceMark],
        utterance_scope: trio.CancelScope,
    ) -> None:
        """One ``tts_stream_node`` call for the whole utterance (see the module docstring)."""
        mark = SentenceMark("", "" if self._transcribing else None)
        mark.growing = True
        failures: list[ProviderError] = []
        duration = 0.0
        reason = self._cancel_reason
        async with frames:
            with self.hooks.scope("tts", self.scope_id, {}, cancel_reason=reason) as note:
                await frames.send(mark)
                text_send, text_recv = trio.open_memory_channel[str](0)  # sent = consumed
                node_send, node_recv = trio.open_memory_channel[AudioFrame](_NODE_BUFFER)
                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._feed_stream_node, sentences, text_send, mark)
                        nursery.start_soon(
                            run_stream_node, self.agent, text_recv, node_send, failures
                        )
                        while (frame := await next_item(node_recv)) is not None:
                            duration += frame.duration
                            await self._refill.send(frames, frame)
                        nursery.cancel_scope.cancel()  # the node is done: feed no more
                finally:  # synthesized audio counts even when the utterance was cut
                    self.usage.tts_audio(self.tts_provider, duration)
                if failures:
                    self.error = failures[0]
                    note.outcome, note.reason = "error", type(self.error).__name__
                    utterance_scope.cancel()
                    return
                mark.duration = duration

    async def _feed_stream_node(
        self,
        sentences: trio.MemoryReceiveChannel[str],
        out: trio.MemorySendChannel[str],
        mark: SentenceMark,
    ) -> None:
        """Hand the node each sentence; the mark's text is what the node consumed."""
        async with out:
            async for sentence in sentences:
                shown = await self._shown(sentence)
                if self.tts_requested_at is None:
                    self.tts_requested_at = trio.current_time()
                await out.send(sentence)
                self.usage.tts_sentence(self.tts_provider, len(sentence))
                if self._words:  # the node gets exactly these pieces: offsets hold
                    mark.text += sentence
                    continue
                mark.text = f"{mark.text} {sentence}".strip()
                if shown is not None:
                    mark.shown = f"{mark.shown} {shown}".strip()

    def _after_failover(
        self, mark: SentenceMark, error: ProviderError, covered: float
    ) -> str | None:
        """Revise ``mark`` to the words its audio covered; the text to synthesize next.

        None: no failover (policy off, no takeover, nothing synthesized, pre-rendered
        audio); "": the audio covered every word.
        """
        policy = self.failover_policy
        if policy == "off" or error.failed_over is None or covered <= 0:
            return None
        if self.fixed_audio is not None:
            return None
        sentence = mark.text
        chars = int(covered * self.sync.chars_per_second())
        spoken = whole_words(sentence, chars)
        mark.text, mark.duration = spoken, covered
        rest = sentence if policy == "restart" else sentence[len(spoken) :].strip()
        self.on_failover(error, policy == "restart")
        return rest

    def _cancel_reason(self) -> str:
        return self.speech.interrupt_reason or "superseded"

    async def _synthesize_one(
        self,
        sentence: str,
        frames: trio.MemorySendChannel[AudioFrame | SentenceMark],
        delivered: list[float] | None = None,
    ) -> float:
        """Run ``tts_node`` for one sentence, relaying its frames; returns the audio length.

        ``delivered`` gets the audio length relayed when a ProviderError is raised."""
        send, recv = trio.open_memory_channel[AudioFrame](_NODE_BUFFER)
        duration = 0.0
        failures: list[ProviderError] = []
        try:
            async with trio.open_nursery() as nursery:
                if self.fixed_audio is not None:
                    nursery.start_soon(relay_audio, self.fixed_audio, send, self.speech.id)
                else:
                    nursery.start_soon(run_node, self.agent, sentence, send, failures)
                while (frame := await next_item(recv)) is not None:
                    duration += frame.duration
                    await self._refill.send(frames, frame)
        finally:  # synthesized audio counts even when the utterance was cut
            if self.fixed_audio is None:
                self.usage.tts_audio(self.tts_provider, duration)
        if failures:
            if delivered is not None:
                delivered.append(duration)
            raise failures[0]  # bare, not wrapped in the nursery's exception group
        return duration

    async def _play(
        self,
        frames: trio.MemoryReceiveChannel[AudioFrame | SentenceMark],
        sink: UtteranceSink,
    ) -> None:
        mark: SentenceMark | None = None
        known = ""  # the mark's text the synchronizer has
        while (item := await next_item(frames)) is not None:
            self._refill.took()
            if isinstance(item, SentenceMark):
                if mark is not None:
                    self._revise(mark)  # cut by a failover: the words covered
                    self._measured(mark)
                self.sync.begin_sentence(item.text, shown=item.shown)
                mark, known = item, item.text
                continue
            if mark is not None and mark.text is not known:
                self._revise(mark)  # a stream node consumed more text
                known = mark.text
            if mark is not None and mark.duration is not None:
                self.sync.expect_duration(mark.duration)
            if self.tts_first_frame_at is None:
                self.tts_first_frame_at = trio.current_time()
            if not sink.started:
                await self._gate()
            if not await sink.write(item):
                return
            self.sync.push_audio(item.duration)
            if item.text_end is not None and mark is not None and self._aligned(mark):
                self.sync.align(item.text_end)  # the TTS's own alignment
            if self.first_output_at is None:
                self._mark_started()
        if mark is not None:
            self._revise(mark)
            self._measured(mark)
        self.sync.end_sentence()
        if sink.started:
            await self._wait_for_playout(sink)

    def _aligned(self, mark: SentenceMark) -> bool:
        """Whether a frame's ``text_end`` indexes ``mark``'s text: a sentence's own
        request, or the default stream node fed words (it passes the TTS exactly the
        mark's text); an overridden node may give its TTS other text."""
        if not mark.growing:
            return True
        return self._words and not overrides(self.agent, "tts_stream_node")

    def _measured(self, mark: SentenceMark) -> None:
        """The sentence's synthesis has finished (the next mark, or the end, came after
        it): its measured duration, which its last frame may have outrun."""
        if mark.duration is not None:
            self.sync.expect_duration(mark.duration)

    def _revise(self, mark: SentenceMark) -> None:
        """Give the synchronizer ``mark``'s current text (and shown form if it grows)."""
        self.sync.revise_text(mark.text, shown=mark.shown if mark.growing else None)

    async def _gate(self) -> None:
        if self.speech.allow_interruptions:
            await self.state.wait_user_not_speaking()
        await self.speech.wait_unpaused()

    def _mark_started(self) -> None:
        self.first_output_at = trio.current_time()
        self.state.set_agent("speaking")

    async def _wait_for_playout(self, sink: UtteranceSink) -> None:
        """Wait for the sink's report, bounded by expected end + time paused + grace."""
        assert self.output is not None
        assert sink.first_frame_at is not None
        self.output.flush()
        while True:
            if self.speech.paused:
                await self.speech.wait_unpaused()
                continue
            deadline = sink.first_frame_at + sink.written + self._paused_for + self.playout_grace
            if trio.current_time() >= deadline:  # a sink that never reports: assume it played
                self.playback = PlaybackFinished(sink.written, interrupted=False)
                return
            with trio.move_on_at(deadline) as scope:
                self.playback = await self.output.wait_for_playout()
            if not scope.cancelled_caught:
                return


def _ignore_failover(error: ProviderError, restarted: bool) -> None:
    del error, restarted
