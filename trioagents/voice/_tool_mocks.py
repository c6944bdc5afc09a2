"""``mock_tools``: fake tool implementations for a test (LiveKit's ``mock_tools``).

::

    with mock_tools(WeatherAgent, {"get_weather": lambda city: f"sunny in {city}"}):
        result = await session.run(user_input="Weather in Oslo?")

A mock replaces what a tool *does*, nothing else: the LLM still sees the real
tool's name and schema, the arguments are still validated against it, and the
mock receives the validated arguments it declares by name (a subset is fine; the
``RunContext`` too under the tool's context parameter name). A mock may be sync or
async; what it returns (text, a value, an agent for a handoff) or raises
(``ToolError``...) is the tool's result. The target is an agent class (its
instances and its subclasses' instances) or one agent object.

Scope (no global state; a context variable holds a chain of scopes):

* entered outside any session, the mocks apply to the sessions started inside the
  block (``session.start`` opens a child scope that its tasks inherit);
* entered inside a session's ``async with session.start(...)`` body (or in one of
  its tools), they apply to that session (the innermost one started in this task)
  while the block is open, whatever starts the reply: ``run()``,
  ``generate_reply()`` or a user turn from audio;
* on exit they are removed; nested blocks win over outer ones.

Mocks apply to the built-in tool runner; a custom ``session.tool_executor``
replaces it and sees no mocks. Tool names are checked when the block is entered:
a name the target does not have is a ConfigurationError (a typo would otherwise
run the real tool).

Rejected alternatives: patching the agent class (``monkeypatch``-style) leaks to
every concurrent session and breaks on tools passed with ``tools=``; a plain
context variable read where the tool runs cannot see a block entered in the body
after ``session.start`` (the session's tasks copied the context before).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..core import ConfigurationError
from ._handoff_agent import is_agent, is_agent_class
from ._tools import FunctionTool, ToolSet, find_function_tools

__all__ = ["apply_tool_mocks", "mock_tools", "tool_mock_scope"]


class _Mocks:
    __slots__ = ("fakes", "target")

    def __init__(self, target: object, fakes: Mapping[str, Callable[..., Any]]) -> None:
        self.target = target
        self.fakes = fakes

    def applies_to(self, agent: object) -> bool:
        target = self.target
        return isinstance(agent, target) if isinstance(target, type) else agent is target


class _MockScope:
    """The mocks of one scope (mutable: a session's body adds to its tasks' scope)."""

    __slots__ = ("entries", "parent")

    def __init__(self, parent: _MockScope | None) -> None:
        self.parent = parent
        self.entries: list[_Mocks] = []

    def find(self, agent: object, name: str) -> Callable[..., Any] | None:
        scope: _MockScope | None = self
        while scope is not None:
            for entry in reversed(scope.entries):
                if name in entry.fakes and entry.applies_to(agent):
                    return entry.fakes[name]
            scope = scope.parent
        return None


_SCOPE: ContextVar[_MockScope | None] = ContextVar("trioagents_tool_mocks", default=None)


@contextmanager
def mock_tools(
    agent: type[Any] | object, mocks: Mapping[str, Callable[..., Any]]
) -> Iterator[None]:
    """Replace tools of ``agent`` (a class or an instance) for the block; see the module.

    Raises ConfigurationError at entry for a target that is not an agent (class),
    a mock that is not callable, or a tool name the target does not have.
    """
    entry = _Mocks(agent, _checked(agent, mocks))
    scope = _SCOPE.get()
    token = None
    if scope is None:
        scope = _MockScope(None)
        token = _SCOPE.set(scope)
    scope.entries.append(entry)
    try:
        yield
    finally:
        scope.entries.remove(entry)
        if token is not None:
            _SCOPE.reset(token)


@contextmanager
def tool_mock_scope() -> Iterator[None]:
    """A child scope for one session (entered by ``session.start`` before its tasks)."""
    token = _SCOPE.set(_MockScope(_SCOPE.get()))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def apply_tool_mocks(agent: object, tools: ToolSet) -> ToolSet:
    """``tools`` with the mocked ones replaced, as seen from the calling task."""
    scope = _SCOPE.get()
    if scope is None:
        return tools
    replaced: list[FunctionTool] = []
    for name, tool in tools.items():
        fake = scope.find(agent, name)
        replaced.append(tool if fake is None else tool.with_implementation(fake))
    return ToolSet(replaced)


def _checked(
    agent: type[Any] | object, mocks: Mapping[str, Callable[..., Any]]
) -> dict[str, Callable[..., Any]]:
    if is_agent_class(agent):
        tools = {tool.name: tool for tool in find_function_tools(agent)}
        where = f"{agent.__name__} defines"
    elif is_agent(agent):
        own = getattr(agent, "tools", ())
        tools = {tool.name: tool for tool in own if isinstance(tool, FunctionTool)}
        where = "this agent has"
    else:
        raise ConfigurationError("mock_tools() takes an agent class or an agent instance")
    fakes = dict(mocks)
    for name, fake in fakes.items():
        if not callable(fake):
            raise ConfigurationError(f"the mock for {name!r} must be callable (e.g. a lambda)")
        if name not in tools:
            known = ", ".join(sorted(tools)) or "none"
            hint = "" if is_agent(agent) else "; for tools passed with tools=, mock the instance"
            raise ConfigurationError(f"no tool {name!r} to mock: {where} {known}{hint}")
        _check_parameters(name, tools[name], fake)
    return fakes


def _check_parameters(name: str, tool: FunctionTool, fake: Callable[..., Any]) -> None:
    """A mock's required parameters must be ones the tool passes (checked at entry)."""
    try:
        parameters = inspect.signature(fake).parameters.values()
    except (TypeError, ValueError):  # no signature to read: checked when called
        return
    signature = tool.signature
    passed = {parameter.name for parameter in signature.parameters}
    if signature.context_parameter is not None:
        passed.add(signature.context_parameter)
    for parameter in parameters:
        if parameter.default is not inspect.Parameter.empty:
            continue
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"the mock for {name!r} has a positional-only parameter; arguments are "
                "passed by name"
            )
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if parameter.kind in named and parameter.name not in passed:
            raise ConfigurationError(
                f"the mock for {name!r} needs {parameter.name!r}, which the tool does not "
                f"take (it takes: {', '.join(sorted(passed)) or 'nothing'})"
            )
