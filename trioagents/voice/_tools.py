"""``@function_tool``: turning Python functions and agent methods into LLM tools.

A :class:`FunctionTool` wraps one function with its options. Used on a method it is
a descriptor: ``agent.lookup_order`` is a tool bound to ``agent``, and
:func:`find_function_tools` discovers all of an object's tools through the class
hierarchy (a subclass's tool of the same attribute name overrides its parent's).

Invariants:

* the schema and the argument validation are derived from one analysis of the
  signature (:mod:`._tools_schema`), done lazily on first use and cached, so the
  LLM is never shown a parameter the validator would refuse or vice versa;
* a tool is invoked with validated keyword arguments only, plus the injected
  :class:`~trioagents.voice.RunContext` when the signature asks for one;
* each tool declares what happens when the turn that called it is interrupted:
  ``on_interrupt="complete"`` (the default, for tools with side effects) lets it
  finish within ``interrupt_deadline`` seconds; ``"cancel"`` cancels it with the
  turn. :func:`~trioagents.voice.run_tool_calls` applies the policy.

Synchronous tool functions are called directly in the Trio thread: they must not
block (wrap blocking work in ``trio.to_thread.run_sync`` inside an async tool).

Rejected alternative: a ``ToolFlag.CANCELLABLE`` bit defaulting to "never cancel"
with no deadline (LiveKit Agents). An unbounded wait for user code is exactly what
turns an interruption into a hang; every policy here is bounded.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, overload

from ..core import ConfigurationError, ToolSpec
from ._run_context import RunContext
from ._tools_args import parse_arguments
from ._tools_schema import ToolSignature, analyse_signature

__all__ = [
    "DEFAULT_INTERRUPT_DEADLINE",
    "FunctionTool",
    "InterruptPolicy",
    "StopResponse",
    "ToolOptions",
    "ToolSet",
    "find_function_tools",
    "function_tool",
]

InterruptPolicy: TypeAlias = Literal["complete", "cancel"]
DEFAULT_INTERRUPT_DEADLINE = 10.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class StopResponse(Exception):
    """Raised by a tool: record ``output`` as the call's output and generate no reply.

    Not a :class:`~trioagents.core.TrioAgentsError`: nothing failed.
    """

    def __init__(self, output: str = "") -> None:
        super().__init__("tool requested no reply")
        self.output = output


@dataclass(frozen=True, slots=True)
class ToolOptions:
    """Options of one tool; see :func:`function_tool`."""

    name: str | None = None
    description: str | None = None
    on_interrupt: InterruptPolicy = "complete"
    interrupt_deadline: float = DEFAULT_INTERRUPT_DEADLINE
    transitions: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.name is not None and not _NAME.match(self.name):
            raise ConfigurationError(
                "tool names must be 1-64 characters of letters, digits, '_' or '-', "
                "starting with a letter or '_'"
            )
        if self.on_interrupt not in ("complete", "cancel"):
            raise ConfigurationError('on_interrupt must be "complete" or "cancel"')
        deadline = self.interrupt_deadline
        if not (isinstance(deadline, int | float) and math.isfinite(deadline) and deadline > 0):
            raise ConfigurationError(
                "interrupt_deadline must be a positive finite number of seconds: an "
                "interrupted tool is never waited for without bound"
            )
        if self.transitions is not None and not all(
            isinstance(target, type | str) for target in self.transitions
        ):
            raise ConfigurationError(
                "transitions= takes agent classes or their names, e.g. transitions=[BookingAgent]"
            )


class _ToolDefinition:
    """The function, its options and the cached signature analysis (shared by bindings)."""

    __slots__ = ("fn", "is_method", "name", "options", "owner", "signature_cache")

    def __init__(self, fn: Callable[..., Any], options: ToolOptions) -> None:
        if isinstance(fn, staticmethod | classmethod) or not callable(fn):
            raise ConfigurationError(
                "@function_tool decorates plain functions and methods, not staticmethod or "
                "classmethod objects; use a module-level function instead"
            )
        name: str = options.name or str(getattr(fn, "__name__", ""))
        if not _NAME.match(name):
            raise ConfigurationError(f"cannot derive a tool name from {fn!r}; pass name=")
        self.fn = fn
        self.options = options
        self.name = name
        self.owner: type | None = None
        self.is_method = False
        self.signature_cache: ToolSignature | None = None

    def signature(self) -> ToolSignature:
        if self.signature_cache is None:
            localns: dict[str, Any] = {}
            if self.owner is not None:
                localns = {self.owner.__name__: self.owner}
            self.signature_cache = analyse_signature(
                self.fn,
                tool_name=self.name,
                description=self.options.description,
                localns=localns,
                is_method=self.is_method,
            )
        return self.signature_cache


class FunctionTool:
    """A tool: a function plus options, optionally bound to an instance.

    Calling the tool object calls the underlying function unchanged (useful in
    tests); the session uses :meth:`parse_arguments` and :meth:`invoke`.
    """

    __slots__ = ("_definition", "_instance")

    def __init__(self, fn: Callable[..., Any], options: ToolOptions | None = None) -> None:
        self._definition = _ToolDefinition(fn, options or ToolOptions())
        self._instance: object | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self._definition.owner = owner
        self._definition.is_method = True

    def __get__(self, instance: object | None, owner: type | None = None) -> FunctionTool:
        if instance is None:
            return self
        bound = object.__new__(FunctionTool)
        bound._definition = self._definition
        bound._instance = instance
        return bound

    def __repr__(self) -> str:
        state = "bound" if self._instance is not None else "unbound"
        return f"<FunctionTool {self.name} ({state})>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._instance is not None:
            return self._definition.fn(self._instance, *args, **kwargs)
        return self._definition.fn(*args, **kwargs)

    @property
    def name(self) -> str:
        return self._definition.name

    @property
    def options(self) -> ToolOptions:
        return self._definition.options

    @property
    def fn(self) -> Callable[..., Any]:
        """The undecorated function (unbound for methods)."""
        return self._definition.fn

    @property
    def owner(self) -> type | None:
        """The class the tool was defined in (None for plain functions)."""
        return self._definition.owner

    @property
    def needs_binding(self) -> bool:
        """True for a method tool read from its class (no instance to call it on)."""
        return self._definition.is_method and self._instance is None

    @property
    def signature(self) -> ToolSignature:
        """The resolved signature (raises ConfigurationError for unsupported hints)."""
        return self._definition.signature()

    @property
    def spec(self) -> ToolSpec:
        """What the LLM is told: name, description and JSON schema of the arguments."""
        signature = self.signature
        return ToolSpec(self.name, signature.description, signature.schema)

    def parse_arguments(self, arguments: str) -> dict[str, Any]:
        """Validate the LLM's JSON text; raises ``ToolArgumentsError`` (a ToolError)."""
        return parse_arguments(arguments, self.signature.parameters)

    async def invoke(self, arguments: Mapping[str, Any], context: RunContext[Any]) -> Any:
        """Call the tool with parsed ``arguments``, injecting ``context``.

        Whatever the function raises propagates; a sync function runs to completion
        without a checkpoint, an async one is cancellable at its own checkpoints.
        """
        if self.needs_binding:
            raise ConfigurationError(
                f"tool {self.name!r} is a method; read it from an instance to bind it"
            )
        kwargs = dict(arguments)
        context_name = self.signature.context_parameter
        if context_name is not None:
            kwargs[context_name] = context
        result = self(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def with_implementation(self, fn: Callable[..., Any]) -> FunctionTool:
        """This tool (same name, schema, options and validation) running ``fn`` instead.

        ``fn`` (sync or async) is called with the validated arguments it declares by
        name, plus the :class:`~trioagents.voice.RunContext` if it declares the
        tool's context parameter; a ``**kwargs`` parameter receives them all. What it
        returns or raises is the tool's result. Used by ``mock_tools``.
        """
        replaced = object.__new__(_ReplacedTool)
        replaced._definition = self._definition
        replaced._instance = self._instance
        replaced._fn = fn
        return replaced


class _ReplacedTool(FunctionTool):
    """A tool whose implementation was swapped (see :meth:`FunctionTool.with_implementation`)."""

    __slots__ = ("_fn",)

    _fn: Callable[..., Any]

    def __repr__(self) -> str:
        return f"<FunctionTool {self.name} (replaced)>"

    async def invoke(self, arguments: Mapping[str, Any], context: RunContext[Any]) -> Any:
        kwargs = dict(arguments)
        context_name = self.signature.context_parameter
        if context_name is not None:
            kwargs[context_name] = context
        result = self._fn(**_accepted(self._fn, kwargs))
        if inspect.isawaitable(result):
            result = await result
        return result


def _accepted(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The part of ``kwargs`` that ``fn`` declares (all of it for ``**kwargs``)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # no signature to read (some builtins): pass everything
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return kwargs
    named = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return {name: value for name, value in kwargs.items() if name in named}


@overload
def function_tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    on_interrupt: InterruptPolicy = "complete",
    interrupt_deadline: float = DEFAULT_INTERRUPT_DEADLINE,
    transitions: Iterable[Any] | None = None,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    on_interrupt: InterruptPolicy = "complete",
    interrupt_deadline: float = DEFAULT_INTERRUPT_DEADLINE,
    transitions: Iterable[Any] | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Declare a tool, bare (``@function_tool``) or with options.

    ``name``/``description`` override the function name and docstring summary.
    ``on_interrupt`` is the interruption policy (see the module docstring).
    ``transitions`` declares the agent classes (or their names) this tool may hand
    off to, for the workflow; without it they are read from the return annotation.
    Raises ConfigurationError for invalid options.
    """
    options = ToolOptions(
        name=name,
        description=description,
        on_interrupt=on_interrupt,
        interrupt_deadline=interrupt_deadline,
        transitions=None if transitions is None else tuple(transitions),
    )
    if fn is not None:
        return FunctionTool(fn, options)

    def decorate(function: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(function, options)

    return decorate


def find_function_tools(obj: object) -> list[FunctionTool]:
    """The tools defined on ``obj``'s class hierarchy, bound to ``obj``.

    Given a class, the unbound tools of that class are returned. Order: base
    classes first, then definition order; an attribute redefined in a subclass
    replaces the inherited one in place.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    found: dict[str, FunctionTool] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, FunctionTool):
                found[attr] = value
            elif attr in found:
                del found[attr]  # overridden by a non-tool attribute
    if isinstance(obj, type):
        return list(found.values())
    return [tool.__get__(obj, cls) for tool in found.values()]


class ToolSet(Mapping[str, FunctionTool]):
    """The tools available to one LLM step, by name (duplicates refused)."""

    __slots__ = ("_tools",)

    def __init__(self, tools: Iterable[FunctionTool] = ()) -> None:
        self._tools: dict[str, FunctionTool] = {}
        for tool in tools:
            if tool.needs_binding:
                raise ConfigurationError(
                    f"tool {tool.name!r} is an unbound method; use find_function_tools(agent)"
                )
            if tool.name in self._tools:
                raise ConfigurationError(
                    f"two tools are named {tool.name!r}; rename one with @function_tool(name=...)"
                )
            self._tools[tool.name] = tool

    def __getitem__(self, name: str) -> FunctionTool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def specs(self) -> tuple[ToolSpec, ...]:
        """The specs to send with an LLM request, in insertion order."""
        return tuple(tool.spec for tool in self._tools.values())
