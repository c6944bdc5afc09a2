"""Shared helpers for provider tests: speech-like audio and provider groups."""

from __future__ import annotations

import random

import numpy as np

from trioagents.core import LLM, TTS, AudioFrame, ChatContext, LLMEvent, silence
from trioagents.providers import OpenAIConnection, RetryPolicy


def tone_burst(*, lead: float = 0.3, speech: float = 1.0, tail: float = 1.0) -> list[AudioFrame]:
    """20 ms frames at 16 kHz: silence, a loud 300 Hz tone (a stand-in for speech), silence."""
    rate = 16000
    t = np.arange(round(speech * rate)) / rate
    tone = AudioFrame.from_float(0.3 * np.sin(2 * np.pi * 300 * t), rate)
    whole = np.concatenate([silence(lead, rate).data, tone.data, silence(tail, rate).data], axis=0)
    step = rate // 50
    return [AudioFrame(whole[i : i + step].copy(), rate) for i in range(0, len(whole), step)]


def user_says(text: str = "hi") -> ChatContext:
    ctx = ChatContext()
    ctx.add_message("user", text)
    return ctx


def connection(base_url: str, *, idle_timeout: float | None = 5.0) -> OpenAIConnection:
    return OpenAIConnection(base_url=base_url, api_key="sk-test", idle_timeout=idle_timeout)


def policy(seed: int = 0) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(seed))


async def collect_chat(llm: LLM, sink: list[LLMEvent] | None = None) -> list[LLMEvent]:
    """Every event of one chat; ``sink`` keeps what arrived before an error."""
    got = sink if sink is not None else []
    async with llm.chat(user_says()) as events:
        async for event in events:
            got.append(event)
    return got


async def collect_frames(
    tts: TTS, text: str, sink: list[AudioFrame] | None = None
) -> list[AudioFrame]:
    got = sink if sink is not None else []
    async with tts.synthesize(text) as frames:
        async for frame in frames:
            got.append(frame)
    return got
