"""The client side of one OpenAI realtime transcription session, sans-I/O.

:class:`RealtimeTranscriptionProtocol` builds what to send and reads what arrives
(:mod:`._realtime_transcription` holds the wire format). Its states and the steps
each allows are the table :data:`TRANSCRIPTION_TRANSITIONS`:

===========  ===============================  =============  =========================
state        session.update / append /        end (the       socket closed
             commit / clear                   closing
                                              commit)
===========  ===============================  =============  =========================
STREAMING    allowed                          -> ENDING      -> CLOSED (early)
ENDING       LocalProtocolError               LocalProtoc.   -> CLOSED (expected once
                                                             nothing is owed)
CLOSED       LocalProtocolError               LocalProtoc.   stays CLOSED
===========  ===============================  =============  =========================

What it keeps, and why:

* **Answers owed.** ``session.update`` is owed ``session.updated``, a commit is
  owed ``committed`` (or the ``input_audio_buffer_commit_empty`` error: nothing to
  commit is an answer too), a clear ``cleared``, and every committed item its
  transcript. :attr:`~RealtimeTranscriptionProtocol.owes_answer` is what a stall
  clock may wait on: the server sends nothing for audio alone, so "no message for
  a while" means nothing unless an answer is owed.
* **The end is a barrier.** ``end_input`` always sends one last commit, even under
  server VAD: the server answers it after every append before it, so once it is
  answered every item the server's VAD committed is known, and the session is
  :attr:`~RealtimeTranscriptionProtocol.finished` when their transcripts are in.
  Without it a client reading behind the server could stop before the last
  ``committed`` arrived, or lose an utterance the user was still speaking.
  Rejected: deciding from the VAD state the client has read so far (stale by a
  round trip), and a no-op ``session.update`` as the barrier (its effect on a
  running VAD is not documented).
* **Items in audio order.** Completions of different items can arrive out of
  order; items are ordered as committed (after their ``previous_item_id`` when it
  is pending) and a final is released only when every earlier item's is. Each
  :class:`TranscriptFinalized` carries ``audio_end``: where the item's audio ends in
  the session's audio (``speech_stopped.audio_end_ms`` for a VAD commit, the audio
  appended before it for the client's own commit), so a resuming client replays
  only what follows.
* **Bounded.** At most 256 items may await a transcript and an item's deltas may
  hold 64 Ki characters; beyond that the server is misbehaving
  (RemoteProtocolError).
"""

from __future__ import annotations

import enum
import json
from collections import deque
from collections.abc import Sized
from dataclasses import dataclass
from typing import TypeAlias

from ..core import LocalProtocolError, RemoteProtocolError
from ._realtime_transcription import (
    REALTIME_TRANSCRIPTION_SAMPLE_RATE,
    RealtimeTranscriptionOptions,
    TranscriptionAudioCleared,
    TranscriptionAudioCommitted,
    TranscriptionCompleted,
    TranscriptionDeltaReceived,
    TranscriptionErrorReported,
    TranscriptionEvent,
    TranscriptionSessionConfigured,
    TranscriptionSpeechStarted,
    TranscriptionSpeechStopped,
    append_message,
    parse_transcription_event,
    session_update_message,
)

__all__ = [
    "COMMIT_EMPTY",
    "TRANSCRIPTION_TRANSITIONS",
    "RealtimeTranscriptionProtocol",
    "TranscriptFinalized",
    "TranscriptUpdated",
    "TranscriptionClosed",
    "TranscriptionOutput",
    "TranscriptionState",
]

COMMIT_EMPTY = "input_audio_buffer_commit_empty"
"""The error code answering a commit of under 100 ms of audio (nothing committed)."""
_MAX_ITEMS = 256
_MAX_TEXT = 64 * 1024
_BYTES_PER_SECOND = 2 * REALTIME_TRANSCRIPTION_SAMPLE_RATE


class TranscriptionState(enum.Enum):
    STREAMING = "streaming"
    ENDING = "ending"  # the closing commit sent: waiting for what is owed
    CLOSED = "closed"


