"""What a session consumed from its providers: tokens, characters, audio seconds.

LiveKit Agents aggregates model usage per provider (``session.usage``,
``session_usage_updated``); so do we. The session owns one :class:`UsageCollector`;
the places that talk to providers report to it synchronously:

* LLM: every completion is one request; its ``LLMUsage`` events add prompt and
  completion tokens (providers that report none add nothing; a stream cancelled
  before its usage arrived is counted as a request only);
* TTS: every sentence sent to ``tts_node`` adds its characters and the audio it
  produced, cut short or not;
* STT: every frame handed to the STT adds its duration (silence sent while an
  uninterruptible speech plays included: the provider bills it).

``session.usage`` is an immutable :class:`SessionUsage` snapshot; a
:class:`~trioagents.voice.SessionUsageUpdated` event carries a new snapshot after
each agent turn that changed it. Keys are the provider's ``label``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

__all__ = ["ModelUsage", "SessionUsage", "UsageCollector", "UsageKind"]

UsageKind: TypeAlias = Literal["llm", "tts", "stt"]


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One provider's consumption. Fields that do not apply to ``kind`` stay zero."""

    kind: UsageKind
    provider: str
    requests: int = 0  # LLM completions, TTS sentences
    prompt_tokens: int = 0
    completion_tokens: int = 0
    characters: int = 0  # TTS input
    audio_seconds: float = 0.0  # TTS output, STT input


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """Usage per provider, in first-use order, with totals per kind."""

    models: tuple[ModelUsage, ...] = ()

    def of(self, kind: UsageKind) -> tuple[ModelUsage, ...]:
        return tuple(m for m in self.models if m.kind == kind)

    @property
    def llm_prompt_tokens(self) -> int:
        return sum(m.prompt_tokens for m in self.of("llm"))

    @property
    def llm_completion_tokens(self) -> int:
        return sum(m.completion_tokens for m in self.of("llm"))

    @property
    def tts_characters(self) -> int:
        return sum(m.characters for m in self.of("tts"))

    @property
    def tts_audio_seconds(self) -> float:
        return sum(m.audio_seconds for m in self.of("tts"))

    @property
    def stt_audio_seconds(self) -> float:
        return sum(m.audio_seconds for m in self.of("stt"))


@dataclass(slots=True)
class UsageCollector:
    """The session's running totals (synchronous; never raises)."""

    _models: dict[tuple[UsageKind, str], ModelUsage] = field(default_factory=dict)
    _version: int = 0
    _published: int = 0

    def _add(self, kind: UsageKind, provider: str, **amounts: float) -> None:
        key = (kind, provider)
        current = self._models.get(key) or ModelUsage(kind, provider)
        updated = {name: getattr(current, name) + value for name, value in amounts.items()}
        self._models[key] = replace(current, **updated)
        self._version += 1

    def llm_request(self, provider: str) -> None:
        self._add("llm", provider, requests=1)

    def llm_tokens(self, provider: str, prompt: int, completion: int) -> None:
        self._add("llm", provider, prompt_tokens=prompt, completion_tokens=completion)

    def tts_sentence(self, provider: str, characters: int) -> None:
        self._add("tts", provider, requests=1, characters=characters)

    def tts_audio(self, provider: str, seconds: float) -> None:
        self._add("tts", provider, audio_seconds=seconds)

    def stt_audio(self, provider: str, seconds: float) -> None:
        self._add("stt", provider, audio_seconds=seconds)

    def snapshot(self) -> SessionUsage:
        return SessionUsage(tuple(self._models.values()))

    def take_update(self) -> SessionUsage | None:
        """A snapshot if anything changed since the last call, else None."""
        if self._version == self._published:
            return None
        self._published = self._version
        return self.snapshot()
