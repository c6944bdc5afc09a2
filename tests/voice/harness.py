"""Builds a spoken session on the trioagents.testing fakes (shared by the voice tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio
import trio.lowlevel

from trioagents.core import VAD
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeLLM,
    FakeSTT,
    FakeTextOutput,
    FakeTTS,
    FakeVAD,
    LLMScript,
    Timeline,
    UserSpeech,
)
from trioagents.voice import (
    Agent,
    AgentSession,
    SessionEvent,
    SessionObserver,
    SessionOptions,
    TurnDetector,
)


@dataclass
class Call:
    session: AgentSession[None]
    audio_in: FakeAudioInput
    audio_out: FakeAudioOutput
    llm: FakeLLM
    tts: FakeTTS
    stt: FakeSTT
    vad: FakeVAD  # the session's, unless open_call was given another VAD
    events: list[SessionEvent] = field(default_factory=list)

    def at(self, t: float) -> float:
        """Trio time of timeline time ``t``."""
        return self.audio_in.to_clock(t)

    async def sleep_until(self, t: float) -> None:
        await trio.sleep_until(self.at(t))

    def of_type(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


@asynccontextmanager
async def open_call(
    segments: Sequence[UserSpeech],
    *,
    responses: Mapping[str, LLMScript] | None = None,
    default: LLMScript | None = None,
    options: SessionOptions | None = None,
    tts: FakeTTS | None = None,
    output: FakeAudioOutput | None = None,
    stt: FakeSTT | None = None,
    turn_detector: TurnDetector | None = None,
    agent: Agent | None = None,
    text_output: FakeTextOutput | None = None,
    tail: float = 30.0,
    observers: Sequence[SessionObserver] = (),
    vad: VAD | None = None,
    audio_input: Callable[[Timeline], FakeAudioInput] = FakeAudioInput,
) -> AsyncIterator[Call]:
    timeline = Timeline(segments, tail=tail)
    call = Call(
        session=AgentSession(),
        audio_in=audio_input(timeline),
        audio_out=output or FakeAudioOutput(),
        llm=FakeLLM(responses, default=default),
        tts=tts or FakeTTS(),
        stt=stt or FakeSTT(timeline),
        vad=FakeVAD(),
    )
    call.session = AgentSession(
        stt=call.stt,
        llm=call.llm,
        tts=call.tts,
        vad=vad or call.vad,
        turn_detector=turn_detector,
        options=options,
    )
    for observer in observers:
        call.session.add_observer(observer)
    events = call.session.subscribe()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_collect, events, call.events)
        async with call.session.start(
            agent or Agent(instructions="You are a test agent."),
            audio_input=call.audio_in,
            audio_output=call.audio_out,
            text_output=text_output,
        ):
            await trio.lowlevel.checkpoint()
            yield call


async def _collect(
    events: trio.MemoryReceiveChannel[SessionEvent], out: list[SessionEvent]
) -> None:
    out.extend([event async for event in events])


def heard_text_from_audio(reply: str, played_markers: list[int]) -> str:
    """The oracle: which words of ``reply`` the played FakeTTS audio contained.

    Independent of the pipeline's bookkeeping: it decodes the markers the sink
    actually played (characters spoken per sentence) and keeps whole words.
    """
    from trioagents.core import split_sentences
    from trioagents.testing import heard_chars

    sentences = split_sentences(reply)
    parts: list[str] = []
    for sentence, chars in zip(sentences, heard_chars(played_markers), strict=False):
        words, used = [], 0
        for word in sentence.split(" "):
            end = used + len(word)
            if end > chars:
                break
            words.append(word)
            used = end + 1
        parts.append(" ".join(words))
        if chars < len(sentence):
            break
    return " ".join(p for p in parts if p)
