"""An AgentSession whose TTS is a websocket TTS, against its loopback fake server.

``ElevenLabsTTS`` with the fake ElevenLabs, ``CartesiaTTS`` with the fake Cartesia,
each inside one ``tts.connected()`` block (a shared socket, one context per
reply). The LLM's words reach the websocket as they are written (the session's
word-streamed TTS input); the fake speaks in real (virtual) time; the user barges
in mid-reply. The committed reply must be what the sink played -- the fake's
samples say how many characters each frame had spoken -- within a word, from the
provider's own alignment (``text_end``); the fake must have seen the cancel within
the barge-in; the next reply goes out on the same socket. Virtual time, real
loopback sockets.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.providers import WebSocketTTS
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTTSOptions,
    FakeVAD,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import Agent, AgentSession

from ..providers._tts_support import KEY, PROVIDERS, provider_and_fake

REPLY = (
    "Your table for four is booked for eight tonight. We will keep it warm for you "
    "until half past eight. Please call us if your plans change at all."
)


def heard_words(markers: list[int], lead: int) -> list[str]:
    """The whole words of REPLY in the played audio: each frame's first sample is 1 +
    the received characters spoken before it (``lead`` of them not ours)."""
    if not markers:
        return []
    chars = markers[-1] - 1 - lead
    words, used = [], 0
    for word in REPLY.split(" "):
        if used + len(word) > chars:
            break
        words.append(word)
        used += len(word) + 1
    return words


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_barge_in_commits_what_was_heard_and_cancels_on_the_wire(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    stop = 4.0
    timeline = Timeline(
        [speech(0.3, 0.8, "book it"), speech(stop, stop + 0.8, "stop"), speech(7.0, 7.5, "ok")],
        tail=4.0,
    )
    output = FakeAudioOutput()
    llm = FakeLLM(
        {"book it": LLMScript(REPLY, token_delay=0.02), "ok": LLMScript("Fine.")},
        default=LLMScript("Okay."),
    )
    options = FakeTTSOptions(api_key=KEY, pace=1.0)
    with trio.fail_after(60):
        async with provider_and_fake(provider, options) as (tts, server):
            assert isinstance(tts, WebSocketTTS)
            async with tts.connected() as shared:
                session: AgentSession[None] = AgentSession(
                    stt=FakeSTT(timeline, final_delay=0.0), llm=llm, tts=shared, vad=FakeVAD()
                )
                async with session.start(
                    Agent(instructions="t"),
                    audio_input=FakeAudioInput(timeline),
                    audio_output=output,
                ):
                    await trio.sleep(11.0)
                connections = shared.statistics().connections
    cut = [s for s in output.segments if s.interrupted]
    assert cut, "the reply was not interrupted"
    replies = [m for m in session.history.messages() if m.role == "assistant"]
    interrupted = [m for m in replies if m.interrupted]
    assert len(interrupted) == 1
    committed = interrupted[0].content
    assert REPLY.startswith(committed)
    lead = 1 if provider == "elevenlabs" else 0  # ElevenLabs' " " opens every context
    heard = heard_words(cut[0].markers, lead)
    assert abs(len(committed.split()) - len(heard)) <= 1, (committed, heard)
    assert 0 < len(heard) < len(REPLY.split())
    first = server.utterances[0]
    assert first.cancelled_at is not None  # the server was told to stop
    assert first.cancelled_by == "message"
    assert first.done_at is None
    assert any(m.content == "Fine." for m in replies)  # the next reply, same socket
    assert connections == 1
