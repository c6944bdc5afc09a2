"""The simulated caller: a second participant that speaks its script and listens.

:meth:`SimulatedCaller.run` is the whole call, run in the caller's ``async with
open_room(...)`` block:

1. register for ``lk.transcription`` text streams, publish a microphone track;
2. wait for the agent (a participant of kind AGENT with an audio track) and
   subscribe to its audio, watching for speech onsets (energy after ≥ 300 ms of
   quiet);
3. wait for the greeting, then for each line: play its audio (synthesized before
   the call by :meth:`CallerScript.synthesize`; a ``...`` in a line is a pause of
   ``MID_SENTENCE_PAUSE`` seconds mid-sentence, the parts synthesized apart) in
   real time (or tones, and inject the line as ``lk.chat`` text when the agent has
   no STT), note the end of speech, and wait for the agent's next reply — the
   reply is the agent's final ``lk.transcription`` stream that transcribes no
   track (the agent's own words, sent once they were played);
4. return; the caller's block then leaves the room, which ends the agent's job.

The caller really listens: it keeps the agent's audio of each reply (every frame
received since the previous reply, cut when the reply's transcript arrives) in
``reply_audio``; :meth:`SimulatedCaller.transcribe_replies` runs its own offline
STT on them after the call and reports what it heard next to what the agent said.
After, not during: decoding in the middle of the call competes for the CPU (and
pocketsphinx holds the GIL) with the agent's recognizer, and on a loaded 2-core
machine that degraded what the agent heard. With a ``recording`` both sides are
recorded (``--save-wav``).

Nothing here has a timeout: the demo puts a deadline around the call.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import trio
from livekit.protocol import models

from ..core import TTS, AudioFrame, BatchSTT, silence
from ..rtc import AudioSource, Room, TextStreamReader
from ._demo_pipeline import (
    PAUSE_MARK,
    CallerVoice,
    spoken_form,
    synthesize_all,
    without_pauses,
)
from ._demo_recording import AGENT, CALLER, CallRecording
from ._demo_report import DemoReporter

__all__ = ["CallerScript", "SimulatedCaller"]

_ONSET_RMS = 0.01
_QUIET_BEFORE_ONSET = 0.3
# Played after each line, as a microphone would: the tail of the last word is
# not cut off at a frame boundary of the codec or the VAD.
_TRAILING_SILENCE = 0.5
MID_SENTENCE_PAUSE = 1.0
_HEARD_MAX_FRAMES = 1500  # 30 s of 20 ms frames kept for the caller's transcription


@dataclass(frozen=True, slots=True)
class CallerScript:
    """The caller's lines with their audio, synthesized before the call."""

    lines: tuple[str, ...]
    audio: tuple[list[AudioFrame], ...]
    voice: CallerVoice

    @property
    def sample_rate(self) -> int:
        return self.voice.tts.sample_rate

    @property
    def duration(self) -> float:
        return sum(frame.duration for frames in self.audio for frame in frames)

    @classmethod
    async def synthesize(cls, lines: Sequence[str], voice: CallerVoice) -> CallerScript:
        """Synthesize every line as spoken (numbers as words, pauses as silence);
        TTS errors propagate."""
        audio = [await _spoken_line(voice.tts, line) for line in lines]
        return cls(tuple(lines), tuple(audio), voice)


async def _spoken_line(tts: TTS, line: str) -> list[AudioFrame]:
    frames: list[AudioFrame] = []
    for index, part in enumerate(p for p in line.split(PAUSE_MARK) if p.strip()):
        if index:
            frames.append(silence(MID_SENTENCE_PAUSE, tts.sample_rate))
        frames += await synthesize_all(tts, spoken_form(part))
    return frames


@dataclass(frozen=True, slots=True)
class _Transcript:
    text: str
    own_words: bool  # the agent's words, not its transcript of us


