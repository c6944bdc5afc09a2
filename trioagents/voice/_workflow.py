"""The multi-agent workflow as an explicit, checked state machine.

States are agent *classes*; a transition is "a tool of agent A may hand off to
agent B". Transitions come from two places:

* discovered from each tool's return annotation: ``-> "ConfirmationAgent"``,
  ``-> tuple[ConfirmationAgent, str]``, ``-> PaymentAgent | None``, unions of those;
* declared: ``@function_tool(transitions=[ConfirmationAgent])`` (which replaces the
  annotation for that tool) or ``Workflow(..., transitions=[(A, B)])`` for handoffs
  made outside tools.

:class:`Workflow` discovers every state reachable from the initial agent and
validates the graph when it is built, i.e. at start-up (building every tool's
schema on the way, so an unsupported parameter type fails here too): an annotation naming the
generic agent base class, a target name that is no known agent, an annotation that
cannot be evaluated, or a declared state that cannot be reached all raise
:class:`~trioagents.core.ConfigurationError` with the fix in the message.
:meth:`Workflow.to_mermaid` draws the graph for docs.

At run time :class:`WorkflowState` tracks the current agent and refuses any handoff
the workflow did not declare (:class:`UndeclaredTransitionError`), so a tool that
returns an unexpected agent is stopped before the session swaps anything in.

One exception, for code ported from LiveKit Agents (where a tool returning an agent
*is* a handoff, whatever its annotation): a tool with no return annotation and no
``transitions=`` declares nothing, so it is *open*. When such a tool returns an
agent, the session asks :meth:`Workflow.learn` to add that transition (and the
target's own, discovered and validated as at start-up); the session logs a WARNING
naming the tool and the fix (annotate ``-> TargetAgent``), since that handoff was
not checked at start-up and is not in the drawn graph until it happened. A tool
whose annotation says something else (``-> str``) is not open: it is refused.

Rejected alternative: discovering transitions by running the tools (or by tracing
calls) -- a graph that depends on inputs cannot be validated at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from ..core import ConfigurationError
from ._handoff_agent import is_abstract_agent_class, is_agent_class
from ._tools import FunctionTool, find_function_tools
from ._tools_schema import is_union, resolve_annotation, strip_annotated

__all__ = ["Transition", "UndeclaredTransitionError", "Workflow", "WorkflowState"]


class UndeclaredTransitionError(ConfigurationError):
    """A handoff the workflow does not declare was attempted at run time."""


@dataclass(frozen=True, slots=True)
class Transition:
    """``source`` may hand off to ``target`` through tool ``tool`` (None: declared
    on the workflow, usable from any tool or from session code)."""

    source: type
    target: type
    tool: str | None = None


_Ref = type | str


class Workflow:
    """The states and transitions reachable from ``initial``, validated on construction.

    ``states`` adds agent classes that discovery cannot see on its own (classes that
    annotations refer to by a name not importable from the tool's module) and
    asserts they are reachable. ``transitions`` adds ``(source, target)`` pairs of
    classes or class names. Raises ConfigurationError on any inconsistency.
    """

    def __init__(
        self,
        initial: type,
        *,
        states: Iterable[type] = (),
        transitions: Iterable[tuple[_Ref, _Ref]] = (),
    ) -> None:
        pairs = list(transitions)
        named = [ref for pair in pairs for ref in pair if isinstance(ref, type)]
        roots = [initial, *states, *named]
        self._known: dict[str, type] = {}
        for cls in roots:
            self._add_state(cls, "Workflow(...)")
        self._initial = initial
        self._order: list[type] = []
        self._open: set[tuple[type, str]] = set()  # (class, tool) with no declared targets
        raw_edges = self._discover(roots)
        where = "Workflow(transitions=...)"
        raw_edges += [(self._ref(source, where), target, None) for source, target in pairs]
        self._transitions = tuple(self._resolve_edges(raw_edges))
        self._check_reachable()

    # ----------------------------------------------------------- discovery

    def _add_state(self, cls: Any, where: str) -> type:
        if not is_agent_class(cls):
            raise ConfigurationError(f"{where}: {cls!r} is not an agent class")
        if is_abstract_agent_class(cls):
            raise ConfigurationError(
                f"{where}: {cls.__name__} is an agent base class, not a concrete agent"
            )
        existing = self._known.get(cls.__name__)
        if existing is not None and existing is not cls:
            raise ConfigurationError(
                f"two agent classes are named {cls.__name__!r}; workflow states are named "
                "by class name, rename one"
            )
        self._known[cls.__name__] = cls
        return cls

    def _ref(self, ref: _Ref, where: str) -> type:
        if isinstance(ref, str):
            found = self._known.get(ref)
            if found is None:
                known = ", ".join(sorted(self._known))
                raise ConfigurationError(
                    f"{where} hands off to unknown agent {ref!r}; known agents: {known}. "
                    "Check the spelling or add the class to Workflow(states=[...])"
                )
            return found
        return self._add_state(ref, where)

    def _discover(
        self, roots: list[type], known: Iterable[type] = ()
    ) -> list[tuple[type, _Ref, str | None]]:
        edges: list[tuple[type, _Ref, str | None]] = []
        queue = list(dict.fromkeys(roots))
        seen: set[type] = set(known)
        deferred: list[tuple[type, FunctionTool]] = []
        while queue or deferred:
            if not queue:
                queue, deferred = self._retry_deferred(deferred, edges)
                continue
            cls = queue.pop(0)
            if cls in seen:
                continue
            seen.add(cls)
            self._order.append(cls)
            for tool in find_function_tools(cls):
                _ = tool.spec  # a schema error is a start-up error too
                targets = self._tool_targets(cls, tool)
                if targets is None:
                    deferred.append((cls, tool))
                    continue
                queue.extend(self._add_edges(cls, tool, targets, edges))
        return edges

    def _retry_deferred(
        self, deferred: list[tuple[type, FunctionTool]], edges: list[tuple[type, _Ref, str | None]]
    ) -> tuple[list[type], list[tuple[type, FunctionTool]]]:
        queue: list[type] = []
        still: list[tuple[type, FunctionTool]] = []
        for cls, tool in deferred:
            targets = self._tool_targets(cls, tool)
            if targets is None:
                still.append((cls, tool))
            else:
                queue.extend(self._add_edges(cls, tool, targets, edges))
        if len(still) == len(deferred):
            cls, tool = still[0]
            raise ConfigurationError(
                f"cannot evaluate the return annotation of tool {tool.name!r} on "
                f"{cls.__name__}; define the agent classes it names at module level, add "
                "them to Workflow(states=[...]) or declare @function_tool(transitions=[...])"
            )
        return queue, still

    def _add_edges(
        self,
        cls: type,
        tool: FunctionTool,
        targets: list[_Ref],
        edges: list[tuple[type, _Ref, str | None]],
    ) -> list[type]:
        new: list[type] = []
        for target in targets:
            if isinstance(target, type):
                self._add_state(target, f"tool {tool.name!r} on {cls.__name__}")
                new.append(target)
            edges.append((cls, target, tool.name))
        return new

    def _tool_targets(self, cls: type, tool: FunctionTool) -> list[_Ref] | None:
        """The targets of ``tool``; None when its annotation cannot be evaluated yet."""
        if tool.options.transitions is not None:
            return list(tool.options.transitions)
        annotation = tool.fn.__annotations__.get("return")
        if annotation is None:
            self._open.add((cls, tool.name))
            return []
        localns = {**self._known, cls.__name__: cls}
        try:
            hint = resolve_annotation(annotation, tool.fn, localns)
        except NameError:
            return None
        return _agent_classes_in(hint, f"tool {tool.name!r} on {cls.__name__}")

    def _resolve_edges(self, raw: list[tuple[type, _Ref, str | None]]) -> list[Transition]:
        found: dict[Transition, None] = {}
        for source, target, tool in raw:
            where = f"tool {tool!r} on {source.__name__}" if tool else "Workflow(transitions=...)"
            resolved = self._ref(target, where)
            found[Transition(source, resolved, tool)] = None
        return list(found)

    def _check_reachable(self) -> None:
        reachable = {self._initial}
        frontier = [self._initial]
        while frontier:
            source = frontier.pop()
            for transition in self._transitions:
                if transition.source is source and transition.target not in reachable:
                    reachable.add(transition.target)
                    frontier.append(transition.target)
        unreachable = [cls.__name__ for cls in self._known.values() if cls not in reachable]
        if unreachable:
            raise ConfigurationError(
                f"agent(s) {', '.join(sorted(unreachable))} cannot be reached from "
                f"{self._initial.__name__}; add a tool returning them (or "
                "Workflow(transitions=[...])), or remove them from the workflow"
            )
        for cls in self._known.values():
            if cls not in self._order:
                self._order.append(cls)

    # ----------------------------------------------------------- introspection

    @property
    def initial(self) -> type:
        return self._initial

    @property
    def states(self) -> tuple[type, ...]:
        """Every state, in discovery order (initial first)."""
        return tuple(self._order)

    @property
    def transitions(self) -> tuple[Transition, ...]:
        return self._transitions

    def targets_of(self, source: type) -> tuple[type, ...]:
        """The states ``source`` may hand off to (each once, in declaration order)."""
        targets = (t.target for t in self._transitions if t.source is source)
        return tuple(dict.fromkeys(targets))

    def find_transition(self, source: type, target: type, via: str | None) -> Transition | None:
        """The declared transition matching, or None. ``via`` is the tool name, if any."""
        for transition in self._transitions:
            if transition.source is not source or transition.target is not target:
                continue
            if transition.tool is None or via is None or transition.tool == via:
                return transition
        return None

    def is_open(self, source: type, tool: str | None) -> bool:
        """True when ``tool`` of ``source`` declares no targets (no return annotation,
        no ``transitions=``): a handoff through it may be learned at run time."""
        return tool is not None and (source, tool) in self._open

    def learn(self, source: type, target: type, tool: str) -> Transition:
        """Add ``source -> target`` through the open ``tool`` (see the module docstring).

        The target's own tools are discovered and validated as at start-up. Raises
        UndeclaredTransitionError when ``tool`` is not open, ConfigurationError when
        the target is no concrete agent class or its tools do not validate (then
        nothing changed).
        """
        if not self.is_open(source, tool):
            raise UndeclaredTransitionError(
                f"tool {tool!r} on {source.__name__} declares its targets; it cannot learn more"
            )
        known, order, open_tools = dict(self._known), list(self._order), set(self._open)
        try:
            self._add_state(target, f"tool {tool!r} on {source.__name__}")
            raw = self._discover([target], known=self._order)
            found = self._resolve_edges([*raw, (source, target, tool)])
        except ConfigurationError:
            self._known, self._order, self._open = known, order, open_tools
            raise
        self._transitions = tuple(dict.fromkeys([*self._transitions, *found]))
        return Transition(source, target, tool)

    def to_mermaid(self) -> str:
        """A Mermaid ``stateDiagram-v2`` of the workflow (deterministic text)."""
        lines = ["stateDiagram-v2", f"    [*] --> {self._initial.__name__}"]
        for t in self._transitions:
            label = f": {t.tool}" if t.tool else ""
            lines.append(f"    {t.source.__name__} --> {t.target.__name__}{label}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description: initial state, states and transitions, by name."""
        return {
            "initial": self._initial.__name__,
            "states": [cls.__name__ for cls in self._order],
            "transitions": [
                {"source": t.source.__name__, "target": t.target.__name__, "tool": t.tool}
                for t in self._transitions
            ],
        }

    def start(self) -> WorkflowState:
        """A fresh run-time tracker positioned at the initial state."""
        return WorkflowState(self)


def _agent_classes_in(hint: Any, where: str) -> list[_Ref]:
    hint, _ = strip_annotated(hint)
    if is_agent_class(hint):
        if is_abstract_agent_class(hint):
            raise ConfigurationError(
                f"{where}: the return annotation names the agent base class "
                f"{hint.__name__}, which does not say which agent it hands off to; annotate "
                "the concrete class(es) or declare @function_tool(transitions=[...])"
            )
        return [hint]
    if is_union(hint) or get_origin(hint) in (tuple, list):
        found: list[_Ref] = []
        for arg in get_args(hint):
            if arg is not Ellipsis:
                found.extend(_agent_classes_in(arg, where))
        return found
    return []


class WorkflowState:
    """Where a running session is in its workflow; refuses undeclared handoffs.

    Not thread-safe and not shared between sessions; no checkpoints.
    """

    __slots__ = ("_current", "_history", "_workflow")

    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow
        self._current = workflow.initial
        self._history: list[Transition] = []

    @property
    def workflow(self) -> Workflow:
        return self._workflow

    @property
    def current(self) -> type:
        return self._current

    @property
    def history(self) -> tuple[Transition, ...]:
        """The transitions taken so far, oldest first."""
        return tuple(self._history)

    def check(self, target: Any, *, via: str | None = None) -> Transition:
        """The transition from the current state to ``target`` (agent or class).

        Pure. Raises UndeclaredTransitionError when the workflow does not declare it.
        """
        target_cls = target if isinstance(target, type) else type(target)
        transition = self._workflow.find_transition(self._current, target_cls, via)
        if transition is None:
            allowed = ", ".join(c.__name__ for c in self._workflow.targets_of(self._current))
            through = f" through tool {via!r}" if via else ""
            source, target_name = self._current.__name__, target_cls.__name__
            how = (
                "Annotate the tool's return type or declare @function_tool(transitions=[...])"
                if via
                else f"For session.update_agent, start the session with workflow=Workflow("
                f"<first agent>, transitions=[({source}, {target_name})])"
            )
            raise UndeclaredTransitionError(
                f"{source} may not hand off to {target_name}{through}; "
                f"declared targets: {allowed or 'none'}. {how}"
            )
        return transition

    def apply(self, transition: Transition) -> None:
        """Move to ``transition.target``; ``transition`` must come from :meth:`check`."""
        if transition.source is not self._current:
            raise UndeclaredTransitionError(
                f"transition starts at {transition.source.__name__}, but the workflow is at "
                f"{self._current.__name__}; call check() again after every apply()"
            )
        self._current = transition.target
        self._history.append(transition)

    def transition(self, target: Any, *, via: str | None = None) -> Transition:
        """:meth:`check` then :meth:`apply`."""
        transition = self.check(target, via=via)
        self.apply(transition)
        return transition
