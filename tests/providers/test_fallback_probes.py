"""Recovery probes prove a whole completion; a member failing mid-stream stays demoted.

Real loopback OpenAI servers, virtual time. The primary resets after its first
words on every request (``ResetAfter``): a probe that stopped at the first event
would mark it recovered each time and send every turn back to it.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.core import TTS, LLMTextDelta, ProviderError
from trioagents.providers import (
    FallbackLLM,
    FallbackOptions,
    OpenAILLM,
    OpenAITTS,
    open_fallback_llm,
    open_fallback_tts,
)
from trioagents.testing import (
    Healthy,
    OpenAIServer,
    OpenAIServerOptions,
    ResetAfter,
    open_openai_server,
)

from ._support import connection, user_says

PROBES = FallbackOptions(probe_interval=5.0, probe_backoff=2.0, max_probe_interval=60.0)


async def one_turn(llm: FallbackLLM) -> tuple[str, ProviderError | None]:
    try:
        async with llm.chat(user_says()) as events:
            text = [event.text async for event in events if isinstance(event, LLMTextDelta)]
    except ProviderError as exc:
        return "", exc
    return "".join(text), None


async def until_available(llm: FallbackLLM, index: int) -> None:
    for _ in range(120):
        if llm.statistics().available[index]:
            return
        await trio.sleep(1)
    raise AssertionError(f"member {index} did not recover within 120 s")


def chat_times(server: OpenAIServer) -> list[float]:
    return [r.received_at for r in server.requests_to("chat")]


async def test_a_primary_failing_mid_stream_never_passes_the_probe(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_openai_server() as primary, open_openai_server() as backup:
        primary.script(*[ResetAfter(400)] * 50, endpoint="chat")
        members = [
            OpenAILLM("primary", connection=connection(primary.base_url)),
            OpenAILLM("backup", connection=connection(backup.base_url)),
        ]
        async with open_fallback_llm(members, options=PROBES) as llm:
            _, first_error = await one_turn(llm)
            assert first_error is not None
            assert first_error.failed_over == "openai-llm:backup"
            for _ in range(6):
                await trio.sleep(20)  # probes run meanwhile, and fail
                text, error = await one_turn(llm)
                assert error is None
                assert text == backup.options.chat_text
            assert llm.statistics().available == (False, True)
            assert len(backup.requests_to("chat")) == 6  # every turn after the first
            # the primary saw the first turn plus probes, no further turn
            assert llm.statistics().recoveries == 0
            assert len(primary.requests_to("chat")) >= 2


async def test_each_demotion_waits_longer_before_the_first_probe(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with open_openai_server() as primary, open_openai_server() as backup:
        # turns fail mid-stream, probes (short completions) pass: the primary flaps
        primary.script(
            ResetAfter(400), Healthy(), ResetAfter(400), Healthy(), ResetAfter(400), Healthy(),
            endpoint="chat",
        )  # fmt: skip
        members = [
            OpenAILLM("primary", connection=connection(primary.base_url)),
            OpenAILLM("backup", connection=connection(backup.base_url)),
        ]
        async with open_fallback_llm(members, options=PROBES) as llm:
            failed_at: list[float] = []
            for _ in range(3):
                await until_available(llm, 0)
                _, error = await one_turn(llm)  # goes to the primary, fails mid-stream
                assert error is not None
                failed_at.append(trio.current_time())
            await until_available(llm, 0)
            times = chat_times(primary)
            # requests: turn, probe, turn, probe, turn, probe
            waits = [times[i + 1] - failed_at[i // 2] for i in (0, 2, 4)]
            assert [round(w) for w in waits] == [5, 10, 20]
            assert llm.statistics().demotions[0] == 3


async def test_demotions_are_forgiven_after_clean_calls(autojump_clock: trio.abc.Clock) -> None:
    async with open_openai_server() as primary, open_openai_server() as backup:
        primary.script(ResetAfter(400), endpoint="chat")
        members = [
            OpenAILLM("primary", connection=connection(primary.base_url)),
            OpenAILLM("backup", connection=connection(backup.base_url)),
        ]
        options = FallbackOptions(probe_interval=5.0, forgive_after=3)
        async with open_fallback_llm(members, options=options) as llm:
            await one_turn(llm)
            await trio.sleep(6)  # the probe passes: the primary is back
            assert llm.statistics().demotions == (1, 0)
            for _ in range(3):
                _, error = await one_turn(llm)
                assert error is None
            assert llm.statistics().demotions == (0, 0)


async def synthesize_all(tts: TTS, text: str) -> None:
    async with tts.synthesize(text) as frames:
        async for _ in frames:
            pass


async def test_tts_probe_synthesizes_to_the_end(autojump_clock: trio.abc.Clock) -> None:
    slow = OpenAIServerOptions(speech_seconds_per_char=0.1)
    async with open_openai_server(slow) as primary, open_openai_server(slow) as backup:
        # 2000 bytes: the first frames arrive, then the reset ("ok" is 9600 bytes)
        primary.script(*[ResetAfter(2000)] * 20, endpoint="speech")
        members = [
            OpenAITTS(connection=connection(primary.base_url)),
            OpenAITTS(connection=connection(backup.base_url)),
        ]
        async with open_fallback_tts(members, options=PROBES) as tts:
            with pytest.raises(ProviderError) as raised:
                await synthesize_all(tts, "Hello there, how are you today?")
            assert raised.value.failed_over is not None
            await trio.sleep(60)
            assert tts.statistics().available == (False, True)
            assert tts.statistics().recoveries == 0
