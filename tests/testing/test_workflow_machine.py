"""WorkflowMachine catches broken workflows (each check can fail) and shrinks them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import trio
from hypothesis import seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from trioagents.core import LLM
from trioagents.providers import Rule, ScriptedLLM, ScriptedToolCall
from trioagents.testing import WorkflowMachine, WorkflowViolation
from trioagents.testing._workflow_replay import (
    Disconnected,
    ProviderErrorInjected,
    UserSaid,
    replay,
)
from trioagents.voice import Agent, AgentSession, function_tool

QUICK = settings(max_examples=30, stateful_step_count=6, deadline=None, database=None)
RULES = (
    Rule(r"pay", tool_calls=[ScriptedToolCall("pay")]),
    Rule(r"next", tool_calls=[ScriptedToolCall("next_agent")]),
    Rule(r".", "ok"),
    Rule(r".", "paid", on="tool"),
)


class Chatty(Agent):
    """Greets twice on entry: two opening speeches."""

    def __init__(self) -> None:
        super().__init__(instructions="chatty")

    async def on_enter(self) -> None:
        self.session.say("Hello!")
        self.session.say("Hello again!")


class SlowPayer(Agent):
    """A payment tool that insists on finishing for 30 s after an interruption."""

    def __init__(self) -> None:
        super().__init__(instructions="payer")

    @function_tool(on_interrupt="complete", interrupt_deadline=30.0)
    async def pay(self) -> str:
        """Pay."""
        await trio.sleep(25)
        return "paid"

    @function_tool
    async def next_agent(self) -> Second:
        """Go on."""
        return Second()


class Second(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="second")

    async def on_enter(self) -> None:
        self.session.generate_reply()


class Stuck(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="stuck")

    async def on_enter(self) -> None:
        await trio.sleep_forever()


def machine_for(first: Callable[[], Agent], words: list[str]) -> type[WorkflowMachine]:
    class Machine(WorkflowMachine):
        utterances = st.sampled_from(words)

        def build_session(self, llm: LLM) -> tuple[AgentSession[Any], Agent]:
            return AgentSession(llm=llm), first()

        def base_llm(self) -> LLM:
            return ScriptedLLM(RULES)

    return Machine


def test_two_opening_speeches_are_caught() -> None:
    with pytest.raises(WorkflowViolation, match="2 opening speeches"):
        run_state_machine_as_test(machine_for(Chatty, ["hi"]), settings=QUICK)


def test_a_close_held_up_by_a_tool_is_caught() -> None:
    # The check itself, deterministically: disconnect one second into the paying turn.
    with pytest.raises(WorkflowViolation, match="close took"):
        replay(
            lambda llm: (AgentSession(llm=llm), SlowPayer()),
            lambda: ScriptedLLM(RULES),
            [UserSaid("pay"), Disconnected(after=1.0)],
            settle_bound=60.0,
            close_bound=20.0,
        )


def search_for_a_close_held_up_by_a_tool() -> list[str]:
    """Run the machine's search; return the shrunk steps (raises if nothing is found).

    The seed only pins the run: with seeds 0-9, 8 of 10 searches of 300 examples
    found this close (7 of 10 before the rules lost their "not disconnected"
    preconditions).
    """
    machine = seed(1)(machine_for(SlowPayer, ["pay"]))
    with pytest.raises(WorkflowViolation, match="close took") as caught:
        run_state_machine_as_test(
            machine,
            settings=settings(QUICK, max_examples=300, stateful_step_count=3),
        )
    return [n for n in getattr(caught.value, "__notes__", []) if n.startswith("state.")]


def test_the_search_finds_a_close_held_up_by_a_tool_and_shrinks_it() -> None:
    # Run in a fresh interpreter. Hypothesis' stateful generation is not reproducible
    # across process states even with a fixed seed (the examples it draws diverged
    # after ~40 depending on which tests ran before; every replay of a given operation
    # list was identical), and whether 300 examples hit the narrow window of
    # "disconnect while the tool runs" then depended on test order.
    script = (
        "import json, sys\n"
        "from tests.testing.test_workflow_machine import search_for_a_close_held_up_by_a_tool\n"
        "print(json.dumps(search_for_a_close_held_up_by_a_tool()))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    steps = json.loads(done.stdout.strip().splitlines()[-1])
    # shrunk to the essence: ask to pay, disconnect while the tool runs, teardown
    assert any(step.startswith("state.user_says(") for step in steps)
    assert steps[-2].startswith("state.disconnect(after=")
    assert steps[-1] == "state.teardown()"


def test_a_session_that_never_settles_is_caught() -> None:
    with pytest.raises(WorkflowViolation, match="did not settle"):
        replay(
            lambda llm: (AgentSession(llm=llm), Stuck()),
            lambda: ScriptedLLM(RULES),
            [UserSaid("hi")],
            settle_bound=5.0,
            close_bound=5.0,
        )


def test_a_correct_workflow_passes_every_check() -> None:
    replay(
        lambda llm: (AgentSession(llm=llm), SlowPayer()),
        lambda: ScriptedLLM(RULES),
        [UserSaid("pay", ttft=0.3, token_delay=0.1), UserSaid("next"), Disconnected()],
        settle_bound=60.0,
        close_bound=5.0,
    )
    run_state_machine_as_test(machine_for(Second, ["hi", "next"]), settings=QUICK)


def test_a_session_ended_by_its_error_policy_is_a_legitimate_end() -> None:
    """Three provider errors in a row close the session (max_unrecoverable_errors):
    the replay stops applying operations and checks the closed session; found by the
    restaurant machine once ``wait_idle`` raised SessionClosedError."""
    failing = [ProviderErrorInjected(), UserSaid("hi")] * 3
    replay(
        lambda llm: (AgentSession(llm=llm), Second()),
        lambda: ScriptedLLM(RULES),
        [*failing, UserSaid("hi")],
        settle_bound=60.0,
        close_bound=5.0,
    )


def test_the_silence_check_flags_output_from_an_agent_that_left() -> None:
    from trioagents.testing._workflow_replay import ChaosLLM, _check_silence, _Emission, _Log
    from trioagents.voice import AgentHandedOff

    llm = ChaosLLM(ScriptedLLM(RULES), lambda: "A")
    away = AgentHandedOff("A", "B", "handoff", created_at=3.0)
    back = AgentHandedOff("B", "A", "handoff", created_at=4.0)

    llm.emissions = [_Emission("A", 2.0), _Emission("B", 3.5)]
    log = _Log()
    _check_silence(llm, [away], log)
    assert log.violations == []

    llm.emissions = [_Emission("A", 3.5)]
    log = _Log()
    _check_silence(llm, [away, back], log)
    assert log.violations == ["A emitted LLM output at 3.500 after leaving"]

    llm.emissions = [_Emission("A", 4.5)]  # A is active again by then
    log = _Log()
    _check_silence(llm, [away, back], log)
    assert log.violations == []


def test_user_invariants_see_the_closed_session_and_its_events() -> None:
    """check_session: a user's own invariant fails the example and is shrunk like ours."""
    from trioagents.core import ChatMessage
    from trioagents.voice import ConversationItemAdded, SessionEvent

    seen: list[int] = []

    class NoRefunds(machine_for(Second, ["hi", "refund"])):  # type: ignore[misc]
        def check_session(
            self, session: AgentSession[Any], events: Sequence[SessionEvent]
        ) -> list[str]:
            added = [e.item for e in events if isinstance(e, ConversationItemAdded)]
            assert [i for i in session.history if isinstance(i, ChatMessage)] == [
                i for i in added if isinstance(i, ChatMessage)
            ]
            seen.append(len(added))
            said = [i.content for i in added if isinstance(i, ChatMessage) and i.role == "user"]
            return ["a refund was asked for"] if "refund" in said else []

    with pytest.raises(WorkflowViolation, match="a refund was asked for") as caught:
        run_state_machine_as_test(NoRefunds, settings=QUICK)
    assert seen
    assert max(seen) > 0
    steps = [n for n in getattr(caught.value, "__notes__", []) if n.startswith("state.")]
    # the report shows the offending line (how far it shrinks is Hypothesis' business:
    # a 30-example budget does not always reach the single step)
    assert any("text='refund'" in step for step in steps), steps
