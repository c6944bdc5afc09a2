"""Fallback groups: switching, background probes, fail_over(), content filters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from trioagents.core import (
    AudioFrame,
    ConfigurationError,
    ContentFilterError,
    LLMTextDelta,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    SpeechEvent,
    SpeechEventType,
    STTStream,
    SupportsFailover,
    silence,
)
from trioagents.providers import (
    FallbackOptions,
    OpenAILLM,
    SentenceStreamTTS,
    open_fallback_llm,
    open_fallback_stt,
    open_fallback_tts,
    with_retry,
)
from trioagents.testing import open_openai_server, refused_base_url

from ._fakes import Call, FakeLLM, FakeSTT, FakeTTS
from ._support import connection, user_says

DROP = ProviderConnectionError("dropped", provider="fake")
OPTIONS = FallbackOptions(probe_interval=5, probe_timeout=2)


async def reply(llm: object) -> str:
    async with llm.chat(user_says()) as events:  # type: ignore[attr-defined]
        return "".join([e.text async for e in events if isinstance(e, LLMTextDelta)])


async def test_switches_and_recovers_primary_in_background(autojump_clock: trio.abc.Clock) -> None:
    primary = FakeLLM("a", Call(error=DROP), default_text="from a")
    backup = FakeLLM("b", default_text="from b")
    async with open_fallback_llm([primary, backup], options=OPTIONS) as llm:
        assert isinstance(llm, SupportsFailover)
        assert await reply(llm) == "from b"
        stats = llm.statistics()
        assert (stats.current, stats.available, stats.failovers) == (1, (False, True), 1)
        assert await reply(llm) == "from b"  # the primary is still marked down
        await trio.sleep(OPTIONS.probe_interval + 0.5)  # the probe succeeds
        assert llm.statistics().available == (True, True)
        assert llm.statistics().recoveries == 1
        assert await reply(llm) == "from a"


async def test_probe_backs_off_while_member_stays_down(autojump_clock: trio.abc.Clock) -> None:
    primary = FakeLLM("a", *[Call(error=DROP)] * 4)
    backup = FakeLLM("b")
    async with open_fallback_llm([primary, backup], options=OPTIONS) as llm:
        await reply(llm)
        await trio.sleep(5 + 10 + 1)  # probes at +5 and +15 fail
        assert primary.script.count == 3
        assert llm.statistics().available == (False, True)
        await trio.sleep(20)  # next probe at +35 also fails (4th scripted error)
        assert primary.script.count == 4
        await trio.sleep(40)  # then +75 succeeds
        assert llm.statistics().available == (True, True)


async def test_content_filter_is_not_failed_over(autojump_clock: trio.abc.Clock) -> None:
    filtered = ContentFilterError("filtered", provider="a")
    primary = FakeLLM("a", Call(error=filtered))
    backup = FakeLLM("b")
    async with open_fallback_llm([primary, backup], options=OPTIONS) as llm:
        with pytest.raises(ContentFilterError) as info:
            await reply(llm)
        assert info.value is filtered
        assert backup.script.count == 0
        assert llm.statistics().available == (True, True)
        assert llm.fail_over() is True  # the handler may still ask explicitly
        assert llm.statistics().current == 1
        assert await reply(llm) == "ok"
        assert backup.script.count == 1


async def test_fail_over_without_another_member(autojump_clock: trio.abc.Clock) -> None:
    async with open_fallback_llm([FakeLLM("a")], options=OPTIONS) as llm:
        assert llm.fail_over() is False
        assert llm.statistics().available == (True,)


async def test_all_failed_keeps_last_error_and_its_retryable_bit(
    autojump_clock: trio.abc.Clock,
) -> None:
    last = ProviderStatusError("bad", provider="b", status=400)
    async with open_fallback_llm(
        [FakeLLM("a", Call(error=DROP)), FakeLLM("b", Call(error=last))], options=OPTIONS
    ) as llm:
        with pytest.raises(ProviderError) as info:
            await reply(llm)
    assert "all 2 providers failed" in str(info.value)
    assert info.value.__cause__ is last
    assert info.value.retryable is False
    assert info.value.status == 400


async def test_unavailable_members_are_still_tried_last(autojump_clock: trio.abc.Clock) -> None:
    primary = FakeLLM("a", Call(error=DROP), default_text="a back")
    backup = FakeLLM("b", Call(error=DROP), Call(error=DROP))
    async with open_fallback_llm(
        [primary, backup], options=FallbackOptions(probe_interval=1e4)
    ) as llm:
        with pytest.raises(ProviderError):
            await reply(llm)  # both fail: both marked down
        assert llm.statistics().available == (False, False)
        # the session stays alive: the next call still tries every member
        assert await reply(llm) == "a back"


async def test_error_after_delivery_is_raised_and_next_call_fails_over(
    autojump_clock: trio.abc.Clock,
) -> None:
    primary = FakeLLM("a", Call([LLMTextDelta("Hel")], error=DROP))
    backup = FakeLLM("b", default_text="from b")
    async with open_fallback_llm([primary, backup], options=OPTIONS) as llm:
        with pytest.raises(ProviderConnectionError):
            await reply(llm)
        assert backup.script.count == 0
        assert await reply(llm) == "from b"


async def test_tts_group_switches_and_checks_format(autojump_clock: trio.abc.Clock) -> None:
    primary, backup = FakeTTS("a", Call(error=DROP)), FakeTTS("b")
    async with open_fallback_tts([primary, backup], options=OPTIONS) as tts:
        async with tts.synthesize("hello") as frames:
            assert len([f async for f in frames]) == 3
        assert tts.statistics().current == 1
    odd = FakeTTS("c")
    odd.sample_rate = 24000  # type: ignore[misc]
    with pytest.raises(ConfigurationError):
        async with open_fallback_tts([primary, odd]):
            pass


async def test_stt_group_replays_audio_and_returns_to_primary(
    autojump_clock: trio.abc.Clock,
) -> None:
    primary, backup = FakeSTT("a", Call(error=DROP)), FakeSTT("b")
    async with open_fallback_stt([primary, backup], options=OPTIONS) as stt:
        async with stt.stream() as stream:
            for _ in range(8):
                await stream.push_frame(silence(0.02, 16000))
            await stream.end_input()
            assert [e.text async for e in stream] == ["b:8"]
        await trio.sleep(10)  # the probe brings the primary back
        async with stt.stream() as stream:
            await stream.push_frame(silence(0.02, 16000))
            await stream.end_input()
            assert [e.text async for e in stream] == ["a:1"]


async def test_members_must_be_distinct_and_present() -> None:
    llm = FakeLLM("a")
    with pytest.raises(ConfigurationError):
        async with open_fallback_llm([llm, llm]):
            pass
    with pytest.raises(ConfigurationError):
        async with open_fallback_llm([]):
            pass


async def test_probe_against_real_server_recovers(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as healthy:
        dead = OpenAILLM("dead", connection=connection(refused_base_url()))
        alive = OpenAILLM("alive", connection=connection(healthy.base_url))
        seen: list[str] = []

        async def probe(member: object) -> None:
            seen.append(member.label)  # type: ignore[attr-defined]
            raise DROP

        async with open_fallback_llm([dead, alive], options=OPTIONS, probe=probe) as llm:
            assert await reply(llm) == healthy.options.chat_text
            await trio.sleep(6)
            assert seen == ["openai-llm:dead"]


async def test_wrappers_forward_fail_over(autojump_clock: trio.abc.Clock) -> None:
    async with (
        open_fallback_llm([FakeLLM("a"), FakeLLM("b")], options=OPTIONS) as group,
        open_fallback_tts([FakeTTS("c"), FakeTTS("d")], options=OPTIONS) as voices,
    ):
        retrying = with_retry(group)
        assert isinstance(retrying, SupportsFailover)
        assert retrying.fail_over() is True
        assert group.statistics().current == 1
        assert retrying.fail_over() is False  # nobody else is left
        assert SentenceStreamTTS(voices).fail_over() is True
        assert voices.statistics().current == 1
    assert with_retry(FakeLLM("plain")).fail_over() is False


class ChattySTT:
    """Emits a final transcript "<label>:<n>" after every 10th frame; the first stream
    of a scripted failure raises after its 5th frame."""

    def __init__(self, label: str, failures: int = 0) -> None:
        self.label = label
        self.failures = failures

    @asynccontextmanager
    async def stream(self, *, language: str | None = None) -> AsyncIterator[STTStream]:
        await trio.lowlevel.checkpoint()
        fail = self.failures > 0
        self.failures -= 1
        yield _ChattyStream(self.label, fail)


class _ChattyStream:
    def __init__(self, label: str, fail: bool) -> None:
        self._label, self._fail, self._count = label, fail, 0
        self._send, self._receive = trio.open_memory_channel[SpeechEvent | ProviderError](1000)

    async def push_frame(self, frame: AudioFrame) -> None:
        await trio.sleep(0.02)  # real-time input
        self._count += 1
        if self._fail and self._count == 5:
            self._send.send_nowait(DROP)
        elif self._count % 10 == 0:
            text = f"{self._label}:{self._count}"
            self._send.send_nowait(SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT, text=text))

    async def end_input(self) -> None:
        await trio.lowlevel.checkpoint()
        self._send.close()

    def __aiter__(self) -> _ChattyStream:
        return self

    async def __anext__(self) -> SpeechEvent:
        try:
            item = await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
        if isinstance(item, ProviderError):
            raise item
        return item


async def test_stt_stream_switches_back_at_a_final_once_primary_recovers(
    autojump_clock: trio.abc.Clock,
) -> None:
    primary, backup = ChattySTT("a", failures=1), ChattySTT("b")
    texts: list[str] = []
    async with (
        open_fallback_stt([primary, backup], options=OPTIONS) as stt,
        stt.stream() as stream,
        trio.open_nursery() as nursery,
    ):

        async def read() -> None:
            texts.extend([event.text async for event in stream])

        nursery.start_soon(read)
        for _ in range(600):  # 12 s of audio in real time
            await stream.push_frame(silence(0.02, 16000))
        await stream.end_input()
    assert texts[0] == "b:10"  # the backup got the 5 replayed frames and went on
    switched = texts.index(next(t for t in texts if t.startswith("a:")))
    assert all(t.startswith("b:") for t in texts[:switched])
    assert all(t.startswith("a:") for t in texts[switched:])
    assert 5 < switched * 10 * 0.02 < 8  # back on the primary after the 5 s probe
