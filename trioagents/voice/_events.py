"""Session events: frozen, slotted, named in the past tense.

Events are published over channels (:meth:`AgentSession.subscribe`), never through
callbacks, so a slow listener cannot run inside the pipeline's cancel scopes
(``session.on()`` listeners are called from a dispatcher task reading such a
channel; see ``_listeners.py``). Each event carries ``created_at`` from Trio's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from ..core import (
    ChatItem,
    ErrorAction,
    ErrorSource,
    FunctionCall,
    FunctionCallOutput,
    ProviderError,
)
from ._usage import SessionUsage

__all__ = [
    "AgentHandedOff",
    "AgentState",
    "AgentStateChanged",
    "ConversationItemAdded",
    "ErrorOccurred",
    "FalseInterruptionDetected",
    "FunctionToolsExecuted",
    "HandoffKind",
    "SessionClosed",
    "SessionEvent",
    "SessionUsageUpdated",
    "SpeechCreated",
    "SpeechSource",
    "TurnMetricsCollected",
    "UserInputTranscribed",
    "UserState",
    "UserStateChanged",
]

AgentState: TypeAlias = Literal["initializing", "listening", "thinking", "speaking"]
UserState: TypeAlias = Literal["speaking", "listening", "away"]
SpeechSource: TypeAlias = Literal["say", "generate_reply", "user_turn"]
HandoffKind: TypeAlias = Literal["handoff", "task_started", "task_completed"]


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    old_state: AgentState
    new_state: AgentState
    created_at: float


@dataclass(frozen=True, slots=True)
class UserStateChanged:
    old_state: UserState
    new_state: UserState
    created_at: float


@dataclass(frozen=True, slots=True)
class UserInputTranscribed:
    transcript: str
    is_final: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class ConversationItemAdded:
    item: ChatItem
    created_at: float


@dataclass(frozen=True, slots=True)
class SpeechCreated:
    speech_id: str
    source: SpeechSource
    user_initiated: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class FalseInterruptionDetected:
    """A paused reply was resumed (``resumed=False``: the sink could not resume it)."""

    speech_id: str
    resumed: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class TurnMetricsCollected:
    """Per-reply latencies in seconds; ``None`` when the step did not happen.

    ``end_of_utterance_delay``: user's last speech → turn committed.
    ``llm_ttft``: LLM request → first text.  ``tts_ttfb``: first TTS request → first
    frame.  ``e2e_latency``: user's last speech → first agent frame at the sink.
    """

    speech_id: str
    end_of_utterance_delay: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    e2e_latency: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class ErrorOccurred:
    """A provider failed; ``action`` is what the session did about it."""

    source: ErrorSource
    error: ProviderError
    action: ErrorAction
    consecutive: int
    created_at: float


@dataclass(frozen=True, slots=True)
class FunctionToolsExecuted:
    """The tool calls of one LLM step ran; their calls and outputs, in call order.

    LiveKit's ``function_tools_executed``. Published once per step, when the calls
    and outputs are committed to the chat context -- also when the step was
    interrupted (``interrupted=True``: the outputs say which tools were cancelled).
    ``reply_required``: the outputs asked the agent to speak again (False after a
    handoff, an interruption, or when every tool declined a reply).
    """

    speech_id: str
    function_calls: tuple[FunctionCall, ...]
    function_call_outputs: tuple[FunctionCallOutput, ...]
    interrupted: bool
    reply_required: bool
    created_at: float

    def zipped(self) -> list[tuple[FunctionCall, FunctionCallOutput | None]]:
        """Each call with its output (matched by ``call_id``; None if it has none)."""
        outputs = {output.call_id: output for output in self.function_call_outputs}
        return [(call, outputs.get(call.call_id)) for call in self.function_calls]


@dataclass(frozen=True, slots=True)
class AgentHandedOff:
    """The active agent changed: a handoff, or an AgentTask started or completed.

    Published at the instant of the switch (after the old agent's ``on_exit``,
    before the new agent's ``on_enter``), right after the
    :class:`~trioagents.core.AgentHandoff` item; names are class names, as in the
    workflow and in those items. ``agent`` is the new agent object (None in an
    event built by hand); it takes no part in equality.
    """

    old_agent: str
    new_agent: str
    kind: HandoffKind
    created_at: float
    agent: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """``reason``: ``user_initiated``, ``error``, ``participant_disconnected``, ..."""

    reason: str
    error: ProviderError | None
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionUsageUpdated:
    """The session's provider usage after an agent turn that changed it."""

    usage: SessionUsage
    created_at: float


SessionEvent: TypeAlias = (
    AgentStateChanged
    | UserStateChanged
    | UserInputTranscribed
    | ConversationItemAdded
    | SpeechCreated
    | FalseInterruptionDetected
    | TurnMetricsCollected
    | ErrorOccurred
    | FunctionToolsExecuted
    | AgentHandedOff
    | SessionClosed
    | SessionUsageUpdated
)
