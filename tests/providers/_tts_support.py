"""Shared helpers for the websocket TTS tests: both providers against their fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import trio

from trioagents.core import AudioFrame, ProviderError, StreamingTTS
from trioagents.protocol import CartesiaOptions, ElevenLabsOptions
from trioagents.providers import CartesiaTTS, ElevenLabsTTS, WebSocketTTS, WebSocketTTSConnection
from trioagents.testing import (
    FakeCartesiaServer,
    FakeElevenLabsServer,
    FakeTTSOptions,
    TTSUtterance,
    open_fake_cartesia,
    open_fake_elevenlabs,
)

FakeTTSServer = FakeElevenLabsServer | FakeCartesiaServer

KEY = "tts-test-key"
PROVIDERS = ["elevenlabs", "cartesia"]
RATE = 16000


def open_fake(
    provider: str, options: FakeTTSOptions | None = None
) -> AbstractAsyncContextManager[FakeTTSServer]:
    options = options or FakeTTSOptions(api_key=KEY)
    if provider == "elevenlabs":
        return open_fake_elevenlabs(options)
    return open_fake_cartesia(options)


def make_tts(provider: str, url: str, *, key: str = KEY, **connection: object) -> WebSocketTTS:
    conn = WebSocketTTSConnection(base_url=url, api_key=key, **connection)  # type: ignore[arg-type]
    if provider == "elevenlabs":
        return ElevenLabsTTS(ElevenLabsOptions(sample_rate=RATE), connection=conn)
    return CartesiaTTS(CartesiaOptions(sample_rate=RATE), connection=conn)


@asynccontextmanager
async def provider_and_fake(
    provider: str, options: FakeTTSOptions | None = None, **connection: object
) -> AsyncIterator[tuple[WebSocketTTS, FakeTTSServer]]:
    async with open_fake(provider, options) as server:
        yield make_tts(provider, server.url, **connection), server


@dataclass
class Spoken:
    frames: list[AudioFrame] = field(default_factory=list)
    error: ProviderError | None = None

    @property
    def text_ends(self) -> list[int | None]:
        return [frame.text_end for frame in self.frames]


async def speak(tts: StreamingTTS, pushes: Sequence[str]) -> Spoken:
    """Push everything (concurrently with reading), end the input, read to the end."""
    spoken = Spoken()
    try:
        async with tts.stream() as stream:

            async def feed() -> None:
                for text in pushes:
                    await stream.push_text(text)
                await stream.end_input()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(feed)
                try:
                    async for frame in stream:
                        spoken.frames.append(frame)
                except ProviderError as exc:
                    spoken.error = exc
                nursery.cancel_scope.cancel()
    except ProviderError as exc:
        spoken.error = exc
    return spoken


def covered(text: str, offset: int) -> int:
    while offset < len(text) and text[offset].isspace():
        offset += 1
    return offset


def expected_text_end(utterance: TTSUtterance, at: float, *, slack: float = 0.0) -> tuple[int, int]:
    """The range of ``text_end`` the fake's own alignment allows for a frame ending
    ``at`` seconds in: the offset its timeline had reached by ``at - slack`` and by
    ``at + slack``, in our text's coordinates, spaces after it included."""
    lead = len(utterance.init_text)
    text = utterance.text

    def reached(t: float) -> int:
        chars = max((c for end, c in utterance.timeline if end <= t + 1e-9), default=0)
        return covered(text, max(0, chars - lead))

    return reached(at - slack), reached(at + slack)


def frame_ends(frames: Sequence[AudioFrame]) -> list[float]:
    ends, samples = [], 0
    for frame in frames:
        samples += frame.samples_per_channel
        ends.append(samples / frame.sample_rate)
    return ends
