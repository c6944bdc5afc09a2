"""ElevenLabsTTS and CartesiaTTS failures: each fault of the fakes, as the right
ProviderError; the key never leaks; no hidden retries. Virtual time, real
loopback sockets (the HTTP family's policy: tests/providers/test_openai_providers.py)."""

from __future__ import annotations

import functools
import logging

import pytest
import trio

from trioagents.core import (
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from trioagents.providers import RetryPolicy, with_retry
from trioagents.testing import (
    CloseAfter,
    FakeTTSOptions,
    MalformedAfter,
    RefuseUpgrade,
    ResetStreamAfter,
    StallStreamAfter,
    TTSErrorAfter,
    TTSFault,
    refused_websocket_url,
)

from ._stt_kits import error_texts
from ._tts_support import PROVIDERS, make_tts, open_fake, speak

TEXT = "Hello there, this is a longer reply that takes a while to say. And more."
PUSHES = [w + " " for w in TEXT.split(" ")]
RATE_LIMITED = RefuseUpgrade(429, b'{"detail": "too many"}', (("retry-after", "3"),))

# fault -> (error class, retryable, status)
CASES: dict[str, tuple[TTSFault | None, type[ProviderError], bool, int | None]] = {
    "unauthorized": (RefuseUpgrade(401, b'{"detail": "bad key"}'), ProviderStatusError, False, 401),
    "forbidden": (RefuseUpgrade(403), ProviderStatusError, False, 403),
    "rate_limited": (RATE_LIMITED, ProviderStatusError, True, 429),
    "unavailable": (RefuseUpgrade(503), ProviderStatusError, True, 503),
    "refused": (None, ProviderConnectionError, True, None),
    "closed_mid_utterance": (CloseAfter(0.3), ProviderConnectionError, True, None),
    "closed_normally_early": (CloseAfter(0.3, 1000, ""), ProviderConnectionError, True, None),
    "policy_close": (CloseAfter(0.3, 1008, "quota_exceeded"), ProviderError, False, None),
    "reset_mid_utterance": (ResetStreamAfter(0.3), ProviderConnectionError, True, None),
    "error_message": (TTSErrorAfter(0.3, "internal"), ProviderStatusError, True, 500),
    "bad_request_message": (
        TTSErrorAfter(0.3, "invalid", status=400),
        ProviderStatusError,
        False,
        400,
    ),
    "stall": (StallStreamAfter(0.3), ProviderTimeoutError, True, None),
    "malformed": (MalformedAfter(0.3, '{"audio": '), ProviderError, False, None),
    "not_an_object": (MalformedAfter(0.3, "[1, 2, 3]"), ProviderError, False, None),
}


def refused_url() -> str:
    return refused_websocket_url("")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", sorted(CASES))
async def test_fault_maps_to_provider_error(
    provider: str, case: str, autojump_clock: trio.abc.Clock
) -> None:
    fault, error_class, retryable, status = CASES[case]
    with trio.fail_after(120):
        async with open_fake(provider) as server:
            url = refused_url() if case == "refused" else server.url
            if fault is not None:
                server.script(fault)
            start = trio.current_time()
            spoken = await speak(make_tts(provider, url, idle_timeout=2.0), PUSHES)
            elapsed = trio.current_time() - start
    error = spoken.error
    assert type(error) is error_class
    assert error.retryable is retryable
    assert error.status == status
    assert error.provider.startswith(provider)
    if case == "rate_limited":
        assert isinstance(error, ProviderStatusError)
        assert error.retry_after == 3
    if case == "stall":
        assert elapsed == pytest.approx(2.0)  # idle_timeout after the last message
    if case == "policy_close":
        assert error.body == {"code": 1008, "reason": "quota_exceeded"}
    if fault is not None and getattr(fault, "after", None):
        assert spoken.frames  # audio came before the fault
        assert len(spoken.frames) < 30


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_wrong_key_is_refused(provider: str, autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(60):
        async with open_fake(provider, FakeTTSOptions(api_key="the-right-one")) as server:
            spoken = await speak(make_tts(provider, server.url), PUSHES)
    assert isinstance(spoken.error, ProviderStatusError)
    assert spoken.error.status == 401
    assert not spoken.error.retryable


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connect_timeout(provider: str, autojump_clock: trio.abc.Clock) -> None:
    """A server that accepts TCP but never answers the upgrade."""

    async def silent(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            serve = functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1")
            listeners = await nursery.start(serve)
            port = listeners[0].socket.getsockname()[1]
            tts = make_tts(provider, f"ws://127.0.0.1:{port}", connect_timeout=3.0)
            start = trio.current_time()
            spoken = await speak(tts, PUSHES)
            assert trio.current_time() - start == pytest.approx(3.0)
            nursery.cancel_scope.cancel()
    assert isinstance(spoken.error, ProviderTimeoutError)


CANARY = "tts-CANARY-5c1e0b"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", sorted(CASES))
async def test_the_key_never_leaks(
    provider: str, case: str, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fault = CASES[case][0]
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(120):
        async with open_fake(provider, FakeTTSOptions(api_key=CANARY)) as server:
            url = refused_url() if case == "refused" else server.url
            if fault is not None:
                server.script(fault)
            tts = make_tts(provider, url, key=CANARY, idle_timeout=2.0)
            spoken = await speak(tts, PUSHES)
            async with tts.connected() as shared:
                if fault is not None:
                    server.script(fault)
                spoken_shared = await speak(shared, PUSHES)
    for run in (spoken, spoken_shared):
        assert run.error is not None
        assert CANARY not in error_texts(run.error)
    assert CANARY not in caplog.text
    assert CANARY not in repr(tts.connection)
    for session in server.sessions:
        assert CANARY not in session.path
        assert CANARY not in str(session.query)
        assert CANARY not in str(session.messages)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_hidden_retries_and_the_policy_retries(
    provider: str, autojump_clock: trio.abc.Clock
) -> None:
    with trio.fail_after(120):
        async with open_fake(provider) as server:
            server.script(RefuseUpgrade(503))
            failed = await speak(make_tts(provider, server.url), PUSHES)
            assert len(server.sessions) == 1  # the provider itself never retries
            server.script(RefuseUpgrade(503), CloseAfter(0.0))
            policy = RetryPolicy(base_delay=0.1)
            healed = await speak(with_retry(make_tts(provider, server.url), policy), PUSHES)
    assert failed.error is not None
    assert healed.error is None
    assert len(server.sessions) == 4
    # the closed attempt had spoken nothing: the text was replayed whole
    assert server.sessions[-1].utterances[0].text == "".join(PUSHES)
    assert healed.text_ends[-1] == len(TEXT) + 1
