"""A FakeLLM keyed by the requesting agent's instructions (shared by the workflow tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from trioagents.core import ChatContext, LLMToolCall
from trioagents.testing import FakeLLM, LLMScript


class AgentLLM(FakeLLM):
    """Each agent (by its instructions) answers with its own list of scripts in turn.

    The last script of a list repeats; an agent without a list gets ``default``.
    ``asked_by`` records whose instructions each request carried, in order.
    """

    def __init__(
        self,
        scripts: Mapping[str, Sequence[LLMScript]],
        *,
        default: LLMScript | None = None,
    ) -> None:
        super().__init__(default=default or LLMScript("Okay."))
        self.scripts = {key: list(value) for key, value in scripts.items()}
        self.asked_by: list[str] = []
        self._count: dict[str, int] = {}

    def script_for(self, chat_ctx: ChatContext) -> LLMScript:
        system = [m for m in chat_ctx.messages() if m.role == "system"]
        key = system[0].content if system else ""
        self.asked_by.append(key)
        scripts = self.scripts.get(key)
        if not scripts:
            return self.default
        count = self._count.get(key, 0)
        self._count[key] = count + 1
        return scripts[min(count, len(scripts) - 1)]


def call(name: str, arguments: str = "{}", call_id: str | None = None) -> LLMToolCall:
    return LLMToolCall(call_id or f"call_{name}", name, arguments)
