"""Shared helpers for the OpenAI realtime transcription tests: a client for a fake server."""

from __future__ import annotations

from trioagents.protocol import RealtimeTranscriptionOptions, ServerVAD
from trioagents.providers import OpenAIConnection, OpenAIRealtimeSTT

KEY = "sk-test-key"
FAST_VAD = ServerVAD(prefix_padding_ms=300, silence_duration_ms=100)
"""100 ms of silence ends an utterance (the default 500 ms would merge close ones)."""


def realtime(
    base_url: str,
    *,
    idle_timeout: float | None = 5.0,
    options: RealtimeTranscriptionOptions | None = None,
    api_key: str = KEY,
    **connection: object,
) -> OpenAIRealtimeSTT:
    return OpenAIRealtimeSTT(
        options or RealtimeTranscriptionOptions(turn_detection=FAST_VAD),
        connection=OpenAIConnection(
            base_url=base_url,
            api_key=api_key,
            idle_timeout=idle_timeout,
            **connection,  # type: ignore[arg-type]
        ),
    )