class SimulatedCaller:
    """A scripted participant; ``inject_text`` sends each line as ``lk.chat`` too."""

    def __init__(
        self,
        room: Room,
        script: CallerScript,
        reporter: DemoReporter,
        *,
        inject_text: bool,
        recording: CallRecording | None = None,
    ) -> None:
        self._room = room
        self._recording = recording
        self._agent_audio: deque[AudioFrame] = deque(maxlen=_HEARD_MAX_FRAMES)
        self.reply_audio: list[list[AudioFrame]] = []
        self._script = script
        self._reporter = reporter
        self._inject = inject_text
        self._onsets: list[float] = []
        self._own_track_sid: Callable[[], str] = str
        self._send, self._transcripts = trio.open_memory_channel[_Transcript](64)

    async def run(self) -> None:
        """Hold the call (see the module docstring); cancelled with the caller."""
        self._room.register_text_stream_handler("lk.transcription", self._on_transcription)
        async with (
            self._room.publish_audio(sample_rate=self._script.sample_rate) as source,
            trio.open_nursery() as nursery,
        ):
            self._own_track_sid = lambda: source.track_sid  # changes on a rejoin
            agent_track = await self._wait_for_agent_track()
            nursery.start_soon(self._watch_onsets, agent_track)
            await self._next_reply(since=trio.current_time())
            for line, frames in zip(self._script.lines, self._script.audio, strict=True):
                ended = await self._speak(source, line, frames)
                await self._next_reply(since=ended)
            nursery.cancel_scope.cancel()

    async def _wait_for_agent_track(self) -> str:
        while True:
            for participant in self._room.remote_participants.values():
                if participant.kind != models.ParticipantInfo.AGENT:
                    continue
                for publication in participant.tracks.values():
                    if publication.kind == "audio":
                        return publication.sid
            await self._room.wait_state_changed()

    async def _speak(self, source: AudioSource, line: str, frames: list[AudioFrame]) -> float:
        """Play ``frames`` in real time; returns when the last one left the track."""
        how = "spoken" if self._script.voice.is_speech else "tones"
        if PAUSE_MARK in line:
            how += f", {MID_SENTENCE_PAUSE:.1f} s pause mid-sentence"
        if self._inject:
            how += " + text injected"
        self._reporter.caller_said(line, how)
        started = trio.current_time()
        for frame in frames:
            await source.capture_frame(frame)
            if self._recording is not None:
                self._recording.add(CALLER, trio.current_time(), frame)
        await source.capture_frame(silence(_TRAILING_SILENCE, frames[-1].sample_rate))
        source.flush()
        await source.wait_for_playout()
        ended = trio.current_time() - _TRAILING_SILENCE
        self._reporter.caller_line_ended(started, ended)
        if self._inject:
            await self._room.send_text(without_pauses(line), topic="lk.chat")
            ended = trio.current_time()
        return ended

    async def _next_reply(self, *, since: float) -> None:
        async for transcript in self._transcripts:
            if not transcript.own_words:
                self._reporter.agent_heard(transcript.text)
                continue
            onset = next((t for t in self._onsets if t >= since), None)
            self._reporter.agent_said(transcript.text, None if onset is None else onset - since)
            self.reply_audio.append(list(self._agent_audio))
            self._agent_audio.clear()
            return

    async def transcribe_replies(self, listener: BatchSTT) -> None:
        """After the call: what the caller's own STT heard of each reply, reported in
        order (provider errors propagate)."""
        for index, frames in enumerate(self.reply_audio):
            event = await listener.recognize(frames)
            self._reporter.caller_heard(index, event.text)

    async def _on_transcription(self, reader: TextStreamReader) -> None:
        text = await reader.read_all()
        attributes = reader.final_attributes
        if attributes.get("lk.transcription_final") != "true" or not text:
            return
        # the agent transcribes our microphone track; its own words name its track
        own_words = attributes.get("lk.transcribed_track_id", "") != self._own_track_sid()
        await self._send.send(_Transcript(text, own_words))

    async def _watch_onsets(self, track_sid: str) -> None:
        quiet_since: float | None = -math.inf  # the first sound heard is an onset
        async with self._room.subscribe_audio(track_sid, sample_rate=16000) as stream:
            async for frame in stream:
                now = trio.current_time()
                self._agent_audio.append(frame)
                if self._recording is not None:
                    self._recording.add(AGENT, now - frame.duration, frame)
                if frame.rms() < _ONSET_RMS:
                    quiet_since = now if quiet_since is None else quiet_since
                    continue
                if quiet_since is not None and now - quiet_since >= _QUIET_BEFORE_ONSET:
                    self._onsets.append(now - frame.duration)
                quiet_since = None