# (state, step) -> next state; steps missing from the table are LocalProtocolErrors
TRANSCRIPTION_TRANSITIONS: dict[tuple[TranscriptionState, str], TranscriptionState] = {
    (TranscriptionState.STREAMING, "session.update"): TranscriptionState.STREAMING,
    (TranscriptionState.STREAMING, "append"): TranscriptionState.STREAMING,
    (TranscriptionState.STREAMING, "commit"): TranscriptionState.STREAMING,
    (TranscriptionState.STREAMING, "clear"): TranscriptionState.STREAMING,
    (TranscriptionState.STREAMING, "end"): TranscriptionState.ENDING,
    (TranscriptionState.STREAMING, "closed"): TranscriptionState.CLOSED,
    (TranscriptionState.ENDING, "closed"): TranscriptionState.CLOSED,
    (TranscriptionState.CLOSED, "closed"): TranscriptionState.CLOSED,
}


@dataclass(frozen=True, slots=True)
class TranscriptUpdated:
    """An item's transcript so far (its deltas joined): an interim result."""

    item_id: str
    text: str


@dataclass(frozen=True, slots=True)
class TranscriptFinalized:
    """An item's final transcript, released in audio order; ``audio_end`` in seconds
    of the session's audio (None: unknown, the server never said)."""

    item_id: str
    transcript: str
    audio_end: float | None


@dataclass(frozen=True, slots=True)
class TranscriptionClosed:
    """The socket closed; ``expected`` once the session was finished."""

    expected: bool
    code: int | None
    reason: str | None


TranscriptionOutput: TypeAlias = TranscriptionEvent | TranscriptUpdated | TranscriptFinalized


