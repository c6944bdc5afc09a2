"""FakeTextOutput: records every transcript publication with its Trio time."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio

__all__ = ["FakeTextOutput", "PublishedTranscript"]


@dataclass(frozen=True, slots=True)
class PublishedTranscript:
    at: float
    speech_id: str
    text: str
    final: bool


@dataclass(slots=True)
class FakeTextOutput:
    published: list[PublishedTranscript] = field(default_factory=list)

    def publish_transcript(self, speech_id: str, text: str, *, final: bool) -> None:
        self.published.append(PublishedTranscript(trio.current_time(), speech_id, text, final))

    def finals(self) -> list[str]:
        return [p.text for p in self.published if p.final]
