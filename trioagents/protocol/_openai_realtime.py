"""OpenAI Realtime (speech to speech over a websocket), the client side, sans-I/O.

The client opens ``wss://api.openai.com/v1/realtime?model=<model>`` with
``Authorization: Bearer <key>`` (the beta API also wants ``OpenAI-Beta:
realtime=v1``); a refused upgrade is an HTTP status. Every message either way is
one JSON text frame with a ``type``. The server speaks first (``session.created``);
the client configures the session (``session.update``), streams user audio
(``input_audio_buffer.append``: base64 PCM16, 24 kHz mono), adds conversation items
(``conversation.item.create``), asks for replies (``response.create``), stops one
(``response.cancel``) and cuts the assistant's audio item to what the user heard
(``conversation.item.truncate``, ``audio_end_ms``). Server events are parsed by
:mod:`._openai_realtime_events`.

Turn detection: ``server_vad``/``semantic_vad`` are always sent with
``create_response`` and ``interrupt_response`` false: the server reports speech
and commits the user's audio, the *client* asks for every response and cancels it
on barge-in, so each response belongs to a turn the client opened (see
``docs/design.md``). ``None`` turns the server's detection off; the client then
commits the buffer itself.

:class:`OpenAIRealtimeProtocol` is the client's state machine. Its state is the
connection's response slot (the API allows one active response per
conversation); the transitions are the table :data:`REALTIME_TRANSITIONS`
(a pair missing from it is a :class:`~trioagents.core.LocalProtocolError`):

==========  ====================  ===============  ===============  ===========
state       send response.create  response.created response.done    other sends
==========  ====================  ===============  ===============  ===========
CONNECTING  refused               (session.created -> IDLE)         refused
IDLE        -> REQUESTED          -> ACTIVE [1]_   stays IDLE       allowed
REQUESTED   refused               -> ACTIVE        -> IDLE          allowed
ACTIVE      refused               stays ACTIVE     -> IDLE          allowed
CLOSED      refused               stays CLOSED     stays CLOSED     refused
==========  ====================  ===============  ===============  ===========

.. [1] a response the server started on its own (another client's settings).

An ``error`` event caused by a ``response.create`` (matched by ``event_id``: every
client event carries one) returns REQUESTED to IDLE (``refused``).
``response.cancel`` is allowed in REQUESTED and ACTIVE only.

Rejected alternative: the ``openai`` SDK's realtime client (asyncio-only, and its
models would be one more parser we cannot fuzz).
"""

from __future__ import annotations

import base64
import enum
import itertools
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from ..core import LocalProtocolError, ToolChoice, ToolSpec
from ._openai_realtime_events import (
    RealtimeErrorReported,
    RealtimeEvent,
    RealtimeResponseCreated,
    RealtimeResponseDone,
    RealtimeSessionCreated,
)
from ._openai_realtime_options import (
    REALTIME_SAMPLE_RATE,
    OpenAIRealtimeOptions,
    RealtimeTurnDetection,
)
from ._openai_realtime_parse import parse_realtime_event

__all__ = ["REALTIME_TRANSITIONS", "OpenAIRealtimeProtocol", "RealtimeState"]

_MAX_ITEM_ID = 32
_REMEMBERED_EVENTS = 256


class RealtimeState(enum.Enum):
    CONNECTING = "connecting"  # waiting for session.created
    IDLE = "idle"  # no response in progress
    REQUESTED = "requested"  # response.create sent, response.created not yet seen
    ACTIVE = "active"
    CLOSED = "closed"


_S = RealtimeState
_OPEN = (_S.IDLE, _S.REQUESTED, _S.ACTIVE)
REALTIME_TRANSITIONS: dict[tuple[RealtimeState, str], RealtimeState] = {
    (_S.CONNECTING, "session.created"): _S.IDLE,
    (_S.IDLE, "response.create"): _S.REQUESTED,
    (_S.IDLE, "response.created"): _S.ACTIVE,  # a server-initiated response
    (_S.IDLE, "response.done"): _S.IDLE,
    (_S.REQUESTED, "response.created"): _S.ACTIVE,
    (_S.REQUESTED, "response.done"): _S.IDLE,
    (_S.REQUESTED, "refused"): _S.IDLE,
    (_S.REQUESTED, "response.cancel"): _S.REQUESTED,
    (_S.ACTIVE, "response.created"): _S.ACTIVE,
    (_S.ACTIVE, "response.done"): _S.IDLE,
    (_S.ACTIVE, "response.cancel"): _S.ACTIVE,
    **{(state, "send"): state for state in _OPEN},
    **{(state, "closed"): _S.CLOSED for state in RealtimeState},
    (_S.CLOSED, "response.created"): _S.CLOSED,
    (_S.CLOSED, "response.done"): _S.CLOSED,
}


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "parameters": spec.parameters,
    }


