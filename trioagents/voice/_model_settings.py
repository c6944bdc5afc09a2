"""Per-generation model settings that reach ``Agent.llm_node`` without changing its signature.

``generate_reply(tool_choice=...)`` sets the choice for the generations of that
reply (see ``tool_choice_for_step``); :class:`~trioagents.voice.LLMGeneration`
sets it in its own task, so the default ``llm_node`` -- and an override that
calls it -- passes it to ``LLM.chat``. An override that calls the LLM itself reads
it with :func:`current_tool_choice`.
"""

from __future__ import annotations

from contextvars import ContextVar

from ..core import ToolChoice

__all__ = ["TOOL_CHOICE", "current_tool_choice"]

TOOL_CHOICE: ContextVar[ToolChoice] = ContextVar("trioagents_tool_choice", default="auto")


def current_tool_choice() -> ToolChoice:
    """The ``tool_choice`` of the LLM generation running in this task."""
    return TOOL_CHOICE.get()
