"""Shared helpers for the realtime model tests: a model for a fake server, a reply run."""

from __future__ import annotations

from dataclasses import dataclass, field

from trioagents.core import (
    LLMToolCall,
    LLMUsage,
    ProviderError,
    RealtimeSession,
    ResponseAudio,
    ResponseText,
)
from trioagents.protocol import OpenAIRealtimeOptions
from trioagents.providers import OpenAIConnection, RealtimeModel
from trioagents.testing import FakeRealtimeServer, heard_chars

KEY = "sk-test-realtime-key"


def realtime(
    server: FakeRealtimeServer | str,
    *,
    options: OpenAIRealtimeOptions | None = None,
    idle_timeout: float | None = 5.0,
    api_key: str = KEY,
    **kwargs: object,
) -> RealtimeModel:
    base_url = server if isinstance(server, str) else server.base_url
    connection = OpenAIConnection(
        base_url=base_url, api_key=api_key, idle_timeout=idle_timeout, connect_timeout=5.0
    )
    return RealtimeModel(options, connection=connection, **kwargs)  # type: ignore[arg-type]


@dataclass
class Reply:
    frames: list[ResponseAudio] = field(default_factory=list)
    text: str = ""
    calls: list[LLMToolCall] = field(default_factory=list)
    usage: list[LLMUsage] = field(default_factory=list)
    error: ProviderError | None = None
    status: str | None = None

    @property
    def audio_seconds(self) -> float:
        return sum(f.frame.duration for f in self.frames)

    @property
    def spoken_chars(self) -> int:
        markers = [int(f.frame.data[0, 0]) for f in self.frames]
        chars = heard_chars(markers)
        return chars[0] if chars else 0


async def reply(session: RealtimeSession, *, limit: int | None = None, **kwargs: object) -> Reply:
    """Ask for one reply; read it all, or only ``limit`` audio frames (then leave)."""
    out = Reply()
    try:
        async with session.respond(**kwargs) as response:  # type: ignore[arg-type]
            async for event in response:
                if isinstance(event, ResponseAudio):
                    out.frames.append(event)
                    if limit is not None and len(out.frames) >= limit:
                        break
                elif isinstance(event, ResponseText):
                    out.text += event.text
                elif isinstance(event, LLMToolCall):
                    out.calls.append(event)
                else:
                    out.usage.append(event)
            out.status = response.status
    except ProviderError as exc:
        out.error = exc
    return out