def _tool_choice(choice: ToolChoice) -> str | dict[str, str]:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "name": choice}


class OpenAIRealtimeProtocol:
    """One connection's client side: builds what to send, parses what arrives."""

    __slots__ = ("_ids", "_sent", "options", "response_id", "state")

    def __init__(self, options: OpenAIRealtimeOptions) -> None:
        self.options = options
        self.state = RealtimeState.CONNECTING
        self.response_id: str | None = None  # the active response, once created
        self._ids = itertools.count(1)
        self._sent: OrderedDict[str, str] = OrderedDict()  # event_id -> type

    # ------------------------------------------------------------ transitions
    def _step(self, action: str) -> None:
        target = REALTIME_TRANSITIONS.get((self.state, action))
        if target is None:
            raise LocalProtocolError(
                f"openai realtime: cannot {action} in state {self.state.value}"
            )
        self.state = target

    def _event(self, kind: str, action: str = "send", **fields: Any) -> str:
        self._step(action)
        event_id = f"evt_{next(self._ids)}"
        self._sent[event_id] = kind
        while len(self._sent) > _REMEMBERED_EVENTS:
            self._sent.popitem(last=False)
        return json.dumps({"type": kind, "event_id": event_id, **fields})

    def caused_by(self, error: RealtimeErrorReported) -> str | None:
        """The type of the client event ``error`` answers, if it names a recent one."""
        return self._sent.get(error.event_id or "")

    # ------------------------------------------------------------ client events
    def session_update(
        self,
        instructions: str,
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice = "auto",
        *,
        full: bool = False,
    ) -> str:
        """``session.update``; ``full`` also sends audio, voice and turn detection
        (once, after ``session.created``: the voice cannot change after audio)."""
        session: dict[str, Any] = {
            "instructions": instructions,
            "tools": [_tool(spec) for spec in tools],
            "tool_choice": _tool_choice(tool_choice),
        }
        ga = self.options.api == "ga"
        if ga:
            session["type"] = "realtime"
        if full:
            session.update(self._ga_setup() if ga else self._beta_setup())
        return self._event("session.update", session=session)

    def _transcription(self) -> dict[str, Any] | None:
        options = self.options
        if options.input_transcription_model is None:
            return None
        wire = {"model": options.input_transcription_model}
        if options.input_transcription_language:
            wire["language"] = options.input_transcription_language
        return wire

    def _ga_setup(self) -> dict[str, Any]:
        options = self.options
        pcm = {"type": "audio/pcm", "rate": REALTIME_SAMPLE_RATE}
        output: dict[str, Any] = {"format": pcm, "voice": options.voice}
        if options.speed is not None:
            output["speed"] = options.speed
        reduction = options.noise_reduction
        setup: dict[str, Any] = {
            "model": options.model,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": pcm,
                    "transcription": self._transcription(),
                    "turn_detection": _wire_turns(options.turn_detection),
                    "noise_reduction": None if reduction is None else {"type": reduction},
                },
                "output": output,
            },
        }
        if options.max_output_tokens is not None:
            setup["max_output_tokens"] = options.max_output_tokens
        return setup

    def _beta_setup(self) -> dict[str, Any]:
        options = self.options
        setup: dict[str, Any] = {
            "modalities": ["text", "audio"],
            "voice": options.voice,
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": self._transcription(),
            "turn_detection": _wire_turns(options.turn_detection),
        }
        if options.noise_reduction is not None:
            setup["input_audio_noise_reduction"] = {"type": options.noise_reduction}
        if options.temperature is not None:
            setup["temperature"] = options.temperature
        if options.max_output_tokens is not None:
            setup["max_response_output_tokens"] = options.max_output_tokens
        return setup

    def append_audio(self, pcm: bytes) -> str:
        """``input_audio_buffer.append`` of PCM16 mono at 24 kHz (whole samples)."""
        if len(pcm) % 2:
            raise LocalProtocolError("openai realtime: audio must hold whole 16-bit samples")
        return self._event("input_audio_buffer.append", audio=base64.b64encode(pcm).decode())

    def commit_audio(self) -> str:
        return self._event("input_audio_buffer.commit")

    def clear_audio(self) -> str:
        return self._event("input_audio_buffer.clear")

    def create_message(self, item_id: str, role: str, text: str) -> str:
        """A text message item (user, assistant or system), with our ``item_id``."""
        if role == "assistant":
            part = {"type": "output_text" if self.options.api == "ga" else "text", "text": text}
        elif role in ("user", "system"):
            part = {"type": "input_text", "text": text}
        else:
            raise LocalProtocolError(f"openai realtime: no message role {role!r}")
        item = {"id": _item_id(item_id), "type": "message", "role": role, "content": [part]}
        return self._event("conversation.item.create", item=item)

    def create_function_call(self, item_id: str, call_id: str, name: str, arguments: str) -> str:
        item = {
            "id": _item_id(item_id),
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        }
        return self._event("conversation.item.create", item=item)

    def create_function_call_output(self, item_id: str, call_id: str, output: str) -> str:
        item = {
            "id": _item_id(item_id),
            "type": "function_call_output",
            "call_id": call_id,
            "output": output,
        }
        return self._event("conversation.item.create", item=item)

    def truncate(self, item_id: str, audio_end_ms: int, content_index: int = 0) -> str:
        """Cut assistant item ``item_id``'s audio (and transcript) at ``audio_end_ms``."""
        if audio_end_ms < 0 or content_index < 0:
            raise LocalProtocolError("openai realtime: truncate needs audio_end_ms >= 0")
        return self._event(
            "conversation.item.truncate",
            item_id=item_id,
            content_index=content_index,
            audio_end_ms=int(audio_end_ms),
        )

    def delete_item(self, item_id: str) -> str:
        return self._event("conversation.item.delete", item_id=item_id)

    def create_response(
        self,
        *,
        instructions: str | None = None,
        tool_choice: ToolChoice | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """``response.create`` (IDLE -> REQUESTED); ``instructions`` replace the
        session's for this response only."""
        response: dict[str, Any] = {}
        if instructions is not None:
            response["instructions"] = instructions
        if tool_choice is not None:
            response["tool_choice"] = _tool_choice(tool_choice)
        if metadata:
            response["metadata"] = dict(metadata)
        return self._event("response.create", action="response.create", response=response)

    def cancel_response(self) -> str:
        """``response.cancel`` of the requested or active response."""
        fields = {"response_id": self.response_id} if self.response_id else {}
        return self._event("response.cancel", action="response.cancel", **fields)

    # ------------------------------------------------------------ server events
    def receive(self, message: str | bytes) -> RealtimeEvent:
        """Parse one server message and follow it; RemoteProtocolError if malformed."""
        event = parse_realtime_event(message)
        if isinstance(event, RealtimeSessionCreated) and self.state is _S.CONNECTING:
            self._step("session.created")
        elif isinstance(event, RealtimeResponseCreated) and self.state is not _S.CONNECTING:
            self._step("response.created")
            self.response_id = event.response_id
        elif isinstance(event, RealtimeResponseDone) and self.state is not _S.CONNECTING:
            self._step("response.done")
            self.response_id = None
        elif (
            isinstance(event, RealtimeErrorReported)
            and self.state is _S.REQUESTED
            and self.caused_by(event) == "response.create"
        ):
            self._step("refused")
        return event

    def connection_closed(self) -> None:
        self._step("closed")
        self.response_id = None


def _wire_turns(turns: RealtimeTurnDetection | None) -> dict[str, Any] | None:
    """The server detects; the client asks for (and cancels) every reply itself."""
    if turns is None:
        return None
    return {**turns.wire(), "create_response": False, "interrupt_response": False}


def _item_id(item_id: str) -> str:
    if not item_id or len(item_id) > _MAX_ITEM_ID:
        raise LocalProtocolError("openai realtime: item ids are 1..32 characters")
    return item_id
