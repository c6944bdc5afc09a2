"""Running an AgentTask inside an activity: switch in, wait or serve, merge back.

Kept apart from :mod:`._agent_task` (the user-facing class) and from the activity
(which only delegates here) so each stays one concept. Both switches mirror a
handoff (:mod:`._transitions`): plan, then swap with no checkpoint in between.
The switcher is busy during each switch and from ``complete()`` until control is
back with the caller, so no speech of the task starts after it completed; while
the task converses it is not busy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from ..core import AgentHandoff, ChatContext, ChatItem
from ._handoff import KeepAll
from ._transitions import CALLER_AGENT, IN_ENTER

if TYPE_CHECKING:
    from ._activity import AgentActivity
    from ._agent import Agent
    from ._agent_task import AgentTask

__all__ = ["run_agent_task"]


async def run_agent_task(activity: AgentActivity, task: AgentTask[Any], *, nested: bool) -> None:
    """Make ``task`` active until it completes, then return control to its caller.

    ``nested``: awaited from inside a turn (a tool), so this task serves the speech
    queue itself. Tasks awaited by parallel tools of one step take turns: each
    starts once its caller is the active agent again. Session close cancels the
    waits: AgentTaskCancelledError is raised and nothing is switched back. If
    planning the entry fails, the task completes at once with a RuntimeError (the
    await raises it).
    """
    from ._agent_task import AgentTaskCancelledError

    parent = CALLER_AGENT.get() or activity.agent
    slot = activity.switcher.task_slot(parent)  # sibling tasks take turns
    with activity.switcher.closing_scope() as waiting:
        await slot.acquire()
    if waiting.cancelled_caught:
        raise AgentTaskCancelledError("the session closed before the AgentTask started")
    try:
        await _run(activity, task, parent, nested=nested)
    finally:
        slot.release()


async def _run(
    activity: AgentActivity, task: AgentTask[Any], parent: Agent, *, nested: bool
) -> None:
    from ._agent_task import AgentTaskCancelledError

    switcher = activity.switcher
    switcher.hold()
    try:
        plan = await switcher.plan(parent, task, parent.chat_ctx, task.context_policy or KeepAll())
        if plan is None:
            task.complete(RuntimeError("the AgentTask could not be started"))
            return
        items = [*plan.handoff.chat_ctx, *parent.chat_ctx.items[len(plan.source) :]]
        switcher.swap(task, items, plan.handoff.item, "task_started")
        entry = len(task.chat_ctx)
        task.on_complete(switcher.hold)  # released once control is back with the caller
        switcher.start_entering(task)
    finally:
        switcher.release()
    with switcher.closing_scope() as scope:
        await _wait(activity, task, nested=nested)
    if scope.cancelled_caught:
        raise AgentTaskCancelledError("the session closed before the AgentTask completed")
    try:
        await _return_to(activity, task, parent, entry, nested=nested)
    finally:
        switcher.release()


async def _wait(activity: AgentActivity, task: AgentTask[Any], *, nested: bool) -> None:
    if nested:
        await activity.serve_until(task.completion)
        return
    entering = IN_ENTER.get()
    if entering:
        activity.switcher.entering -= 1  # a hook waiting for its task is not busy
        activity.notify()
    try:
        await task.completion.wait()
    finally:
        if entering:
            activity.switcher.entering += 1


async def _return_to(
    activity: AgentActivity, task: AgentTask[Any], parent: Agent, entry: int, *, nested: bool
) -> None:
    """Merge the task's conversation into ``parent`` through ``task.merge_policy``."""
    switcher = activity.switcher
    if not nested:
        await activity.wait_no_speech()  # the task's last turn finishes first
    new_items = ChatContext(task.chat_ctx.items[entry:])
    plan = await switcher.plan(task, parent, new_items, task.merge_policy)
    await switcher.exit(task)
    # ---- no checkpoint from here ----
    late = task.chat_ctx.items[entry + len(new_items) :]
    if plan is None:  # merging failed (logged): the caller keeps only its own context
        item = AgentHandoff(task.name, parent.name, created_at=trio.current_time())
        merged: list[ChatItem] = []
    else:
        item, merged = plan.handoff.item, list(plan.handoff.chat_ctx)
    switcher.swap(parent, [*merged, *late], item, "task_completed")
