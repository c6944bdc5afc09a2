"""Running an activity on a realtime model: the one dispatch point.

``AgentSession`` runs its activity through :func:`run_activity`. With a chat LLM
that is the activity itself. With a :class:`~trioagents.core.RealtimeLLM`
(``AgentSession(llm=RealtimeModel(...))``), around the same activity:

* a :class:`~._realtime_link.RealtimeLink` holds the model's connection for the
  session (and reconnects);
* the activity's turns run as realtime turns (``ReplyEnv.realtime``,
  ``_realtime_turn.py``), ``say()`` text excepted (TTS, when there is one);
* listening (``_realtime_listening.py``): with the model's turn detection, the
  user's audio goes to the model only and its events drive the turns; without
  it, the activity's own listening (VAD, STT, turn detector) gets the audio too.

Scope tree::

    run_activity nursery
    ├── link.serve            the connection (reconnects after failures)
    ├── listening.listen      the model's input events
    ├── listening.pump        user audio -> the model
    └── activity.run          scheduler, turns (realtime), own listening (no server VAD)

Everything here ends with the session's internal scope, like the activity.
Preemptive generation is off with a realtime model (LiveKit's rule: nothing to
start before the turn ends).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import trio

from ..core import ConfigurationError, RealtimeLLM
from ._agent_providers import resolve_providers
from ._audio_io import AudioInput
from ._realtime_link import RealtimeLink
from ._realtime_listening import RealtimeListening, TeeAudioInput, tee_channel
from ._realtime_turn import RealtimeTurns

if TYPE_CHECKING:
    from ._activity import AgentActivity

__all__ = ["run_activity"]


def realtime_model(activity: AgentActivity) -> RealtimeLLM | None:
    llm = resolve_providers(activity.agent, activity.session).llm
    return llm if isinstance(llm, RealtimeLLM) else None


async def run_activity(
    activity: AgentActivity,
    audio_input: AudioInput | None,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``activity`` until cancelled (see the module docs)."""
    model = realtime_model(activity)
    if model is None:
        await activity.run(audio_input, task_status=task_status)
        return
    session = activity.session
    if not model.server_turn_detection and audio_input is not None and session.stt is None:
        raise ConfigurationError(
            "a RealtimeModel without turn detection (turn_detection=None) needs the "
            "session's own: pass AgentSession(stt=..., vad=...), or keep the model's"
        )
    session.options = dataclasses.replace(session.options, preemptive_generation=False)
    link = RealtimeLink(activity, model)
    listening = RealtimeListening(activity, link)
    activity.env = dataclasses.replace(activity.env, realtime=RealtimeTurns(link))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.serve)
        nursery.start_soon(listening.listen)
        own_input: AudioInput | None = None
        if audio_input is not None and model.server_turn_detection:
            await nursery.start(listening.pump, audio_input)
        elif audio_input is not None:
            send, frames = tee_channel()
            own_input = TeeAudioInput(audio_input, send)
            nursery.start_soon(listening.pump, frames)
        await activity.run(own_input, task_status=task_status)
