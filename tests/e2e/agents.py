"""Agent factories for the e2e tests."""

from __future__ import annotations

from typing import Any

DEMO = ("hello",)


def broken_factory(llm: Any = None) -> Any:
    raise RuntimeError("this agent cannot be built")
