"""What a tool receives about the call it is serving.

A tool declares a parameter annotated ``RunContext`` (or ``RunContext[MyUserdata]``)
and the tool layer injects it; it never appears in the JSON schema the LLM sees.

The context is a frozen record built by the session for one call (see
``make_context`` in :func:`~trioagents.voice.run_tool_calls`). It holds references,
not copies: ``userdata`` is the session's shared state object, so a tool that mutates
it is seen by every later tool and by the next agent after a handoff. That sharing is
the point of ``userdata``; the alternative (copy per call) would make parallel tools
lose each other's writes silently.

``session`` and ``speech_handle`` are typed loosely on purpose: this module sits
below the session, and importing the session's classes here would create a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import trio

from ..core import FunctionCall

__all__ = ["RunContext"]

UserdataT = TypeVar("UserdataT")


@dataclass(frozen=True, slots=True)
class RunContext(Generic[UserdataT]):
    """The session, the speech handle and the call a tool is running for.

    ``session`` is the ``AgentSession`` that owns the turn; ``speech_handle`` the
    handle of the reply whose LLM step requested the call (``None`` when a tool is
    invoked outside a reply, e.g. in tests); ``function_call`` the call itself;
    ``userdata`` the session's typed shared state.
    """

    session: Any
    speech_handle: Any
    function_call: FunctionCall
    userdata: UserdataT

    @property
    def call_id(self) -> str:
        """The provider's id of this call (pairs the call with its output)."""
        return self.function_call.call_id

    @property
    def tool_name(self) -> str:
        """The name the LLM used to call this tool."""
        return self.function_call.name

    def disallow_interruptions(self) -> None:
        """Make the reply that called this tool uninterruptible from now on.

        A barge-in then no longer cancels the turn (nor this tool); ``session.close``
        still does. Raises ConfigurationError when the reply was already
        interrupted. No-op without a speech handle (a tool invoked outside a reply).
        """
        if self.speech_handle is not None:
            self.speech_handle.disallow_interruptions()

    async def wait_for_playout(self) -> None:
        """Wait until what the LLM said before this call has been played.

        In a trioagents session a step's tools start after its audio has played,
        so this is only a checkpoint; it exists so LiveKit-style tool code runs
        unchanged.
        """
        await trio.lowlevel.checkpoint()
