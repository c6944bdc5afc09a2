"""Room IO: the voice session wired to a LiveKit room.

* :class:`RoomAudioOutput` implements :class:`AudioOutput` over an rtc
  :class:`~trioagents.rtc.AudioSource` (a real-time paced publisher with a ~200 ms
  queue). ``capture_frame`` and ``clear_buffer`` are synchronous, so an utterance's
  revocation drops queued speech with no checkpoint in between. A segment's
  playback position is what the track actually consumed between the segment's
  first frame and its end (or the clear), i.e. pushed − discarded − still queued.
* :func:`open_room_audio_input` yields an :class:`AudioInput`: frames of the
  linked participant's first audio track (a given identity, or the first
  standard/SIP/connector participant to publish audio). It ends when that track
  goes away.
* :func:`open_room_io` links the session to one participant (the given identity,
  or the first standard/SIP/connector participant to join; a text-only participant
  links too) and waits for nothing else. Its ``audio_input`` is a
  :class:`LinkedAudioInput`: the participant's audio, whichever track carries it,
  re-subscribed when they republish (a reconnect gives the track a new sid), so
  listening does not stop for good when one track ends. It publishes the agent's
  track and forwards session events to the room for the duration of its block:
  ``AgentStateChanged`` sets the ``lk.agent.state`` attribute; user transcripts
  (interim and final) and assistant messages are sent as ``lk.transcription`` text
  streams with ``lk.segment_id`` and ``lk.transcription_final``. The agent's own
  transcript goes through :class:`RoomTextOutput` (``io.text_output``; pass it to
  ``session.start``): word by word as the audio plays, the final update exactly
  what was heard. If the session was started without it, each assistant message
  is sent once when it is committed (already truncated to what was heard).

* ``close_on_disconnect`` (default on, as in LiveKit): the session is closed with
  reason ``participant_disconnected`` when the linked participant hangs up (leaves
  on purpose, is removed, or the room is deleted); a participant whose connection
  merely dropped may come back, and the session waits for it.

* Text input (``text_input``, on by default, as in LiveKit's RoomIO): each
  ``lk.chat`` text stream from the linked participant, in the order they were
  sent, becomes a user turn: the current speech is interrupted (unless it does not
  allow interruptions: the reply then waits its turn) and a reply is generated for
  the text. Pass a :data:`TextInputCallback` to do something else with the lines,
  or ``False`` to leave the ``lk.chat`` topic to your own handler (a topic has one
  reader: registering both raises ``ValueError``).

The forwarder runs in the block's nursery; the room's own supervisor keeps the
conversation going across reconnects (the session never sees the drop beyond a
short gap of input audio). An error leaving the block (the body's, a failed
assertion included) is raised as itself when it is the only one, not as an
exception group of one; several concurrent errors stay a group.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeGuard

import trio
from livekit.protocol import models

from ..core import (
    AudioFrame,
    ChatMessage,
    TrioAgentsError,
    async_with_only,
    collapse_single_error,
)
from ..rtc import AudioSource, AudioStream, Room, RoomClosedError, TextStreamReader
from ..voice import (
    AgentStateChanged,
    ConversationItemAdded,
    InterruptionNotAllowedError,
    PlaybackFinished,
    UserInputTranscribed,
)
from ._linked_audio import LinkedAudioInput, follow_participant_audio
from ._text_output import RoomTextOutput

if TYPE_CHECKING:
    from ..voice import Agent, AgentSession, Workflow

__all__ = [
    "RoomAudioOutput",
    "RoomIO",
    "TextInputCallback",
    "TextInputEvent",
    "default_text_input",
    "open_room_audio_input",
    "open_room_io",
    "start_in_room",
]

_AUDIO_HANDOFF = 10  # frames between the audio follower task and the session
# departures that end the call (LiveKit's RoomIO closes the session on these)
_HANG_UP_REASONS = frozenset(
    {
        models.DisconnectReason.CLIENT_INITIATED,
        models.DisconnectReason.ROOM_DELETED,
        models.DisconnectReason.USER_REJECTED,
    }
)
TOPIC_TRANSCRIPTION = "lk.transcription"
TOPIC_CHAT = "lk.chat"
STATE_ATTRIBUTE = "lk.agent.state"
_LINKABLE_KINDS = (
    models.ParticipantInfo.STANDARD,
    models.ParticipantInfo.SIP,
    models.ParticipantInfo.CONNECTOR,
)


class RoomAudioOutput:
    """:class:`AudioOutput` publishing through an rtc :class:`AudioSource`."""

    def __init__(self, source: AudioSource) -> None:
        self._source = source
        self._segment_start: float | None = None
        self._flushed = False
        self._interrupted = False

    @property
    def sample_rate(self) -> int:
        return self._source.sample_rate

    @property
    def can_pause(self) -> bool:
        return True

    async def wait_for_capacity(self) -> None:
        await self._source.wait_for_capacity()

    def capture_frame(self, frame: AudioFrame) -> None:
        if self._segment_start is None:
            self._segment_start = self._source.statistics().played
            self._flushed = self._interrupted = False
        self._source.push_frame(frame)

    def flush(self) -> None:
        self._source.flush()
        self._flushed = True

    def clear_buffer(self) -> None:
        self._source.clear_queue()
        if self._segment_start is not None:
            self._interrupted = True

    def pause(self) -> None:
        self._source.set_paused(True)

    def resume(self) -> None:
        self._source.set_paused(False)

    async def wait_for_playout(self) -> PlaybackFinished:
        """Return when the segment played (after flush) or was cleared (checkpoints)."""
        await trio.lowlevel.checkpoint()
        while True:
            if self._segment_start is None:
                return PlaybackFinished(0.0, interrupted=False)
            done = self._flushed and self._source.queued_duration == 0
            if self._interrupted or done:
                position = self._source.statistics().played - self._segment_start
                interrupted = self._interrupted
                self._segment_start = None
                return PlaybackFinished(max(0.0, position), interrupted=interrupted)
            await self._source.wait_for_progress()


def _linkable(room: Room, identity: str | None) -> str | None:
    """The identity to link: ``identity`` once present, else the first linkable kind."""
    for participant in room.remote_participants.values():
        if identity is not None and participant.identity == identity:
            return identity
        if identity is None and participant.kind in _LINKABLE_KINDS:
            return participant.identity
    return None


async def _wait_linkable(room: Room, identity: str | None) -> str:
    """Wait for the participant to link; RoomClosedError if the room ends first."""
    while (linked := _linkable(room, identity)) is None:
        if room.closed:
            raise RoomClosedError("the room closed before a participant to link joined")
        await room.wait_state_changed()
    return linked


def _linked_track(room: Room, identity: str | None) -> tuple[str, str] | None:
    for participant in room.remote_participants.values():
        if identity is not None and participant.identity != identity:
            continue
        if identity is None and participant.kind not in _LINKABLE_KINDS:
            continue
        for publication in participant.tracks.values():
            if publication.kind == "audio":
                return participant.identity, publication.sid
    return None


@asynccontextmanager
async def open_room_audio_input(
    room: Room,
    *,
    participant_identity: str | None = None,
    sample_rate: int = 24000,
    num_channels: int = 1,
) -> AsyncIterator[AudioStream]:
    """Wait for the linked participant's audio track and yield its frames.

    Waits (no timeout of its own) until a matching participant publishes audio.
    """
    while (linked := _linked_track(room, participant_identity)) is None:
        if room.closed:
            raise RoomClosedError("the room closed before the participant published audio")
        await room.wait_state_changed()
    async with room.subscribe_audio(
        linked[1], sample_rate=sample_rate, num_channels=num_channels
    ) as stream:
        yield stream


@dataclass(slots=True)
class RoomIO:
    """What :func:`open_room_io` yields: pass the three outputs to ``AgentSession.start``."""

    audio_input: LinkedAudioInput
    audio_output: RoomAudioOutput
    linked_identity: str
    source: AudioSource
    text_output: RoomTextOutput


@dataclass(frozen=True, slots=True)
class TextInputEvent:
    """One ``lk.chat`` line from the linked participant."""

    text: str
    participant_identity: str


TextInputCallback = Callable[["AgentSession[Any]", TextInputEvent], Awaitable[None]]
"""Called for each line, one at a time, in the order the lines were sent."""


async def default_text_input(session: AgentSession[Any], event: TextInputEvent) -> None:
    """LiveKit's default: interrupt the agent, then reply to the line."""
    await trio.lowlevel.checkpoint()
    with contextlib.suppress(InterruptionNotAllowedError):  # the reply queues behind it
        session.interrupt()
    session.generate_reply(user_input=event.text)


