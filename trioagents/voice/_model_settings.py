"""Per-generation model settings that reach ``Agent.llm_node`` without changing its signature.

``generate_reply(tool_choice=...)`` sets the choice for the generations of that
reply (see ``tool_choice_for_step``); :class:`~trioagents.voice.LLMGeneration`
sets it in its own task, so the default ``llm_node`` -- and an override that
calls it -- passes it to ``LLM.chat``. An override that calls the LLM itself reads
it with :func:`current_tool_choice`.

``None`` in :data:`TOOL_CHOICE`: the reply named no choice (LiveKit's NOT_GIVEN);
the default ``llm_node`` then leaves ``tool_choice`` out of ``LLM.chat`` so the
LLM's own default applies (``OpenAIChatOptions(tool_choice=...)``).
"""

from __future__ import annotations

from contextvars import ContextVar

from ..core import ToolChoice

__all__ = ["TOOL_CHOICE", "current_tool_choice"]

TOOL_CHOICE: ContextVar[ToolChoice | None] = ContextVar("trioagents_tool_choice", default=None)


def current_tool_choice() -> ToolChoice:
    """The ``tool_choice`` of the LLM generation running in this task.

    ``"auto"`` when the reply named none; passing that on overrides the LLM's own
    default, so an override that wants the default calls ``LLM.chat`` without
    ``tool_choice`` in that case (as the default ``llm_node`` does).
    """
    return TOOL_CHOICE.get() or "auto"
