"""Each fault of the fake realtime transcription, as OpenAIRealtimeSTT's ProviderError.

Deepgram's policy (test_deepgram_errors.py), read from OpenAI's error types: a bad
key (at the upgrade or in-band) and invalid requests are final, rate limits, server
errors, failed items, dropped and stalled sessions retryable, a malformed message
final.
"""

from __future__ import annotations

import pytest
import trio

from trioagents.core import (
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from trioagents.testing import (
    CloseAfter,
    FailTranscriptionAfter,
    FakeRealtimeTranscriptionOptions,
    Healthy,
    MalformedAfter,
    RealtimeTranscriptionFault,
    RefuseUpgrade,
    ReportRealtimeErrorAfter,
    ResetStreamAfter,
    StallStreamAfter,
    open_fake_realtime_transcription,
    realtime_rate_limited,
    realtime_unauthorized,
    realtime_unavailable,
)

from ._realtime_transcription_support import realtime
from ._streaming_stt_support import two_utterances
from ._stt_kits import OPENAI, assert_error, check_key_never_leaks, run_with_fault

INVALID = "invalid_request_error"
# fault -> (error class, retryable, status); None: connection refused
CASES: dict[
    str, tuple[RealtimeTranscriptionFault | None, type[ProviderError], bool, int | None]
] = {
    "unauthorized": (realtime_unauthorized(), ProviderStatusError, False, 401),
    "unauthorized_in_band": (Healthy(), ProviderStatusError, False, 401),
    "forbidden": (RefuseUpgrade(403), ProviderStatusError, False, 403),
    "bad_request": (RefuseUpgrade(400), ProviderStatusError, False, 400),
    "rate_limited": (realtime_rate_limited(3), ProviderStatusError, True, 429),
    "unavailable": (realtime_unavailable(503), ProviderStatusError, True, 503),
    "server_error": (RefuseUpgrade(500), ProviderStatusError, True, 500),
    "refused": (None, ProviderConnectionError, True, None),
    "closed_mid_stream": (CloseAfter(0.8), ProviderConnectionError, True, None),
    "closed_normally_early": (CloseAfter(0.8, 1000, ""), ProviderConnectionError, True, None),
    "closed_bad_request": (
        CloseAfter(0.8, 3000, f"{INVALID}.invalid_value"),
        ProviderStatusError,
        False,
        400,
    ),
    "reset_mid_stream": (ResetStreamAfter(0.8), ProviderConnectionError, True, None),
    "error_event": (ReportRealtimeErrorAfter(0.8), ProviderStatusError, True, 500),
    "invalid_request_event": (
        ReportRealtimeErrorAfter(0.8, INVALID, "invalid_value"),
        ProviderStatusError,
        False,
        400,
    ),
    "rate_limit_event": (
        ReportRealtimeErrorAfter(0.8, "requests", "rate_limit_exceeded"),
        ProviderStatusError,
        True,
        429,
    ),
    "transcription_failed": (FailTranscriptionAfter(0.8), ProviderStatusError, True, 500),
    "transcription_refused": (
        FailTranscriptionAfter(0.8, INVALID),
        ProviderStatusError,
        False,
        400,
    ),
    "stall": (StallStreamAfter(0.8), ProviderTimeoutError, True, None),
    "stall_from_the_start": (StallStreamAfter(0.0), ProviderTimeoutError, True, None),
    "malformed": (MalformedAfter(0.8), ProviderError, False, None),
    "not_an_object": (MalformedAfter(0.8, "[1, 2, 3]"), ProviderError, False, None),
}
IN_BAND_KEY = FakeRealtimeTranscriptionOptions(api_key="sk-the-right-key")


def server_options(case: str) -> FakeRealtimeTranscriptionOptions | None:
    return IN_BAND_KEY if case == "unauthorized_in_band" else None


@pytest.mark.parametrize("case", sorted(CASES))
async def test_fault_maps_to_provider_error(case: str, autojump_clock: trio.abc.Clock) -> None:
    fault, error_class, retryable, status = CASES[case]
    run, elapsed, _ = await run_with_fault(OPENAI, fault, server_options(case))
    error = assert_error(OPENAI, run, error_class, retryable, status)
    duration = two_utterances().duration
    if case == "rate_limited":
        assert isinstance(error, ProviderStatusError)
        assert error.retry_after == 3
    if case.startswith("unauthorized"):
        assert error.body["error"]["code"] == "invalid_api_key"
    if case == "stall":
        # silent mid-utterance: noticed when the closing commit goes unanswered
        assert duration + 2.0 - 0.05 <= elapsed <= duration + 2.0 + 0.05
    if case == "stall_from_the_start":
        assert elapsed == pytest.approx(2.0)  # the session.updated never came
    if case == "closed_bad_request":
        assert error.body == {"code": 3000, "reason": f"{INVALID}.invalid_value"}
    if case.endswith("mid_stream") or case in ("malformed", "stall", "transcription_failed"):
        assert "turn on the lights" not in run.finals  # it failed within the first utterance


async def test_no_stall_timeout_while_nothing_is_owed(autojump_clock: trio.abc.Clock) -> None:
    """The server says nothing while the user is silent: that is not a stall."""
    timeline = two_utterances()
    with trio.fail_after(120):
        async with (
            open_fake_realtime_transcription(timeline) as server,
            realtime(server.base_url, idle_timeout=2.0).stream() as stream,
        ):
            with trio.move_on_after(30) as quiet:
                await stream.__anext__()
            assert quiet.cancelled_caught
            await stream.end_input()
            assert [e async for e in stream] == []
    assert server.sessions[0].sent_of("session.updated")


@pytest.mark.parametrize("case", sorted(CASES))
async def test_the_key_never_leaks(
    case: str, autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    await check_key_never_leaks(OPENAI, CASES[case][0], caplog, server_options(case))
