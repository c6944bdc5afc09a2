"""The agent's transcript as ``lk.transcription`` text streams, paced with playout.

The voice session calls :meth:`RoomTextOutput.publish_transcript` with the text of
an utterance *heard so far* (growing word by word as audio plays) and once more
with ``final=True`` and exactly the text recorded in the chat context -- the
played prefix if the user barged in. That call is synchronous and never blocks
the pipeline: updates are coalesced per utterance (only the newest text of each is
kept) and one task, :meth:`serve`, sends them in order. Each update is a text
stream on ``lk.transcription`` carrying the cumulative text with the utterance's
``lk.segment_id`` and ``lk.transcription_final``, so a client that keys segments
by id always shows the latest text, and a barge-in never leaves unheard words on
screen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Protocol

import trio

from ..core import TrioAgentsError

__all__ = ["RoomTextOutput"]

TOPIC_TRANSCRIPTION = "lk.transcription"


class _SendsText(Protocol):
    async def send_text(
        self, text: str, *, topic: str, attributes: dict[str, str] | None = None
    ) -> None: ...


class RoomTextOutput:
    """A :class:`~trioagents.voice.TextOutput` for a room; run :meth:`serve` in a nursery."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[str, bool]] = {}
        self._finals: set[str] = set()
        self._wake = trio.Event()
        self.used = False

    def publish_transcript(self, speech_id: str, text: str, *, final: bool) -> None:
        """Queue the newest text of ``speech_id``. Synchronous; never blocks."""
        if speech_id in self._finals:
            return  # nothing follows a final update
        if final:
            self._finals.add(speech_id)
        self.used = True
        self._pending.pop(speech_id, None)  # re-insert: order by newest update
        self._pending[speech_id] = (text, final)
        self._wake.set()

    async def serve(self, room: _SendsText, track_sid: Callable[[], str] = str) -> None:
        """Send queued updates until cancelled. A refused send does not end the call.

        ``track_sid()`` names the agent's audio track (read at each send: it is known
        only once the track is published).
        """
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            batch, self._pending = self._pending, {}
            for speech_id, (text, final) in batch.items():
                attributes = {
                    "lk.segment_id": speech_id,
                    "lk.transcription_final": "true" if final else "false",
                    "lk.transcribed_track_id": track_sid(),
                }
                with contextlib.suppress(TrioAgentsError):
                    await room.send_text(text, topic=TOPIC_TRANSCRIPTION, attributes=attributes)
