"""Shared helpers for the Deepgram tests: a client for a fake server (the timeline
and the run are the streaming STT tests' own, :mod:`._streaming_stt_support`)."""

from __future__ import annotations

from trioagents.protocol import DeepgramOptions
from trioagents.providers import DeepgramConnection, DeepgramSTT

from ._streaming_stt_support import Run, transcribe, two_utterances

__all__ = ["KEY", "Run", "deepgram", "transcribe", "two_utterances"]

KEY = "dg-test-key"


def deepgram(
    url: str,
    *,
    idle_timeout: float | None = 5.0,
    options: DeepgramOptions | None = None,
    api_key: str = KEY,
    **connection: object,
) -> DeepgramSTT:
    return DeepgramSTT(
        options or DeepgramOptions(endpointing_ms=100),
        connection=DeepgramConnection(
            base_url=url,
            api_key=api_key,
            idle_timeout=idle_timeout,
            **connection,  # type: ignore[arg-type]
        ),
    )
