"""Mid-stream failover inside a turn, against two real loopback OpenAI servers.

The primary resets (or stalls) after its first words; the backup is healthy. The
LLM is a fallback group of the two, as a user configures it. The turn must be
answered by the backup within the same turn (``mid_stream_failover``), the chat
context must say what was heard and what happened, and the error must not count
as unrecoverable. Virtual time (autojump) with real sockets, and one run on the
real clock.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from trioagents.core import ChatItem, ChatMessage, ProviderError, RetryRequest
from trioagents.providers import (
    FallbackLLM,
    FallbackOptions,
    OpenAIConnection,
    OpenAILLM,
    OpenAITTS,
    RetryPolicy,
    open_fallback_llm,
    open_fallback_tts,
    with_retry,
)
from trioagents.testing import (
    FakeAudioOutput,
    FakeLLM,
    LLMScript,
    OpenAIServer,
    OpenAIServerOptions,
    ResetAfter,
    StallAfter,
    open_openai_server,
)
from trioagents.voice import (
    Agent,
    AgentSession,
    ErrorOccurred,
    MidStreamFailover,
    SessionClosed,
    SessionEvent,
    SessionOptions,
)

PRIMARY_TEXT = "Sure, we have a table for four at seven tonight, by the window."
BACKUP_TEXT = "at seven tonight, by the window."
NO_PROBES = FallbackOptions(probe_interval=10_000)


def connection(base_url: str) -> OpenAIConnection:
    return OpenAIConnection(base_url=base_url, api_key="sk-test", idle_timeout=2.0)


@dataclass
class Rig:
    primary: OpenAIServer
    backup: OpenAIServer
    llm: FallbackLLM | None
    session: AgentSession[None]
    events: list[SessionEvent] = field(default_factory=list)

    def errors(self) -> list[ErrorOccurred]:
        return [e for e in self.events if isinstance(e, ErrorOccurred)]

    def messages(self) -> list[ChatMessage]:
        return [i for i in self.session.history if isinstance(i, ChatMessage)]


@asynccontextmanager
async def open_rig(
    policy: MidStreamFailover = "continue",
    *,
    max_unrecoverable_errors: int = 3,
    fallback: FallbackOptions = NO_PROBES,
) -> AsyncIterator[Rig]:
    async with (
        open_openai_server(OpenAIServerOptions(chat_text=PRIMARY_TEXT)) as primary,
        open_openai_server(OpenAIServerOptions(chat_text=BACKUP_TEXT)) as backup,
    ):
        members = [
            with_retry(
                OpenAILLM("primary", connection=connection(primary.base_url)),
                RetryPolicy(rng=random.Random(0)),
            ),
            OpenAILLM("backup", connection=connection(backup.base_url)),
        ]
        async with open_fallback_llm(members, options=fallback) as llm:
            options = SessionOptions(
                mid_stream_failover=policy, max_unrecoverable_errors=max_unrecoverable_errors
            )
            session: AgentSession[None] = AgentSession(llm=llm, options=options)
            rig = Rig(primary, backup, llm, session)
            events = session.subscribe()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_collect, events, rig.events)
                async with session.start(Agent(instructions="You book tables.")):
                    yield rig


async def _collect(
    events: trio.MemoryReceiveChannel[SessionEvent], out: list[SessionEvent]
) -> None:
    async for event in events:  # one by one: tests read events while the session runs
        out.append(event)  # noqa: PERF401


def assistant(items: list[ChatItem]) -> list[ChatMessage]:
    return [i for i in items if isinstance(i, ChatMessage) and i.role == "assistant"]


@pytest.mark.parametrize("fault", [ResetAfter(400), StallAfter(400)], ids=["reset", "stall"])
async def test_continue_the_backup_finishes_the_reply_in_the_same_turn(
    fault: ResetAfter | StallAfter, autojump_clock: trio.abc.Clock
) -> None:
    async with open_rig("continue") as rig:
        rig.primary.script(fault, endpoint="chat")
        result = await rig.session.run(user_input="A table for four at seven?")
        [reply] = assistant(result.items)
        partial = reply.content.removesuffix(BACKUP_TEXT).rstrip()
        assert partial  # the primary's first words were kept...
        assert PRIMARY_TEXT.startswith(partial)
        assert reply.content.endswith(BACKUP_TEXT)  # ...and the backup went on from them
        # the backup was asked to continue the partial reply, not to start over
        [request] = rig.backup.requests_to("chat")
        sent = request.json()["messages"]
        assert sent[-2] == {"role": "assistant", "content": partial}
        assert sent[-1]["role"] == "system"
        assert "Continue it from exactly that point" in sent[-1]["content"]
        # the chat context says what happened, after the reply
        roles = [(m.role, m.content) for m in rig.messages()]
        assert roles[0] == ("user", "A table for four at seven?")
        assert roles[1] == ("assistant", reply.content)
        assert roles[2][0] == "system"
        assert "LLM failover" in roles[2][1]
        assert "openai-llm:primary" in roles[2][1]
        assert "openai-llm:backup continued the reply" in roles[2][1]
        await trio.testing.wait_all_tasks_blocked()
        [occurred] = rig.errors()
        assert isinstance(occurred.action, RetryRequest)
        assert occurred.error.failed_over == "openai-llm:backup"
        assert rig.session.errors.consecutive("llm") == 0
        # the next turn starts on the backup: the primary is not asked again
        await rig.session.run(user_input="Thanks.")
        assert len(rig.primary.requests_to("chat")) == 1
        assert len(rig.backup.requests_to("chat")) == 2


async def test_restart_drops_the_fragment_and_the_backup_answers_again(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_rig("restart") as rig:
        rig.primary.script(ResetAfter(400), endpoint="chat")
        await rig.session.run(user_input="A table for four at seven?")
        history = [(m.role, m.content, m.interrupted) for m in rig.messages()]
        assert history[0][:2] == ("user", "A table for four at seven?")
        role, fragment, interrupted = history[1]
        assert role == "assistant"
        assert interrupted
        assert PRIMARY_TEXT.startswith(fragment)
        assert fragment != PRIMARY_TEXT
        assert history[2][0] == "system"
        assert "answered again" in history[2][1]
        assert history[3] == ("assistant", BACKUP_TEXT, False)
        # the backup saw the heard fragment, marked, and the note; no "continue" request
        [request] = rig.backup.requests_to("chat")
        sent = request.json()["messages"]
        assert {"role": "assistant", "content": fragment} in sent
        assert not any("Continue it from" in m.get("content", "") for m in sent)


async def test_off_keeps_the_fragment_and_raises_but_does_not_count(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_rig("off", max_unrecoverable_errors=1) as rig:
        rig.primary.script(ResetAfter(400), endpoint="chat")
        with pytest.raises(ProviderError) as raised:
            await rig.session.run(user_input="A table for four at seven?")
        assert raised.value.failed_over == "openai-llm:backup"
        assert rig.backup.requests_to("chat") == []
        # the group survived the error: one failure does not close a session with a
        # healthy backup, even with max_unrecoverable_errors=1
        assert rig.session.errors.consecutive("llm") == 0
        result = await rig.session.run(user_input="Are you there?")
        [reply] = assistant(result.items)
        assert reply.content == BACKUP_TEXT
    assert [e.reason for e in rig.events if isinstance(e, SessionClosed)] == ["user_initiated"]


async def test_continue_with_one_unrecoverable_error_allowed_keeps_the_session(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_rig("continue", max_unrecoverable_errors=1) as rig:
        for turn in range(3):
            rig.primary.script(ResetAfter(400), endpoint="chat")
            await rig.session.run(user_input=f"Turn {turn}?")
        assert rig.session.close_reason is None
        assert len(rig.primary.requests_to("chat")) == 1  # demoted after the first failure


async def test_a_backup_failing_too_ends_the_turn_with_the_error(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_rig("continue") as rig:
        rig.primary.script(ResetAfter(400), endpoint="chat")
        rig.backup.script(ResetAfter(400), endpoint="chat")
        with pytest.raises(ProviderError):
            await rig.session.run(user_input="A table for four at seven?")
        [assistant] = [m for m in rig.messages() if m.role == "assistant"]
        assert assistant.content  # what was produced was heard (text mode) and kept
        assert rig.session.errors.consecutive("llm") == 1  # no healthy member left: counted


async def test_continue_on_the_real_clock() -> None:
    with trio.fail_after(20):
        async with open_rig("continue") as rig:
            rig.primary.script(ResetAfter(400), endpoint="chat")
            result = await rig.session.run(user_input="A table for four at seven?")
            [reply] = assistant(result.items)
            assert reply.content.endswith(BACKUP_TEXT)
            assert reply.content != BACKUP_TEXT


# --------------------------------------------------------------------------- TTS

REPLY = "Hello there, this is a long sentence to speak. Second sentence here."
FIRST = "Hello there, this is a long sentence to speak."
# 1/16 s per character: the pipeline's speaking-rate estimate before any sentence
# finished, so the words the cut audio covered are known exactly
SPEECH = OpenAIServerOptions(speech_seconds_per_char=1 / 16)


@asynccontextmanager
async def open_tts_rig(policy: MidStreamFailover) -> AsyncIterator[tuple[Rig, FakeAudioOutput]]:
    async with (
        open_openai_server(SPEECH) as primary,
        open_openai_server(SPEECH) as backup,
    ):
        members = [
            with_retry(
                OpenAITTS(connection=connection(primary.base_url)),
                RetryPolicy(rng=random.Random(0)),
            ),
            OpenAITTS(connection=connection(backup.base_url)),
        ]
        async with open_fallback_tts(members, options=NO_PROBES) as tts:
            options = SessionOptions(mid_stream_failover=policy)
            llm = FakeLLM(default=LLMScript(REPLY))
            session: AgentSession[None] = AgentSession(llm=llm, tts=tts, options=options)
            output = FakeAudioOutput()
            rig = Rig(primary, backup, None, session)
            events = session.subscribe()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_collect, events, rig.events)
                async with session.start(Agent(instructions="hi"), audio_output=output):
                    yield rig, output


def speech_inputs(server: OpenAIServer) -> list[str]:
    return [r.json()["input"] for r in server.requests_to("speech")]


@pytest.mark.parametrize(
    ("policy", "backup_first"),
    [("continue", "this is a long sentence to speak."), ("restart", FIRST)],
)
async def test_tts_dying_mid_sentence_goes_on_on_the_backup(
    policy: MidStreamFailover, backup_first: str, autojump_clock: trio.abc.Clock
) -> None:
    async with open_tts_rig(policy) as (rig, output):
        # 24 kHz 16-bit: 48000 bytes = 1.0 s = 16 characters, "Hello there, thi"
        rig.primary.script(ResetAfter(48000), endpoint="speech")
        await rig.session.run(user_input="Hi")
        assert speech_inputs(rig.primary) == [FIRST]
        assert speech_inputs(rig.backup) == [backup_first, "Second sentence here."]
        [reply] = [m for m in rig.messages() if m.role == "assistant"]
        spoken = "Hello there, " + backup_first + " Second sentence here."
        assert reply.content == spoken
        assert not reply.interrupted
        played = sum(segment.position for segment in output.segments)
        rest = len(backup_first) + len(" Second sentence here.") - 1
        assert played == pytest.approx(1.0 + rest / 16, abs=0.05)  # no audio lost or doubled
        [note] = [m for m in rig.messages() if m.role == "system"]
        assert "TTS failover" in note.content
        await trio.testing.wait_all_tasks_blocked()
        [occurred] = rig.errors()
        assert occurred.source == "tts"
        assert isinstance(occurred.action, RetryRequest)


async def test_tts_failover_off_ends_the_utterance_with_the_fragment(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_tts_rig("off") as (rig, _):
        rig.primary.script(ResetAfter(48000), endpoint="speech")
        with pytest.raises(ProviderError):
            await rig.session.run(user_input="Hi")
        assert speech_inputs(rig.backup) == []
        for reply in [m for m in rig.messages() if m.role == "assistant"]:
            assert FIRST.startswith(reply.content)  # the fragment at most
            assert reply.interrupted
        assert not [m for m in rig.messages() if m.role == "system"]