class RealtimeTranscriptionProtocol:
    """One session's client state machine (see the module docs)."""

    def __init__(self, options: RealtimeTranscriptionOptions) -> None:
        self.options = options
        self.state = TranscriptionState.STREAMING
        self.speaking = False  # the server's VAD reports speech in progress
        self._appended = 0  # bytes of PCM appended
        self._committed_to = 0  # bytes appended when the client last committed
        self._updates_owed = 0
        self._clears_owed = 0
        self._commits_owed: deque[float] = deque()  # audio seconds at each commit
        self._stopped_at: dict[str, float] = {}  # item -> speech_stopped audio_end
        self._order: list[str] = []  # committed items awaiting release, in audio order
        self._ends: dict[str, float | None] = {}
        self._texts: dict[str, str] = {}
        self._done: dict[str, str] = {}
        self._last_end: float | None = None

    # ------------------------------------------------------------ sending
    def _target(self, action: str) -> TranscriptionState:
        target = TRANSCRIPTION_TRANSITIONS.get((self.state, action))
        if target is None:
            raise LocalProtocolError(
                f"realtime transcription: cannot {action} in state {self.state.value}"
            )
        return target

    def _step(self, action: str) -> None:
        self.state = self._target(action)

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio appended so far."""
        return self._appended / _BYTES_PER_SECOND

    def session_update(self, language: str | None = None) -> str:
        """The session's configuration (owed ``session.updated``)."""
        self._step("session.update")
        self._updates_owed += 1
        return json.dumps(session_update_message(self.options, language))

    def append(self, pcm: bytes) -> str:
        """One ``input_audio_buffer.append`` of mono PCM16 at 24 kHz (whole samples)."""
        if len(pcm) % 2:
            raise LocalProtocolError("realtime transcription: audio must hold whole samples")
        self._step("append")
        self._appended += len(pcm)
        return append_message(pcm)

    def commit(self) -> str | None:
        """Commit the buffer (owed ``committed``); None if nothing was appended since
        the client's last commit (there is nothing the server could hold)."""
        self._target("commit")
        if self._appended == self._committed_to:
            return None
        return self._commit("commit")

    def _commit(self, action: str) -> str:
        self._step(action)
        self._committed_to = self._appended
        self._commits_owed.append(self.audio_seconds)
        return json.dumps({"type": "input_audio_buffer.commit"})

    def clear(self) -> str:
        """Drop the buffer (owed ``cleared``)."""
        self._step("clear")
        self._clears_owed += 1
        return json.dumps({"type": "input_audio_buffer.clear"})

    def end_input(self) -> str:
        """The closing commit, the barrier of the module docs; -> ENDING."""
        return self._commit("end")

    @property
    def owes_answer(self) -> bool:
        """Something sent, or an item committed, still waits for its answer."""
        return bool(self._updates_owed or self._clears_owed or self._commits_owed or self._order)

    @property
    def finished(self) -> bool:
        """Input ended and every answer came: nothing more will arrive."""
        return self.state is TranscriptionState.ENDING and not self.owes_answer

    def connection_closed(self, code: int | None, reason: str | None) -> TranscriptionClosed:
        """The socket is gone; say whether that was after the end."""
        expected = self.finished or self.state is TranscriptionState.CLOSED
        self._step("closed")
        return TranscriptionClosed(expected, code, reason)

    # ------------------------------------------------------------ receiving
    def receive(self, message: str | bytes) -> list[TranscriptionOutput]:
        """Parse one server message: the event, then what it makes known
        (:class:`TranscriptUpdated`, :class:`TranscriptFinalized` in audio order).
        RemoteProtocolError if malformed or past the bounds."""
        event = parse_transcription_event(message)
        out: list[TranscriptionOutput] = [event]
        if isinstance(event, TranscriptionSessionConfigured):
            if not event.created and self._updates_owed:
                self._updates_owed -= 1
        elif isinstance(event, TranscriptionSpeechStarted | TranscriptionSpeechStopped):
            self._speech(event)
        elif isinstance(event, TranscriptionAudioCommitted):
            self._committed(event.item_id, event.previous_item_id)
        elif isinstance(event, TranscriptionAudioCleared):
            self._clears_owed = max(0, self._clears_owed - 1)
        elif isinstance(event, TranscriptionDeltaReceived):
            out.append(self._delta(event))
        elif isinstance(event, TranscriptionCompleted):
            if event.item_id not in self._ends:
                self._committed(event.item_id, None)  # lenient: its commit went unseen
            self._done[event.item_id] = event.transcript
            out += self._release()
        elif (
            isinstance(event, TranscriptionErrorReported)
            and event.code == COMMIT_EMPTY
            and self._commits_owed
        ):
            self._commits_owed.popleft()
        return out

    def _speech(self, event: TranscriptionSpeechStarted | TranscriptionSpeechStopped) -> None:
        self.speaking = isinstance(event, TranscriptionSpeechStarted)
        if isinstance(event, TranscriptionSpeechStopped):
            self._stopped_at[event.item_id] = event.audio_end
            self._check_bounds(self._stopped_at)

    def _committed(self, item_id: str, previous: str | None) -> None:
        if item_id in self._ends:
            return  # a repeated commit notice
        end = self._stopped_at.pop(item_id, None)
        if end is None:  # not the VAD's: the answer to the client's oldest commit
            end = self._commits_owed.popleft() if self._commits_owed else self._last_end
        self._ends[item_id] = end
        if end is not None:
            self._last_end = end if self._last_end is None else max(self._last_end, end)
        position = self._order.index(previous) + 1 if previous in self._order else len(self._order)
        self._order.insert(position, item_id)
        self._check_bounds(self._order)

    def _delta(self, event: TranscriptionDeltaReceived) -> TranscriptUpdated:
        text = self._texts.get(event.item_id, "") + event.delta
        if len(text) > _MAX_TEXT:
            raise RemoteProtocolError("realtime transcription: an item's deltas exceed 64 Ki")
        self._texts[event.item_id] = text
        self._check_bounds(self._texts)
        return TranscriptUpdated(event.item_id, text)

    def _release(self) -> list[TranscriptFinalized]:
        released: list[TranscriptFinalized] = []
        while self._order and self._order[0] in self._done:
            item_id = self._order.pop(0)
            self._texts.pop(item_id, None)
            end = self._ends.pop(item_id)
            released.append(TranscriptFinalized(item_id, self._done.pop(item_id), end))
        return released

    @staticmethod
    def _check_bounds(pending: Sized) -> None:
        if len(pending) > _MAX_ITEMS:
            raise RemoteProtocolError(
                f"realtime transcription: more than {_MAX_ITEMS} items await a transcript"
            )
