"""The pieces of an utterance's playout that need no state of it (``_playout.py``).

* :class:`SentenceMark`: starts a segment of text in the frame stream;
* the text splitters feeding synthesis: :func:`split_sentences` (one TTS request per
  sentence), :func:`split_words` (whole words as they arrive, for a TTS that takes
  streamed input), :func:`whole` (the transcript of pre-rendered audio);
* the node runners (a :class:`~trioagents.ProviderError` is kept, not raised, so the
  caller reads it bare rather than wrapped in a nursery's exception group), and
  :func:`transcribe` (``transcription_node`` applied to one sentence).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterable

import trio

from ..core import AudioFrame, ConfigurationError, ProviderError, SentenceSplitter
from ._agent import Agent

__all__ = [
    "SentenceMark",
    "relay_audio",
    "run_node",
    "run_stream_node",
    "split_sentences",
    "split_words",
    "transcribe",
    "whole",
]

logger = logging.getLogger("trioagents.voice.playout")


class SentenceMark:
    """Starts a sentence in the frame stream; ``duration`` is filled once synthesized.

    ``shown``: its ``transcription_node`` form. ``growing``: the one mark of a
    ``tts_stream_node`` utterance, whose text grows as the node consumes sentences.
    """

    __slots__ = ("duration", "growing", "shown", "text")

    def __init__(self, text: str, shown: str | None = None) -> None:
        self.text = text
        self.shown = shown
        self.duration: float | None = None
        self.growing = False


async def run_node(
    agent: Agent,
    text: str,
    out: trio.MemorySendChannel[AudioFrame],
    failures: list[ProviderError],
) -> None:
    async with out:
        try:
            await agent.tts_node(text, out)
        except ProviderError as exc:
            failures.append(exc)


async def run_stream_node(
    agent: Agent,
    text: trio.MemoryReceiveChannel[str],
    out: trio.MemorySendChannel[AudioFrame],
    failures: list[ProviderError],
) -> None:
    async with out:
        try:
            await agent.tts_stream_node(text, out)
        except ProviderError as exc:
            failures.append(exc)


async def transcribe(agent: Agent, sentence: str) -> str:
    """``agent.transcription_node`` applied to one sentence (whatever it sent, joined).

    Raises ConfigurationError when the node sends something that is not a str.
    """
    send, recv = trio.open_memory_channel[str](1)
    out_send, out_recv = trio.open_memory_channel[str](math.inf)
    send.send_nowait(sentence)
    send.close()
    with recv, out_recv:
        async with out_send:
            await agent.transcription_node(recv, out_send)
        pieces = [piece async for piece in out_recv]
    if not all(isinstance(piece, str) for piece in pieces):
        raise ConfigurationError("transcription_node must send str pieces")
    return "".join(pieces).strip()


async def relay_audio(
    audio: AsyncIterable[AudioFrame], out: trio.MemorySendChannel[AudioFrame], speech_id: str
) -> None:
    """Pre-rendered frames into the utterance; stops at the first item that is not a frame."""
    async with out:
        try:
            async for frame in audio:
                if not isinstance(frame, AudioFrame):
                    logger.error(
                        "say(audio=...) yielded something that is not an AudioFrame; "
                        "the rest of this speech is skipped",
                        extra={"speech_id": speech_id, "item_type": type(frame).__name__},
                    )
                    break
                await out.send(frame)
        finally:
            aclose = getattr(audio, "aclose", None)
            if aclose is not None:  # an async generator: run its cleanup now
                await aclose()


async def whole(text: trio.MemoryReceiveChannel[str], out: trio.MemorySendChannel[str]) -> None:
    """All of ``text`` as one segment (the transcript of pre-rendered audio)."""
    async with out:
        pieces = [piece async for piece in text]
        await out.send("".join(pieces) or " ")


async def split_sentences(
    text: trio.MemoryReceiveChannel[str], out: trio.MemorySendChannel[str]
) -> None:
    splitter = SentenceSplitter()
    async with out:
        async for piece in text:
            for sentence in splitter.push(piece):
                await out.send(sentence)
        rest = splitter.flush()
        if rest:
            await out.send(rest)


async def split_words(
    text: trio.MemoryReceiveChannel[str], out: trio.MemorySendChannel[str]
) -> None:
    """The text in whole words: each piece is sent once it ends in whitespace.

    The pieces joined are exactly the text without its leading whitespace, so the
    character offsets a TTS reports (``AudioFrame.text_end``) index the joined
    pieces. A word still being written waits for the next piece or the end.
    """
    pending = ""
    started = False  # a non-space character came: whitespace counts from then on
    async with out:
        async for piece in text:
            pending += piece if started else piece.lstrip()
            started = started or bool(pending)
            cut = _after_last_space(pending)
            if cut:
                await out.send(pending[:cut])
                pending = pending[cut:]
        if pending:
            await out.send(pending)


def _after_last_space(text: str) -> int:
    for index in range(len(text) - 1, -1, -1):
        if text[index].isspace():
            return index + 1
    return 0