@async_with_only("async with start_in_room(session, agent, room) as io:")
@asynccontextmanager
async def start_in_room(
    session: AgentSession[Any],
    agent: Agent,
    room: Room,
    *,
    participant_identity: str | None = None,
    workflow: Workflow | None = None,
    run_on_enter: bool = True,
    text_input: bool | TextInputCallback = True,
    close_on_disconnect: bool = True,
) -> AsyncIterator[RoomIO]:
    """``session.start(agent)`` wired to ``room``: LiveKit's ``session.start(agent, room=...)``.

    :func:`open_room_io` plus ``session.start`` with the room's input and outputs:
    the participant's audio when the session has an STT, the agent's track when it
    has a TTS (at the TTS's sample rate), the transcript always. The block lasts as
    long as the session: it ends when the session closes (by default when the linked
    participant hangs up) or when the caller leaves it.
    """
    providers = session.providers_for(agent)  # Agent(stt=, tts=) count too
    rate = providers.tts.sample_rate if providers.tts is not None else 24000
    async with (
        open_room_io(
            room,
            session,
            participant_identity=participant_identity,
            output_sample_rate=rate,
            text_input=text_input,
            close_on_disconnect=close_on_disconnect,
        ) as io,
        session.start(
            agent,
            audio_input=io.audio_input if providers.stt is not None else None,
            audio_output=io.audio_output if providers.tts is not None else None,
            text_output=io.text_output,
            workflow=workflow,
            run_on_enter=run_on_enter,
        ),
    ):
        yield io


