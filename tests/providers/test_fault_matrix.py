"""Every {fault} x {LLM, STT, TTS} cell against the real loopback OpenAI server.

Each cell runs one call through the production stack: the OpenAI-compatible
provider, wrapped with the default retry policy, first member of a fallback group
whose second member talks to a healthy server. The fault hits the primary's first
request only. Expected outcomes:

* ``retried``      -- the primary succeeded on a later attempt, nothing failed over;
* ``failed_over``  -- the primary gave up (retries exhausted or not retryable) and
                      the backup answered in the same call;
* ``handler``      -- ContentFilterError reached the caller (for the session's error
                      handler), one request, no retry, no failover;
* ``error_after_delivery`` -- part of the reply reached the caller, then a
                      ProviderConnectionError; no retry, no failover within the call,
                      but the next call starts on the backup.

All under virtual time (autojump), with real sockets on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio

from trioagents.core import (
    ContentFilterError,
    LLMTextDelta,
    ProviderConnectionError,
    ProviderError,
    SpeechEventType,
)
from trioagents.providers import (
    EnergyVAD,
    FallbackOptions,
    OpenAILLM,
    OpenAISTT,
    OpenAITTS,
    VADSegmentedSTT,
    open_fallback_llm,
    open_fallback_stt,
    open_fallback_tts,
    with_retry,
)
from trioagents.testing import (
    Endpoint,
    Fault,
    OpenAIServer,
    ResetAfter,
    SendGarbage,
    ServeHTMLPage,
    StallAfter,
    TruncateBody,
    content_filtered,
    open_openai_server,
    rate_limited,
    refused_base_url,
    server_error,
)

from ._support import connection, policy, tone_burst, user_says

KINDS: dict[str, Endpoint] = {"llm": "chat", "stt": "transcription", "tts": "speech"}
NO_PROBES = FallbackOptions(probe_interval=10_000)

# fault name -> (fault for the primary's first request, or None for "refused")
FAULTS: dict[str, dict[str, Fault | None]] = {
    "refused": dict.fromkeys(KINDS),
    "reset_early": dict.fromkeys(KINDS, ResetAfter(20)),
    "reset_mid": {"llm": ResetAfter(400), "stt": ResetAfter(100), "tts": ResetAfter(3000)},
    "stall": dict.fromkeys(KINDS, StallAfter(20)),
    "rate_limited": dict.fromkeys(KINDS, rate_limited(retry_after=6)),
    "server_error": dict.fromkeys(KINDS, server_error()),
    "content_filter": dict.fromkeys(KINDS, content_filtered()),
    "truncated": {"llm": TruncateBody(3), "stt": TruncateBody(1), "tts": TruncateBody(2)},
    "garbage": dict.fromkeys(KINDS, SendGarbage()),
    "html_page": dict.fromkeys(KINDS, ServeHTMLPage()),
}

EXPECTED: dict[tuple[str, str], str] = {
    **{("refused", kind): "failed_over" for kind in KINDS},
    **{("reset_early", kind): "retried" for kind in KINDS},
    ("reset_mid", "llm"): "error_after_delivery",
    ("reset_mid", "stt"): "retried",  # a transcript is one JSON answer: nothing was delivered
    ("reset_mid", "tts"): "error_after_delivery",
    **{("stall", kind): "retried" for kind in KINDS},
    **{("rate_limited", kind): "retried" for kind in KINDS},
    **{("server_error", kind): "retried" for kind in KINDS},
    **{("content_filter", kind): "handler" for kind in KINDS},
    ("truncated", "llm"): "error_after_delivery",
    ("truncated", "stt"): "retried",
    ("truncated", "tts"): "error_after_delivery",
    **{("garbage", kind): "failed_over" for kind in KINDS},
    **{("html_page", kind): "failed_over" for kind in KINDS},  # not retried: same page again
}


@dataclass
class Outcome:
    delivered: list[Any] = field(default_factory=list)
    error: ProviderError | None = None
    elapsed: float = 0.0
    current_after: int = 0


Runner = Callable[[str, str], AbstractAsyncContextManager[Outcome]]


@asynccontextmanager
async def run_llm(primary_url: str, backup_url: str) -> AsyncIterator[Outcome]:
    primary = with_retry(OpenAILLM("gpt", connection=connection(primary_url)), policy())
    backup = OpenAILLM("backup", connection=connection(backup_url))
    outcome = Outcome()
    async with open_fallback_llm([primary, backup], options=NO_PROBES) as llm:
        start = trio.current_time()
        try:
            async with llm.chat(user_says()) as events:
                async for event in events:
                    outcome.delivered.append(event)
        except ProviderError as exc:
            outcome.error = exc
        outcome.elapsed = trio.current_time() - start
        outcome.current_after = llm.statistics().current
        yield outcome


@asynccontextmanager
async def run_tts(primary_url: str, backup_url: str) -> AsyncIterator[Outcome]:
    primary = with_retry(OpenAITTS(connection=connection(primary_url)), policy())
    backup = OpenAITTS(connection=connection(backup_url))
    outcome = Outcome()
    async with open_fallback_tts([primary, backup], options=NO_PROBES) as tts:
        start = trio.current_time()
        try:
            async with tts.synthesize("Hello there, how are you?") as frames:
                async for frame in frames:
                    outcome.delivered.append(frame)
        except ProviderError as exc:
            outcome.error = exc
        outcome.elapsed = trio.current_time() - start
        outcome.current_after = tts.statistics().current
        yield outcome


@asynccontextmanager
async def run_stt(primary_url: str, backup_url: str) -> AsyncIterator[Outcome]:
    def segmented(url: str, retry: bool) -> VADSegmentedSTT:
        batch = OpenAISTT(connection=connection(url))
        return VADSegmentedSTT(with_retry(batch, policy()) if retry else batch, EnergyVAD())

    outcome = Outcome()
    members = [segmented(primary_url, True), segmented(backup_url, False)]
    async with open_fallback_stt(members, options=NO_PROBES) as stt:
        start = trio.current_time()
        try:
            async with stt.stream() as stream:
                for frame in tone_burst():
                    await stream.push_frame(frame)
                await stream.end_input()
                async for event in stream:
                    if event.type is SpeechEventType.FINAL_TRANSCRIPT:
                        outcome.delivered.append(event.text)
        except ProviderError as exc:
            outcome.error = exc
        outcome.elapsed = trio.current_time() - start
        outcome.current_after = stt.statistics().current
        yield outcome


RUNNERS: dict[str, Runner] = {"llm": run_llm, "stt": run_stt, "tts": run_tts}


def complete(kind: str, outcome: Outcome, server: OpenAIServer) -> bool:
    if kind == "llm":
        text = "".join(e.text for e in outcome.delivered if isinstance(e, LLMTextDelta))
        return text == server.options.chat_text
    if kind == "stt":
        return outcome.delivered == [server.options.transcript]
    seconds = sum(frame.duration for frame in outcome.delivered)
    expected = len("Hello there, how are you?") * server.options.speech_seconds_per_char
    return abs(seconds - expected) < 1e-6


@pytest.mark.parametrize(("fault_name", "kind"), sorted(EXPECTED))
async def test_fault_cell(fault_name: str, kind: str, autojump_clock: trio.abc.Clock) -> None:
    endpoint = KINDS[kind]
    async with open_openai_server() as primary, open_openai_server() as backup:
        fault = FAULTS[fault_name][kind]
        primary_url = refused_base_url() if fault_name == "refused" else primary.base_url
        if fault is not None:
            primary.script(fault, endpoint=endpoint)
        async with RUNNERS[kind](primary_url, backup.base_url) as outcome:
            primary_calls = len(primary.requests_to(endpoint))
            backup_calls = len(backup.requests_to(endpoint))
            expected = EXPECTED[(fault_name, kind)]
            if expected == "retried":
                assert outcome.error is None
                assert complete(kind, outcome, primary)
                assert (primary_calls, backup_calls) == (2, 0)
                assert outcome.current_after == 0
            elif expected == "failed_over":
                assert outcome.error is None
                assert complete(kind, outcome, backup)
                assert backup_calls == 1
                assert primary_calls == (0 if fault_name == "refused" else 1)
                assert outcome.current_after == 1
            elif expected == "handler":
                assert isinstance(outcome.error, ContentFilterError)
                assert outcome.error.retryable is False
                assert (primary_calls, backup_calls) == (1, 0)
                assert outcome.current_after == 0
            else:
                assert expected == "error_after_delivery"
                assert outcome.delivered
                assert isinstance(outcome.error, ProviderConnectionError)
                assert (primary_calls, backup_calls) == (1, 0)
                assert outcome.current_after == 1  # the next call starts on the backup
            if fault_name == "rate_limited":
                assert outcome.elapsed >= 6  # Retry-After honoured
            if fault_name == "refused":
                assert outcome.elapsed >= 0.8 * (1 + 2 + 4)  # three backed-off retries first
