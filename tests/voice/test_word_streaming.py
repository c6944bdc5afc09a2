"""Word-streamed TTS input (``SessionOptions.tts_input="auto"`` with a streaming TTS).

The LLM's words reach a TTS that takes streamed input as they are written, in one
stream per utterance: first audio comes on the first words, not at the end of the
first sentence; a barge-in closes the stream in the same cancel; the committed
reply is what the sink played, within a word, from the TTS's alignment or (without
one) the measured speaking rate.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import AudioFrame, ProviderError, streams_text_input
from trioagents.providers import SentenceStreamTTS, with_retry
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeStreamingTTS,
    FakeSTT,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    speech,
)
from trioagents.voice import Agent, AgentSession, SessionOptions
from trioagents.voice._playout_parts import split_words

from .test_properties import Watch, WatchedOutput

REPLY = (
    "Your table for four is booked for eight tonight. We will keep it warm for you "
    "until half past eight. Please call us if your plans change at all."
)
TWELVE_WORDS = "Sure, I can book that table for you at eight tonight, okay?"


def streamed_heard(played_markers: list[int], text: str) -> str:
    """The oracle: the whole words of ``text`` in the audio the sink played (one
    stream: its last played marker is 1 + the characters spoken)."""
    if not played_markers:
        return ""
    chars = played_markers[-1] - 1
    words, used = [], 0
    for word in text.split(" "):
        if used + len(word) > chars:
            break
        words.append(word)
        used += len(word) + 1
    return " ".join(words)


async def first_audio_after(tts_input: str, tts: FakeTTS) -> tuple[float, float]:
    """(first frame at the sink, LLM finished), both relative to the end of speech."""
    timeline = Timeline([speech(0.5, 1.0, "book")], tail=6.0)
    output = FakeAudioOutput()
    llm = FakeLLM(default=LLMScript(TWELVE_WORDS, ttft=0.05, token_delay=0.05))
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0),
        llm=llm,
        tts=tts,
        vad=FakeVAD(),
        options=SessionOptions(tts_input=tts_input, min_endpointing_delay=0.05),  # type: ignore[arg-type]
    )
    async with session.start(
        Agent(instructions="t"), audio_input=FakeAudioInput(timeline), audio_output=output
    ):
        await trio.sleep(8.0)
    llm_done = llm.streams.records[0].closed_at
    assert llm_done is not None
    return output.accepted[0].at - 1.0, llm_done - 1.0


async def test_a_streaming_tts_speaks_before_the_llm_finished_the_sentence(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tts = FakeStreamingTTS(ttfb=0.02)
    first, llm_done = await first_audio_after("auto", tts)
    assert first < llm_done - 0.3  # 12 words 50 ms apart: audio came with the first words
    assert [r.request for r in tts.streams.records] == [TWELVE_WORDS]  # one stream


async def test_tts_input_sentences_waits_for_the_sentence(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tts = FakeStreamingTTS(ttfb=0.02)
    first, llm_done = await first_audio_after("sentences", tts)
    assert first >= llm_done  # the only sentence ends with the LLM's last word
    assert [r.request for r in tts.streams.records] == [TWELVE_WORDS]  # synthesize()


async def barge_in(rate: float, cut: float, aligned: bool) -> tuple[str, str, FakeStreamingTTS]:
    """(committed reply, oracle, tts) for a barge-in ``cut`` of the way into REPLY."""
    reply_seconds = len(REPLY) / rate
    ask = 0.3 if aligned else 6.0  # unaligned: a warm-up reply measures the voice first
    stop = ask + 1.4 + cut * (reply_seconds - 1.0)
    segments = [speech(ask, ask + 0.5, "book it"), speech(stop, stop + 1.0, "stop")]
    if not aligned:
        segments.insert(0, speech(0.3, 0.8, "hello"))
    timeline = Timeline(segments, tail=0.5)
    output = FakeAudioOutput()
    llm = FakeLLM(
        {"hello": LLMScript("Hello there, how can I help?"), "book it": LLMScript(REPLY)},
        default=LLMScript("Okay."),
    )
    tts = FakeStreamingTTS(chars_per_second=rate, frame_interval=0.02, aligned=aligned)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0), llm=llm, tts=tts, vad=FakeVAD()
    )
    async with session.start(
        Agent(instructions="t"), audio_input=FakeAudioInput(timeline), audio_output=output
    ):
        await trio.sleep(stop + 1.2)
    cut_segments = [s for s in output.segments if s.interrupted]
    assert cut_segments, "the reply was not interrupted"
    replies = [m for m in session.history.messages() if m.role == "assistant" and m.interrupted]
    assert len(replies) == 1, session.history.messages()
    return replies[0].content, streamed_heard(cut_segments[0].markers, REPLY), tts


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rate=st.floats(10.0, 30.0), cut=st.floats(0.05, 0.9), aligned=st.booleans())
async def test_the_committed_reply_is_what_was_heard_within_a_word(
    autojump_clock: trio.testing.MockClock, rate: float, cut: float, aligned: bool
) -> None:
    committed, heard, _ = await barge_in(rate, cut, aligned)
    assert REPLY.startswith(committed)
    assert abs(len(committed.split()) - len(heard.split())) <= 1, (committed, heard)


@pytest.mark.parametrize("rate", [10.0, 23.0, 30.0])
async def test_aligned_cut_is_exact(autojump_clock: trio.testing.MockClock, rate: float) -> None:
    committed, heard, tts = await barge_in(rate, 0.4, aligned=True)
    assert committed == heard
    assert tts.streams.all_closed()


async def test_barge_in_closes_the_stream_in_the_same_cancel_and_no_frame_follows(
    autojump_clock: trio.testing.MockClock,
) -> None:
    watch = Watch()
    timeline = Timeline([speech(0.3, 0.8, "book it"), speech(3.0, 4.0, "stop")], tail=1.0)
    output = WatchedOutput(watch)
    tts = FakeStreamingTTS(frame_interval=0.02)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0),
        llm=FakeLLM(default=LLMScript(REPLY, token_delay=0.02)),
        tts=tts,
        vad=FakeVAD(),
    )
    watch.session = session
    interrupted_at: list[float] = []
    async with session.start(
        Agent(instructions="t"), audio_input=FakeAudioInput(timeline), audio_output=output
    ):
        speech_handle = None
        while speech_handle is None:
            await trio.sleep(0.01)
            speech_handle = session.current_speech
        await speech_handle.wait_for_playout()
        interrupted_at.append(trio.current_time())
        await trio.sleep(2.0)
    assert speech_handle.interrupted
    record = tts.streams.records[0]
    assert record.closed_at is not None
    assert record.closed_at <= interrupted_at[0]  # closed before the handle resolved
    assert watch.violations == []
    assert output.clears  # the sink was cleared on the cut


class SentenceAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="per sentence")
        self.sentences: list[str] = []

    async def tts_node(self, text: str, frames: trio.MemorySendChannel[AudioFrame]) -> None:
        self.sentences.append(text)
        await super().tts_node(text, frames)


class WordsNodeAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="stream node")
        self.pieces: list[str] = []

    async def tts_stream_node(
        self, text: trio.MemoryReceiveChannel[str], frames: trio.MemorySendChannel[AudioFrame]
    ) -> None:
        seen_send, seen = trio.open_memory_channel[str](0)

        async def watch_text() -> None:
            async with seen_send:
                async for piece in text:
                    self.pieces.append(piece)
                    await seen_send.send(piece)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_text)
            await super().tts_stream_node(seen, frames)


async def run_reply(agent: Agent, tts: FakeTTS) -> AgentSession[None]:
    timeline = Timeline([speech(0.3, 0.8, "book it")], tail=1.0)
    session: AgentSession[None] = AgentSession(
        stt=FakeSTT(timeline, final_delay=0.0),
        llm=FakeLLM(default=LLMScript(REPLY, token_delay=0.01)),
        tts=tts,
        vad=FakeVAD(),
    )
    async with session.start(
        agent, audio_input=FakeAudioInput(timeline), audio_output=FakeAudioOutput()
    ):
        await trio.sleep(15.0)
    return session


async def test_an_overridden_tts_node_keeps_sentences(
    autojump_clock: trio.testing.MockClock,
) -> None:
    agent = SentenceAgent()
    tts = FakeStreamingTTS()
    session = await run_reply(agent, tts)
    assert agent.sentences == [
        "Your table for four is booked for eight tonight.",
        "We will keep it warm for you until half past eight.",
        "Please call us if your plans change at all.",
    ]
    assert [m.content for m in session.history.messages() if m.role == "assistant"] == [REPLY]


async def test_an_overridden_stream_node_is_fed_words(
    autojump_clock: trio.testing.MockClock,
) -> None:
    agent = WordsNodeAgent()
    tts = FakeStreamingTTS()
    session = await run_reply(agent, tts)
    assert "".join(agent.pieces) == REPLY
    assert len(agent.pieces) == len(REPLY.split())  # one word at a time (token_delay apart)
    assert [r.request for r in tts.streams.records] == [REPLY]
    assert [m.content for m in session.history.messages() if m.role == "assistant"] == [REPLY]


async def test_a_tts_error_mid_stream_ends_the_reply_with_what_was_heard(
    autojump_clock: trio.testing.MockClock,
) -> None:
    error = ProviderError("tts down", provider="fake", retryable=False)
    tts = FakeStreamingTTS(frame_interval=0.02, errors={"warm": error})
    session = await run_reply(Agent(instructions="t"), tts)
    replies = [m for m in session.history.messages() if m.role == "assistant"]
    assert len(replies) == 1
    assert replies[0].content.startswith("Your table for four")
    assert "warm" not in replies[0].content
    assert tts.streams.all_closed()


def test_which_tts_gets_words() -> None:
    assert streams_text_input(FakeStreamingTTS())
    assert streams_text_input(with_retry(FakeStreamingTTS()))
    assert not streams_text_input(FakeTTS())
    assert not streams_text_input(SentenceStreamTTS(FakeTTS()))
    assert not streams_text_input(with_retry(SentenceStreamTTS(FakeTTS())))
    assert not streams_text_input(None)


@given(st.lists(st.text(alphabet=" ab.\n", max_size=6), max_size=12))
async def test_split_words_loses_nothing_and_cuts_after_whitespace(pieces: list[str]) -> None:
    send, receive = trio.open_memory_channel[str](len(pieces) + 1)
    out_send, out = trio.open_memory_channel[str](len(pieces) + 2)
    for piece in pieces:
        send.send_nowait(piece)
    send.close()
    await split_words(receive, out_send)
    sent = [piece async for piece in out]
    assert "".join(sent) == "".join(pieces).lstrip()
    assert all(piece and piece[-1].isspace() for piece in sent[:-1])
    assert all(piece for piece in sent)