@async_with_only("async with open_room_io(room, session) as io:")
@asynccontextmanager
async def open_room_io(
    room: Room,
    session: AgentSession[Any],
    *,
    participant_identity: str | None = None,
    input_sample_rate: int = 24000,
    output_sample_rate: int = 24000,
    track_name: str = "roomio_audio",
    text_input: bool | TextInputCallback = True,
    close_on_disconnect: bool = True,
) -> AsyncIterator[RoomIO]:
    """Link ``session`` to ``room`` for the block (see the module docstring)."""
    events = session.subscribe()
    with collapse_single_error():  # the body's own error comes out as itself
        async with (
            _chat_lines(room, enabled=text_input is not False) as lines,
            room.publish_audio(sample_rate=output_sample_rate, name=track_name) as source,
            trio.open_nursery() as nursery,
        ):
            identity = await _wait_linkable(room, participant_identity)
            send, frames = trio.open_memory_channel[AudioFrame](_AUDIO_HANDOFF)
            audio_input = LinkedAudioInput(identity, frames)
            nursery.start_soon(
                partial(
                    follow_participant_audio,
                    room,
                    audio_input,
                    send,
                    sample_rate=input_sample_rate,
                    num_channels=1,
                )
            )
            text_output = RoomTextOutput()
            forwarder = _SessionForwarder(
                room, identity, lambda: audio_input.track_sid, text_output
            )
            nursery.start_soon(forwarder.run, events)
            nursery.start_soon(text_output.serve, room, lambda: source.track_sid)
            if close_on_disconnect:
                nursery.start_soon(_close_when_gone, room, session, identity)
            if lines is not None:
                callback = default_text_input if text_input is True else text_input
                assert callback is not False
                nursery.start_soon(_serve_text_input, lines, session, identity, callback)
            try:
                yield RoomIO(audio_input, RoomAudioOutput(source), identity, source, text_output)
            finally:
                nursery.cancel_scope.cancel()


