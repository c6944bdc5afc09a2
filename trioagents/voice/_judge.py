"""An LLM as the judge of one message: does it fulfil an intent?

:func:`judge_message` sends any :class:`~trioagents.core.LLM` a system prompt, the
intent and the message, with one tool, ``check_intent(success: bool, reason:
str)``, and ``tool_choice="required"`` (LiveKit's ``judge`` asks the same way). The
verdict is the last ``check_intent`` call's arguments. An answer that is no such
call, or whose arguments are not ``{"success": bool, "reason": str}``, is a
:class:`Verdict` with ``problem`` set: the caller (a test assertion) fails with it.

Rejected alternative: parsing a yes/no out of free text. A tool call with a typed
schema is what every tool-capable model returns reliably, and a model that ignores
the tool is reported as such instead of being guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..core import LLM, ChatContext, LLMTextDelta, LLMToolCall, ToolSpec

__all__ = ["JUDGE_TOOL", "Verdict", "judge_message"]

JUDGE_TOOL = ToolSpec(
    name="check_intent",
    description="Report whether the message fulfils the intent.",
    parameters={
        "type": "object",
        "properties": {
            "success": {
                "type": "boolean",
                "description": "Whether the message clearly fulfils the intent.",
            },
            "reason": {
                "type": "string",
                "description": "A short explanation of the judgment.",
            },
        },
        "required": ["success", "reason"],
        "additionalProperties": False,
    },
)

_SYSTEM = (
    "You are a test evaluator for conversational agents. You are shown a target intent "
    "and a message an agent said. Decide whether the message accomplishes the intent. "
    "Answer only by calling check_intent(success, reason). Be strict: if the message "
    "does not clearly fulfil the intent, set success to false and say why."
)
_MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's answer; ``problem`` says why there is none usable."""

    success: bool
    reason: str
    problem: str | None = None


async def judge_message(llm: LLM, message: str, intent: str) -> Verdict:
    """Ask ``llm`` whether ``message`` fulfils ``intent`` (see the module docstring).

    Raises what the LLM raises (``ProviderError``); cancellable while it streams.
    """
    chat_ctx = ChatContext()
    chat_ctx.add_message("system", _SYSTEM)
    chat_ctx.add_message(
        "user",
        "Check whether the following message fulfils the intent.\n\n"
        f"Intent:\n{intent}\n\nMessage:\n{message}",
    )
    calls: list[LLMToolCall] = []
    text: list[str] = []
    async with llm.chat(chat_ctx, tools=[JUDGE_TOOL], tool_choice="required") as events:
        async for event in events:
            if isinstance(event, LLMToolCall) and event.name == JUDGE_TOOL.name:
                calls.append(event)
            elif isinstance(event, LLMTextDelta):
                text.append(event.text)
    if not calls:
        said = "".join(text).strip()
        answer = f" (it answered {said[:_MAX_TEXT]!r})" if said else ""
        return Verdict(False, "", f"the LLM did not call {JUDGE_TOOL.name}{answer}")
    return _read(calls[-1].arguments)


def _read(arguments: str) -> Verdict:
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return Verdict(False, "", f"{JUDGE_TOOL.name} arguments are not JSON")
    if not isinstance(parsed, dict):
        return Verdict(False, "", f"{JUDGE_TOOL.name} arguments are not a JSON object")
    success, reason = parsed.get("success"), parsed.get("reason", "")
    if not isinstance(success, bool) or not isinstance(reason, str):
        return Verdict(False, "", f"{JUDGE_TOOL.name} needs a boolean success and a string reason")
    return Verdict(success, reason)
