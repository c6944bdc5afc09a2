"""Shared helpers for the streaming STT tests: a timeline, a run of one stream."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio

from trioagents.core import STT, ProviderError, SpeechEvent, SpeechEventType
from trioagents.testing import FakeAudioInput, Timeline, noise, speech


def two_utterances(sample_rate: int = 16000) -> Timeline:
    return Timeline(
        [
            speech(0.3, 1.2, "turn on the lights"),
            noise(1.5, 1.7),
            speech(2.0, 2.6, "thank you"),
        ],
        tail=0.5,
        sample_rate=sample_rate,
    )


@dataclass
class Run:
    events: list[SpeechEvent] = field(default_factory=list)
    error: ProviderError | None = None

    @property
    def finals(self) -> list[str]:
        return [e.text for e in self.events if e.type is SpeechEventType.FINAL_TRANSCRIPT]

    def kinds(self) -> list[SpeechEventType]:
        return [e.type for e in self.events]


async def transcribe(stt: STT, timeline: Timeline, *, language: str | None = None) -> Run:
    """Play ``timeline`` into one stream in (virtual) real time; collect until it ends."""
    run = Run()
    try:
        async with stt.stream(language=language) as stream:

            async def feed() -> None:
                async for frame in FakeAudioInput(timeline):
                    await stream.push_frame(frame)
                await stream.end_input()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(feed)
                try:
                    async for event in stream:
                        run.events.append(event)
                except ProviderError as exc:
                    run.error = exc
                nursery.cancel_scope.cancel()
    except ProviderError as exc:  # opening failed
        run.error = exc
    return run
