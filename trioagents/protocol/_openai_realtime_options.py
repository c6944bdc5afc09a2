"""OpenAI Realtime session options: model, voice, API flavour, turn detection.

Frozen dataclasses validated at construction (:class:`ConfigurationError` says
how to fix a bad value); :func:`realtime_url` derives the websocket URL from an
OpenAI-style HTTP base URL. The wire form of the options is built by
:class:`~._openai_realtime.OpenAIRealtimeProtocol`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias
from urllib.parse import urlencode, urlsplit

from ..core import ConfigurationError
from ._realtime_transcription import SemanticVAD, ServerVAD

__all__ = [
    "REALTIME_SAMPLE_RATE",
    "OpenAIRealtimeOptions",
    "RealtimeTurnDetection",
    "realtime_url",
]

REALTIME_SAMPLE_RATE = 24000


RealtimeTurnDetection: TypeAlias = ServerVAD | SemanticVAD
"""The realtime transcription core's turn detection settings, shared."""


@dataclass(frozen=True, slots=True)
class OpenAIRealtimeOptions:
    """The session the client configures (OpenAI's names where they exist).

    ``turn_detection`` None: the server detects no turns (our VAD and turn
    detector decide; see ``docs/providers.md``). ``input_transcription_model``
    None: no transcript of the user's audio (no user messages in the chat
    context). ``temperature`` exists only in the beta API.
    """

    model: str = "gpt-realtime"
    voice: str = "marin"
    api: Literal["ga", "beta"] = "ga"
    turn_detection: RealtimeTurnDetection | None = field(default_factory=ServerVAD)
    input_transcription_model: str | None = "gpt-4o-mini-transcribe"
    input_transcription_language: str | None = None
    noise_reduction: Literal["near_field", "far_field"] | None = None
    speed: float | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.api not in ("ga", "beta"):
            raise ConfigurationError("OpenAIRealtimeOptions.api must be 'ga' or 'beta'")
        if self.speed is not None and not 0.25 <= self.speed <= 1.5:
            raise ConfigurationError("OpenAIRealtimeOptions.speed must be within 0.25..1.5")
        if self.temperature is not None and self.api == "ga":
            raise ConfigurationError(
                "OpenAIRealtimeOptions.temperature is a beta-API setting; use api='beta' "
                "or leave it unset"
            )
        if self.max_output_tokens is not None and not 1 <= self.max_output_tokens <= 4096:
            raise ConfigurationError("OpenAIRealtimeOptions.max_output_tokens: 1..4096")
        if self.noise_reduction not in (None, "near_field", "far_field"):
            raise ConfigurationError("noise_reduction: 'near_field', 'far_field' or None")

    def headers(self) -> list[tuple[str, str]]:
        """Extra upgrade headers of the chosen API (no credentials)."""
        return [("OpenAI-Beta", "realtime=v1")] if self.api == "beta" else []


def realtime_url(
    options: OpenAIRealtimeOptions, base_url: str, query: Mapping[str, str] | None = None
) -> str:
    """The websocket URL for an OpenAI-style ``base_url`` (``https://host/v1``)."""
    parts = urlsplit(base_url)
    schemes = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigurationError("the realtime base URL must be http(s):// or ws(s):// with a host")
    if parts.query:
        raise ConfigurationError("the realtime base URL must not carry a query; use query=")
    path = parts.path.rstrip("/") + "/realtime"
    pairs = [("model", options.model), *((str(k), str(v)) for k, v in (query or {}).items())]
    return f"{schemes[parts.scheme]}://{parts.netloc}{path}?{urlencode(pairs)}"
