"""Operation-list property test of a fallback group (Hypothesis + autojump).

Each operation scripts what every member would do on its next call (succeed,
fail before delivering anything, fail after a token, refuse the content), may let
time pass (probes run) or call ``fail_over()``, then makes one call. Whatever the
history, the call must follow the rules: members are tried in some order, each at
most once; every member tried before the last failed before delivering; the last
one decides the outcome; and the group only gives up ("all providers failed")
after trying every member.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioagents.core import (
    ChatContext,
    ContentFilterError,
    LLMEvent,
    LLMTextDelta,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ToolChoice,
    ToolSpec,
)
from trioagents.providers import FallbackOptions, open_fallback_llm

from ._support import user_says

Behaviour = Literal["ok", "fail", "fatal", "partial", "filtered"]


class Member:
    def __init__(self, name: str, log: list[str]) -> None:
        self.label = name
        self.next: Behaviour = "ok"
        self.probe_ok = True
        self._log = log

    @asynccontextmanager
    async def chat(
        self,
        chat_ctx: ChatContext,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice = "auto",
    ) -> AsyncIterator[AsyncIterator[LLMEvent]]:
        await trio.sleep(0.01)
        self._log.append(self.label)
        behaviour = self.next
        if behaviour == "fail":
            raise ProviderConnectionError("down", provider=self.label)
        if behaviour == "fatal":
            raise ProviderStatusError("bad request", provider=self.label, status=400)
        if behaviour == "filtered":
            raise ContentFilterError("filtered", provider=self.label)
        yield _Reply(self.label, fail_after=behaviour == "partial")


class _Reply:
    def __init__(self, text: str, fail_after: bool) -> None:
        self._items = [LLMTextDelta(text)]
        self._fail_after = fail_after

    def __aiter__(self) -> _Reply:
        return self

    async def __anext__(self) -> LLMEvent:
        await trio.sleep(0.01)
        if self._items:
            return self._items.pop()
        if self._fail_after:
            raise ProviderConnectionError("cut", provider="x")
        raise StopAsyncIteration


behaviours = st.sampled_from(["ok", "fail", "fatal", "partial", "filtered"])
operations = st.tuples(
    st.tuples(behaviours, behaviours, behaviours),
    st.sampled_from([0.0, 0.0, 3.0, 30.0]),  # time passing lets probes run
    st.booleans(),  # call fail_over() first
    st.booleans(),  # do probes succeed during this operation
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operations, min_size=1, max_size=8))
async def test_fallback_group_rules(
    ops: list[tuple[tuple[Behaviour, Behaviour, Behaviour], float, bool, bool]],
    autojump_clock: trio.abc.Clock,
) -> None:
    log: list[str] = []
    members = [Member(name, log) for name in "abc"]

    async def probe(member: Member) -> None:
        await trio.sleep(0.01)
        if not member.probe_ok:
            raise ProviderConnectionError("still down", provider=member.label)

    options = FallbackOptions(probe_interval=2.0, max_probe_interval=8.0, probe_timeout=1.0)
    async with open_fallback_llm(members, options=options, probe=probe) as llm:
        for behaviour_set, pause, fail_over_first, probes_ok in ops:
            for member, behaviour in zip(members, behaviour_set, strict=True):
                member.next = behaviour
                member.probe_ok = probes_ok
            await trio.sleep(pause)
            if fail_over_first:
                llm.fail_over()
            log.clear()
            text: list[str] = []
            error: ProviderError | None = None
            try:
                async with llm.chat(user_says()) as events:
                    async for event in events:
                        assert isinstance(event, LLMTextDelta)
                        text.append(event.text)
            except ProviderError as exc:
                error = exc
            check_call(members, list(log), text, error)


def check_call(
    members: list[Member], called: list[str], text: list[str], error: ProviderError | None
) -> None:
    behaviour = {m.label: m.next for m in members}
    assert called, "every call tries at least one member"
    assert len(set(called)) == len(called), "no member is tried twice in one call"
    for name in called[:-1]:
        assert behaviour[name] in ("fail", "fatal"), "moved on only after an undelivered failure"
    last = behaviour[called[-1]]
    if last == "ok":
        assert error is None
        assert text == [called[-1]]
    elif last == "filtered":
        assert isinstance(error, ContentFilterError)  # never failed over
    elif last == "partial":
        assert isinstance(error, ProviderConnectionError)
        assert text == [called[-1]]
    else:
        assert len(called) == len(members), "gave up only after trying everyone"
        assert error is not None
        assert "all 3 providers failed" in str(error)
        cause = error.__cause__
        assert isinstance(cause, ProviderError)
        assert error.retryable is cause.retryable
