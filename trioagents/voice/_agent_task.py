"""AgentTask[T]: a sub-agent awaited for a typed result, then control returns.

``result = await CollectEmail()`` inside a tool or an ``on_enter`` hook makes the
task the active agent (its ``context_policy`` says what it sees of the caller's
conversation), runs it until one of its tools calls :meth:`AgentTask.complete`,
then makes the caller active again, merges the task's conversation back into the
caller's context through ``merge_policy`` (any context policy: ``KeepAll`` keeps
every new item, ``Reset`` none, ``Summarize`` a summary...) and returns the result.

Two ways of waiting, one contract:

* from ``on_enter`` (its own task), the await simply waits: the session's
  scheduler plays the task's speeches;
* from a tool (inside a turn, so the scheduler itself is waiting for the tool),
  the await *serves the speech queue itself* until the task completes
  (:meth:`AgentActivity.serve_until`); the caller's turn is suspended and cannot
  be barged in on, the task's speeches can.

The caller is paused, not exited: no ``on_exit``/``on_enter`` for it; the task
gets both. A task cannot hand off (its tools get an error output) and is not a
workflow state. Session close cancels the wait: the await raises
:class:`AgentTaskCancelledError` (a tool turns it into an error output, so the
call still gets its one output) and nothing is switched back.

Rejected alternative: running the task in a nested session. Userdata, history,
the audio sink and the interruption machinery are the session's; a second
session would need all of them shared, i.e. would be this with more seams.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import trio

from ..core import ChatContext, ConfigurationError, TrioAgentsError
from ._agent import Agent, HasToolSpec
from ._handoff import ContextPolicy, KeepAll
from ._transitions import CURRENT_ACTIVITY, IN_TURN

__all__ = ["AgentTask", "AgentTaskCancelledError"]

ResultT = TypeVar("ResultT")


class AgentTaskCancelledError(TrioAgentsError):
    """The session closed while an AgentTask was awaited; it has no result."""


class AgentTask(Agent, Generic[ResultT]):
    """An agent awaited for a result of type ``ResultT`` (see the module docstring).

    ``merge_policy`` (class attribute) says what of the task's conversation the
    caller keeps; the default keeps all of it (instructions dropped, only complete
    call/output pairs).
    """

    __trioagents_agent_base__: ClassVar[bool] = True
    is_agent_task: ClassVar[bool] = True
    merge_policy: ContextPolicy = KeepAll()

    def __init__(
        self,
        *,
        instructions: str,
        tools: Sequence[HasToolSpec] = (),
        chat_ctx: ChatContext | None = None,
        allow_interruptions: bool | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(
            instructions=instructions,
            tools=tools,
            chat_ctx=chat_ctx,
            allow_interruptions=allow_interruptions,
            name=name,
        )
        self._completed = trio.Event()
        self._result: ResultT | None = None
        self._error: BaseException | None = None
        self._started = False
        self._on_complete: list[Callable[[], None]] = []

    @property
    def done(self) -> bool:
        return self._completed.is_set()

    @property
    def completion(self) -> trio.Event:
        """Set by :meth:`complete`."""
        return self._completed

    def on_complete(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` synchronously on completion (at once if already complete)."""
        if self.done:
            callback()
        else:
            self._on_complete.append(callback)

    def complete(self, result: ResultT | Exception) -> None:
        """Finish the task with ``result`` (or make the await raise it). Synchronous.

        The task's current turn gets no further LLM step. Raises ConfigurationError
        if the task already completed.
        """
        if self.done:
            raise ConfigurationError("AgentTask.complete() was already called")
        if isinstance(result, Exception):
            self._error = result
        else:
            self._result = result
        self._completed.set()
        callbacks, self._on_complete = self._on_complete, []
        for callback in callbacks:
            callback()

    def result(self) -> ResultT:
        """The result given to :meth:`complete`; raises what was given instead."""
        if not self.done:
            raise ConfigurationError("the AgentTask has not completed")
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # ResultT may include None

    async def run(self) -> ResultT:
        """Run the task in the current session and return its result.

        Must be awaited from a tool or a hook of the running session. Checkpoints
        throughout. Raises ConfigurationError outside a session or when awaited
        twice, AgentTaskCancelledError when the session closes first, or the
        exception given to :meth:`complete`.
        """
        activity = CURRENT_ACTIVITY.get()
        if activity is None:
            raise ConfigurationError(
                "await an AgentTask from a tool or a hook of a running AgentSession"
            )
        if self._started:
            raise ConfigurationError("an AgentTask can be awaited once")
        self._started = True
        await activity.run_agent_task(self, nested=IN_TURN.get())
        return self.result()

    def __await__(self) -> Generator[Any, None, ResultT]:
        return self.run().__await__()
