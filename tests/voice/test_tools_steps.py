"""The step rule: which ``tool_choice`` each LLM generation of one reply gets."""

from __future__ import annotations

import pytest

from trioagents.core import ConfigurationError
from trioagents.voice import DEFAULT_MAX_TOOL_STEPS, tool_choice_for_step


def test_default_limit_is_three() -> None:
    assert DEFAULT_MAX_TOOL_STEPS == 3


@pytest.mark.parametrize(
    ("step", "max_steps", "requested", "expected"),
    [
        (1, 3, "auto", "auto"),
        (3, 3, "auto", "auto"),
        (4, 3, "auto", "none"),
        (9, 3, "auto", "none"),
        (1, 0, "auto", "none"),
        (1, 3, "none", "none"),
        (1, 3, "required", "required"),
        (2, 3, "required", "auto"),
        (1, 3, "to_billing", "to_billing"),
        (2, 3, "to_billing", "auto"),
    ],
)
def test_tool_choice_for_step(step: int, max_steps: int, requested: str, expected: str) -> None:
    assert tool_choice_for_step(step, max_tool_steps=max_steps, requested=requested) == expected


def test_tool_choice_default_allows_three_tool_steps() -> None:
    assert [tool_choice_for_step(s) for s in (1, 2, 3, 4)] == ["auto", "auto", "auto", "none"]
    with pytest.raises(ConfigurationError):
        tool_choice_for_step(0)
    with pytest.raises(ConfigurationError):
        tool_choice_for_step(1, max_tool_steps=-1)


def test_a_reply_that_names_no_choice_leaves_the_first_step_to_the_llm() -> None:
    steps = [tool_choice_for_step(s, max_tool_steps=2, requested=None) for s in (1, 2, 3)]
    assert steps == [None, "auto", "none"]
