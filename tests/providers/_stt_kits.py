"""The websocket STTs under test, each with its fake server, and the checks they share.

A :class:`Kit` says how to serve a provider's fake, point a client at it and
refuse a connection; the checks below (one fault, the fault-matrix cell, the
canary key, the resume after a late final) are written once and run per provider
from its own test module, with its own table of faults.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import pytest
import trio

from trioagents.core import STT, ProviderError
from trioagents.providers import FallbackOptions, RetryPolicy, open_fallback_stt, with_retry
from trioagents.testing import (
    DeepgramFaultInjector,
    FaultInjector,
    RealtimeTranscriptionFaultInjector,
    Timeline,
    open_fake_deepgram,
    open_fake_realtime_transcription,
    refused_deepgram_url,
    refused_realtime_base_url,
)

from ._deepgram_support import deepgram
from ._realtime_transcription_support import realtime
from ._streaming_stt_support import Run, transcribe, two_utterances

NO_PROBES = FallbackOptions(probe_interval=10_000)
WORDS = ["turn on the lights", "thank you"]


@dataclass(frozen=True)
class Kit:
    name: str
    label: str
    open_server: Callable[..., AbstractAsyncContextManager[Any]]  # (timeline, options)
    address: Callable[[Any], str]  # the server -> what the client connects to
    client: Callable[..., STT]  # (address, *, idle_timeout, options, api_key, **connection)
    refused: Callable[[], str]
    injector: Callable[[Any], FaultInjector]
    auth_scheme: str
    cancel_controls: tuple[str, ...]  # the control messages of a stream cancelled early


DEEPGRAM = Kit(
    "deepgram",
    "deepgram/nova-3",
    open_fake_deepgram,
    lambda server: server.url,
    deepgram,
    refused_deepgram_url,
    DeepgramFaultInjector,
    "Token",
    ("CloseStream",),
)
OPENAI = Kit(
    "openai",
    "openai-realtime/gpt-4o-mini-transcribe",
    open_fake_realtime_transcription,
    lambda server: server.base_url,
    realtime,
    refused_realtime_base_url,
    RealtimeTranscriptionFaultInjector,
    "Bearer",
    ("session.update",),
)
KITS = {kit.name: kit for kit in (DEEPGRAM, OPENAI)}


async def run_with_fault(
    kit: Kit, fault: object | None, server_options: object = None, **client: Any
) -> tuple[Run, float, Any]:
    """One stream of two utterances, the server's first connection faulted (None:
    the connection is refused); the run, its duration and the server."""
    timeline = two_utterances()
    with trio.fail_after(120):
        async with kit.open_server(timeline, server_options) as server:
            url = kit.refused() if fault is None else kit.address(server)
            if fault is not None:
                server.script(fault)
            start = trio.current_time()
            run = await transcribe(kit.client(url, idle_timeout=2.0, **client), timeline)
            return run, trio.current_time() - start, server


def assert_error(
    kit: Kit, run: Run, error_class: type[ProviderError], retryable: bool, status: int | None
) -> ProviderError:
    error = run.error
    assert type(error) is error_class
    assert error.retryable is retryable
    assert error.status == status
    assert error.provider == kit.label
    return error


def error_texts(error: BaseException) -> str:
    """Every message, repr and attribute of an error and its whole chain."""
    seen: list[str] = []
    current: BaseException | None = error
    while current is not None:
        seen += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(seen)


async def check_key_never_leaks(
    kit: Kit, fault: object | None, caplog: pytest.LogCaptureFixture, server_options: object = None
) -> None:
    canary = "sk-CANARY-5d1e0b"
    caplog.set_level(logging.DEBUG)
    run, _, server = await run_with_fault(kit, fault, server_options, api_key=canary)
    assert run.error is not None
    assert canary not in error_texts(run.error)
    assert canary not in caplog.text
    assert canary not in repr(kit.client(kit.refused(), api_key=canary).connection)  # type: ignore[attr-defined]
    if fault is not None:
        session = server.sessions[0]
        assert session.headers["authorization"] == f"{kit.auth_scheme} {canary}"
        assert canary not in session.path
        assert all(canary not in value for values in session.query.values() for value in values)


@dataclass(frozen=True)
class Cell:
    fault: object | None  # None: connection refused
    expected: str  # "retried" or "failed_over"
    primary_sessions: int


async def check_fault_cell(kit: Kit, cell: Cell, name: str, primary_options: object = None) -> None:
    """``with_retry(member)`` first in a fallback group with a healthy second member:
    the whole transcript arrives, retried or failed over as the cell says."""
    timeline = two_utterances()
    with trio.fail_after(300):
        async with (
            kit.open_server(timeline, primary_options) as primary,
            kit.open_server(timeline, None) as backup,
        ):
            url = kit.refused() if cell.fault is None else kit.address(primary)
            if cell.fault is not None:
                primary.script(cell.fault)
            policy = RetryPolicy(rng=random.Random(0))
            members = [
                with_retry(kit.client(url, idle_timeout=2.0), policy),
                kit.client(kit.address(backup)),
            ]
            async with open_fallback_stt(members, options=NO_PROBES) as stt:
                start = trio.current_time()
                run = await transcribe(stt, timeline)
                elapsed = trio.current_time() - start
                current = stt.statistics().current
    assert run.error is None
    assert run.finals == WORDS  # complete, in order, nothing twice
    assert len(primary.sessions) == cell.primary_sessions
    if cell.expected == "retried":
        assert backup.sessions == []
        assert current == 0
    else:
        assert len(backup.sessions) == 1
        assert backup.sessions[0].finals == WORDS
        assert current == 1
    if name == "rate_limited":
        assert elapsed >= 6  # Retry-After honoured
    if name == "refused":
        assert elapsed >= 0.8 * (1 + 2 + 4)  # three backed-off retries first


async def resume_after(
    kit: Kit,
    timeline: Timeline,
    fault: object,
    *,
    server_options: object,
    client_options: object,
    retry: bool,
) -> tuple[Run, Any, Any]:
    """One stream whose first connection fails with ``fault``: resumed on the same
    server by ``with_retry`` (``retry``) or on a second server by a fallback group."""
    with trio.fail_after(120):
        async with (
            kit.open_server(timeline, server_options) as primary,
            kit.open_server(timeline, server_options) as backup,
        ):
            primary.script(fault)
            first = kit.client(kit.address(primary), options=client_options, idle_timeout=2.0)
            if retry:
                run = await transcribe(with_retry(first, RetryPolicy(base_delay=0.1)), timeline)
                return run, primary, backup
            second = kit.client(kit.address(backup), options=client_options, idle_timeout=2.0)
            async with open_fallback_stt([first, second], options=NO_PROBES) as stt:
                run = await transcribe(stt, timeline)
            return run, primary, backup
