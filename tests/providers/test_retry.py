"""The retry policy: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import random

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from trioagents.core import (
    ConfigurationError,
    ContentFilterError,
    LLMEvent,
    LLMTextDelta,
    ProviderConnectionError,
    ProviderStatusError,
    ProviderTimeoutError,
    silence,
)
from trioagents.providers import (
    RetryingLLM,
    RetryingStreamingTTS,
    RetryingSTT,
    RetryingTTS,
    RetryPolicy,
    SentenceStreamTTS,
    with_retry,
)

from ._fakes import Call, FakeLLM, FakeSTT, FakeTTS
from ._support import collect_chat, collect_frames, user_says

DROP = ProviderConnectionError("dropped", provider="fake")


def status(code: int, retry_after: float | None = None) -> ProviderStatusError:
    return ProviderStatusError("status", provider="fake", status=code, retry_after=retry_after)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (DROP, True),
        (ProviderTimeoutError("slow", provider="fake"), True),
        (status(408), True),
        (status(429), True),
        (status(500), True),
        (status(503), True),
        (status(400), False),
        (status(401), False),
        (status(404), False),
        (ContentFilterError("filtered", provider="fake"), False),
    ],
)
def test_classification_decides_retry(error: ProviderStatusError, retried: bool) -> None:
    delay = RetryPolicy().next_delay(0, error, delivered=False)
    assert (delay is not None) is retried


def test_never_after_delivery_and_never_past_budget() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.next_delay(0, DROP, delivered=True) is None
    assert policy.next_delay(1, DROP, delivered=False) is not None
    assert policy.next_delay(2, DROP, delivered=False) is None


@given(seed=st.integers(0, 2**32), retry=st.integers(0, 6))
def test_backoff_is_exponential_with_bounded_jitter(seed: int, retry: int) -> None:
    policy = RetryPolicy(max_retries=10, rng=random.Random(seed))
    delay = policy.next_delay(retry, DROP, delivered=False)
    base = min(30.0, 1.0 * 2.0**retry)
    assert delay is not None
    assert base * 0.8 <= delay <= base * 1.2
    again = RetryPolicy(max_retries=10, rng=random.Random(seed)).next_delay(
        retry, DROP, delivered=False
    )
    assert again == delay  # the injected rng makes it deterministic


def test_retry_after_raises_the_wait() -> None:
    policy = RetryPolicy(rng=random.Random(0))
    assert policy.next_delay(0, status(429, retry_after=12.5), delivered=False) == 12.5
    small = policy.next_delay(2, status(429, retry_after=0.1), delivered=False)
    assert small is not None
    assert small >= 3.2  # backoff wins when larger
    assert policy.next_delay(0, status(429, retry_after=300), delivered=False) is None


def test_bad_policy_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ConfigurationError):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ConfigurationError):
        with_retry(object())  # type: ignore[call-overload]


def test_with_retry_keeps_the_kind() -> None:
    assert isinstance(with_retry(FakeLLM("l")), RetryingLLM)
    assert isinstance(with_retry(FakeTTS("t")), RetryingTTS)
    assert isinstance(with_retry(SentenceStreamTTS(FakeTTS("t"))), RetryingStreamingTTS)
    assert isinstance(with_retry(FakeSTT("s")), RetryingSTT)


async def test_llm_retries_then_succeeds_on_trio_clock(autojump_clock: trio.abc.Clock) -> None:
    llm = FakeLLM("l", Call(error=DROP), Call(error=status(503)))
    start = trio.current_time()
    async with with_retry(llm, RetryPolicy(rng=random.Random(3))).chat(user_says()) as events:
        got = [event async for event in events]
    assert got == [LLMTextDelta("ok")]
    assert llm.script.count == 3
    assert 0.8 * (1 + 2) <= trio.current_time() - start <= 1.2 * (1 + 2) + 0.1


async def test_gives_up_after_max_retries_with_last_error(autojump_clock: trio.abc.Clock) -> None:
    llm = FakeLLM("l", *[Call(error=DROP)] * 5)
    with pytest.raises(ProviderConnectionError) as info:
        await collect_chat(with_retry(llm))
    assert info.value is DROP
    assert llm.script.count == 4  # one try + three retries


async def test_no_retry_once_tokens_were_delivered(autojump_clock: trio.abc.Clock) -> None:
    llm = FakeLLM("l", Call([LLMTextDelta("Hel")], error=DROP))
    got: list[LLMEvent] = []
    with pytest.raises(ProviderConnectionError):
        await collect_chat(with_retry(llm), got)
    assert got == [LLMTextDelta("Hel")]
    assert llm.script.count == 1


async def test_deadline_aware_raises_instead_of_sleeping_past_it(
    autojump_clock: trio.abc.Clock,
) -> None:
    llm = FakeLLM("l", Call(error=status(429, retry_after=10)))
    start = trio.current_time()
    with trio.fail_after(5), pytest.raises(ProviderStatusError):
        await collect_chat(with_retry(llm))
    assert trio.current_time() - start < 0.1  # raised at once, leaving the caller its time
    assert llm.script.count == 1


async def test_tts_not_retried_after_audio(autojump_clock: trio.abc.Clock) -> None:
    frame = silence(0.02, 16000)
    before = FakeTTS("t", Call(error=DROP))
    async with with_retry(before).synthesize("hi") as frames:
        assert len([f async for f in frames]) == 3
    after = FakeTTS("t", Call([frame], error=DROP))
    with pytest.raises(ProviderConnectionError):
        await collect_frames(with_retry(after), "hi")
    assert (before.script.count, after.script.count) == (2, 1)


async def test_streaming_tts_replays_pushed_text(autojump_clock: trio.abc.Clock) -> None:
    inner = FakeTTS("t", Call(error=DROP))
    seen: list[str] = []
    original = inner.synthesize

    def spy(text: str):  # type: ignore[no-untyped-def]
        seen.append(text)
        return original(text)

    inner.synthesize = spy  # type: ignore[method-assign]
    sentence = "This is the first sentence here."
    async with with_retry(SentenceStreamTTS(inner)).stream() as stream:
        await stream.push_text(sentence + " ")
        await stream.end_input()
        frames = [f async for f in stream]
    assert len(frames) == 3
    assert seen == [sentence, sentence]  # replayed into the new inner stream


async def test_stt_replays_audio_and_resumes(autojump_clock: trio.abc.Clock) -> None:
    stt = FakeSTT("s", Call(error=DROP))
    async with with_retry(stt).stream() as stream:
        for _ in range(8):
            await stream.push_frame(silence(0.02, 16000))
        await stream.end_input()
        texts = [event.text async for event in stream]
    assert texts == ["s:8"]  # the second stream received every frame again
    assert stt.script.count == 2


async def test_stt_fast_producer_waits_instead_of_losing_audio(
    autojump_clock: trio.abc.Clock,
) -> None:
    stt = FakeSTT("s", Call(error=DROP))
    async with with_retry(stt).stream() as stream:
        for _ in range(2000):  # more than the 1500-frame backlog bound
            await stream.push_frame(silence(0.02, 16000))
        await stream.end_input()
        texts = [event.text async for event in stream]
    assert texts == ["s:2000"]
