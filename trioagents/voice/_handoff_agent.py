"""How the tool and workflow layers recognise an agent without importing its class.

The session's ``Agent`` class (built elsewhere in this package) sets the class
attribute ``__trioagents_agent__ = True``; every subclass inherits it. The base
class itself, and any other class meant only to be subclassed, additionally sets
``__trioagents_agent_base__ = True`` *in its own body* (not inherited, checked in
the class ``__dict__``), which tells the workflow that a return annotation naming
it does not say which concrete agent a tool hands off to.

Rejected alternative: ``isinstance(obj, Agent)``. It would make tools, handoffs and
the workflow depend on the session module, and it would force tests of these
layers to build a full agent. A marker attribute is the narrowest seam that still
cannot be hit by accident.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeGuard

__all__ = [
    "AGENT_BASE_MARKER",
    "AGENT_MARKER",
    "agent_name",
    "is_abstract_agent_class",
    "is_agent",
    "is_agent_class",
]

AGENT_MARKER = "__trioagents_agent__"
AGENT_BASE_MARKER = "__trioagents_agent_base__"


def is_agent_class(obj: Any) -> TypeGuard[type]:
    """True for a class carrying the agent marker (base classes included)."""
    return isinstance(obj, type) and getattr(obj, AGENT_MARKER, False) is True


def is_agent(obj: Any) -> bool:
    """True for an *instance* of an agent class (a tool result that hands off)."""
    return not isinstance(obj, type) and is_agent_class(type(obj))


def is_abstract_agent_class(cls: type) -> bool:
    """True when ``cls`` is an agent base class, not a concrete state."""
    return cls.__dict__.get(AGENT_BASE_MARKER, False) is True or inspect.isabstract(cls)


def agent_name(agent: Any) -> str:
    """The name recorded in handoff items and workflow states: the class name."""
    cls = agent if isinstance(agent, type) else type(agent)
    return cls.__name__
