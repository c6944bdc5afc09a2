"""The conformance kit, run on our providers and on deliberately broken ones."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
import trio

from trioagents.core import ChatContext, LLMEvent, ProviderStatusError, ToolChoice, ToolSpec
from trioagents.providers import EnergyVAD, OpenAILLM, OpenAISTT, OpenAITTS, VADSegmentedSTT
from trioagents.testing import (
    OpenAIFaultInjector,
    check_llm_conformance,
    check_stt_conformance,
    check_tts_conformance,
    open_openai_server,
)

from ._support import connection, tone_burst

IDLE = 2.0  # stall detection must fire well within the kit's patience


async def test_openai_llm_conforms(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server:
        llm = OpenAILLM("gpt", connection=connection(server.base_url, idle_timeout=IDLE))
        report = await check_llm_conformance(llm, OpenAIFaultInjector(server, "chat"))
    report.raise_if_failed()
    names = {result.name for result in report.results}
    assert {"cancel_closes_stream", "nothing_after_cancel", "no_hidden_retries"} <= names
    assert {"error:stall", "error:content_filter", "retries_obey_policy"} <= names


async def test_openai_tts_conforms(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server:
        tts = OpenAITTS(connection=connection(server.base_url, idle_timeout=IDLE))
        report = await check_tts_conformance(tts, OpenAIFaultInjector(server, "speech"))
    report.raise_if_failed()


async def test_segmented_openai_stt_conforms(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server:
        batch = OpenAISTT(connection=connection(server.base_url, idle_timeout=IDLE))
        stt = VADSegmentedSTT(batch, EnergyVAD())
        faults = OpenAIFaultInjector(server, "transcription")
        report = await check_stt_conformance(stt, tone_burst(), faults)
    report.raise_if_failed()


class _SlowToCloseLLM:
    """Broken on purpose: ignores cancellation while closing, and retries inside."""

    label = "broken"

    def __init__(self, inner: OpenAILLM) -> None:
        self._inner = inner

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        try:
            for attempt in range(3):  # a hidden retry loop
                try:
                    async with self._inner.chat(chat_ctx) as events:
                        yield events
                        return
                except ProviderStatusError:
                    if attempt == 2:
                        raise
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(2)  # an unbounded-looking close


async def test_kit_reports_broken_provider(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as server:
        inner = OpenAILLM("gpt", connection=connection(server.base_url, idle_timeout=IDLE))
        report = await check_llm_conformance(
            _SlowToCloseLLM(inner), OpenAIFaultInjector(server, "chat")
        )
    failed = {result.name for result in report.failures()}
    assert "cancel_closes_stream" in failed
    assert "no_hidden_retries" in failed
    assert not report.passed
    with pytest.raises(AssertionError, match="cancel_closes_stream"):
        report.raise_if_failed()