async def _close_when_gone(room: Room, session: AgentSession[Any], identity: str) -> None:
    """Close the session when the linked participant hangs up (not when it drops:
    a client that lost its connection may come back)."""
    while not room.closed:
        if room.departure_reason(identity) in _HANG_UP_REASONS:
            session.close("participant_disconnected")
            return
        await room.wait_state_changed()


@asynccontextmanager
async def _chat_lines(
    room: Room, *, enabled: bool
) -> AsyncIterator[trio.MemoryReceiveChannel[TextStreamReader] | None]:
    """``lk.chat`` read as a queue (registered before any task starts: a topic that
    already has a handler raises ``ValueError`` here, not inside a nursery)."""
    if not enabled:
        yield None
        return
    async with room.text_streams(TOPIC_CHAT) as lines:
        yield lines


async def _serve_text_input(
    lines: trio.MemoryReceiveChannel[TextStreamReader],
    session: AgentSession[Any],
    identity: str,
    callback: TextInputCallback,
) -> None:
    """Lines of the linked participant, in order; others' lines and aborted streams
    are read and dropped (a half-sent line is not a turn)."""
    async for reader in lines:
        text = await reader.read_all()
        sender = reader.info.sender_identity
        if sender != identity or reader.aborted or not text.strip():
            continue
        await callback(session, TextInputEvent(text, sender))


class _SessionForwarder:
    """Session events → room attributes and transcription streams (one task)."""

    def __init__(
        self,
        room: Room,
        linked_identity: str,
        track_sid: Callable[[], str],
        text_output: RoomTextOutput,
    ) -> None:
        self._room = room
        self._text_output = text_output
        self._linked = linked_identity
        self._track_sid = track_sid
        self._user_segment = 0

    async def run(self, events: trio.MemoryReceiveChannel[Any]) -> None:
        async for event in events:
            with contextlib.suppress(TrioAgentsError):  # a refused update must not end the call
                await self._forward(event)

    async def _forward(self, event: object) -> None:
        if isinstance(event, AgentStateChanged):
            await self._room.set_attributes({STATE_ATTRIBUTE: event.new_state})
        elif isinstance(event, UserInputTranscribed):
            segment = f"SG_user_{self._user_segment}"
            if event.is_final:
                self._user_segment += 1
            final, track_sid = event.is_final, self._track_sid()
            # on the user's behalf, as livekit-agents does: clients show it as theirs
            await self._transcript(event.transcript, segment, final, track_sid, self._linked)
        elif isinstance(event, ConversationItemAdded):
            item = event.item
            # with a text output attached the paced stream already carried the text
            if _is_assistant_text(item) and not self._text_output.used:
                await self._transcript(item.content, item.id, True, "")

    async def _transcript(
        self, text: str, segment: str, final: bool, track_sid: str, sender: str = ""
    ) -> None:
        attributes = {
            "lk.segment_id": segment,
            "lk.transcription_final": "true" if final else "false",
            "lk.transcribed_track_id": track_sid,
        }
        await self._room.send_text(
            text, topic=TOPIC_TRANSCRIPTION, attributes=attributes, sender_identity=sender
        )


def _is_assistant_text(item: object) -> TypeGuard[ChatMessage]:
    return isinstance(item, ChatMessage) and item.role == "assistant" and bool(item.content)
