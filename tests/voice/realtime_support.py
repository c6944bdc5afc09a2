"""Sessions on a RealtimeModel against the loopback fake server (shared by the voice tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from trioagents.protocol import OpenAIRealtimeOptions, ServerVAD
from trioagents.providers import OpenAIConnection, RealtimeModel
from trioagents.testing import (
    FakeAudioInput,
    FakeAudioOutput,
    FakeRealtimeOptions,
    FakeRealtimeServer,
    FakeSTT,
    RealtimeScript,
    Timeline,
    UserSpeech,
    open_fake_realtime,
)
from trioagents.voice import Agent, AgentSession, SessionEvent, SessionOptions

TURNS = OpenAIRealtimeOptions(turn_detection=ServerVAD(silence_duration_ms=300))


def model_for(server: FakeRealtimeServer, options: OpenAIRealtimeOptions = TURNS) -> RealtimeModel:
    connection = OpenAIConnection(
        base_url=server.base_url, api_key="sk-test", idle_timeout=3.0, connect_timeout=3.0
    )
    return RealtimeModel(options, connection=connection)


@dataclass
class RealtimeCall:
    session: AgentSession[None]
    server: FakeRealtimeServer
    audio_in: FakeAudioInput
    audio_out: FakeAudioOutput
    events: list[SessionEvent] = field(default_factory=list)

    def at(self, t: float) -> float:
        return self.audio_in.to_clock(t)

    async def sleep_until(self, t: float) -> None:
        await trio.sleep_until(self.at(t))

    def of_type(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]

    def said(self, role: str) -> list[str]:
        return [m.content for m in self.session.history.messages() if m.role == role]


@asynccontextmanager
async def open_realtime_call(
    segments: Sequence[UserSpeech],
    script: RealtimeScript,
    *,
    agent: Agent | None = None,
    tail: float = 6.0,
    fake: FakeRealtimeOptions | None = None,
    options: OpenAIRealtimeOptions = TURNS,
    session_options: SessionOptions | None = None,
    with_stt: bool = False,
    audio_out: FakeAudioOutput | None = None,
    **providers: object,
) -> AsyncIterator[RealtimeCall]:
    """A spoken session: the timeline plays into the model, replies play into a fake sink."""
    timeline = Timeline(segments, tail=tail)
    if with_stt:
        providers["stt"] = FakeSTT(timeline)
    async with open_fake_realtime(script, timeline=timeline, options=fake) as server:
        session: AgentSession[None] = AgentSession(
            llm=model_for(server, options),
            options=session_options,
            **providers,  # type: ignore[arg-type]
        )
        events = session.subscribe()
        audio_in = FakeAudioInput(timeline, endless=True)
        call = RealtimeCall(session, server, audio_in, audio_out or FakeAudioOutput())

        async def collect() -> None:
            async for event in events:
                call.events.append(event)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect)
            async with session.start(
                agent or Agent(instructions="You are a test agent."),
                audio_input=call.audio_in,
                audio_output=call.audio_out,
            ):
                yield call
