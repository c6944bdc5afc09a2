"""One connection of a fake TTS server: a reader, a speaker, and the fault.

Two tasks per accepted connection, as a real server would have: the *reader*
records every client message the moment it arrives (a cancel's time is when the
server saw it, even while it is busy speaking) and hands work to the *speaker*,
which speaks each utterance's generations in order (paced at ``pace`` times real
time when set) and then says it is done. Work for a cancelled utterance is
dropped, and a generation under way stops at its next message: after a cancel the
server sends nothing more for that utterance.

The connection's fault fires just before the audio message that would take the
audio sent on the connection past the fault's ``after`` seconds: close, reset,
stall (read on, answer nothing), an error message, or a malformed message (then
carry on). The provider subclasses say what the messages look like.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import trio
import trio_websocket

from ._fake_tts_voice import FakeTTSOptions, FakeVoice, TTSSession, TTSUtterance, VoiceMessage
from ._tts_faults import TTSErrorAfter
from ._websocket_fake import StreamFault

__all__ = ["TTSConversation"]

_EPS = 1e-9
_Work = tuple[TTSUtterance, str | None]  # text to speak, or None: say it is done


class _Hangup(Exception):
    """The fault closed the connection."""


class TTSConversation:
    """A fake TTS connection; subclasses parse requests and format answers."""

    def __init__(
        self,
        ws: trio_websocket.WebSocketConnection,
        session: TTSSession,
        options: FakeTTSOptions,
        notify: Callable[[], None],
    ) -> None:
        self.ws = ws
        self.session = session
        self.options = options
        self.notify = notify
        self._fault = StreamFault(session.fault)
        self._voices: dict[int, FakeVoice] = {}
        self._work_in, self._work_out = trio.open_memory_channel[_Work](1000)

    # ---------------------------------------------------------------- subclasses
    async def on_message(self, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def audio_messages(
        self, utterance: TTSUtterance, message: VoiceMessage
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def done_messages(self, utterance: TTSUtterance) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def report_error(self, utterance: TTSUtterance, fault: TTSErrorAfter) -> None:
        raise NotImplementedError

    async def after_done(self, utterance: TTSUtterance) -> None:
        """After the done message (ElevenLabs' stream-input closes the socket)."""

    def on_client_gone(self) -> None:
        """The client closed the socket: its open utterances stop (for ElevenLabs'
        stream-input this *is* the cancel; a cancel message followed by a close may
        also arrive as a reset, its message lost, and the server stops all the same)."""
        for utterance in self.session.utterances:
            self.cancel(utterance, by="disconnect")

    # ---------------------------------------------------------------- helpers
    def speak(self, utterance: TTSUtterance, text: str | None) -> None:
        """Queue ``text`` for the speaker (None: then say the utterance is done)."""
        self._work_in.send_nowait((utterance, text))

    def cancel(self, utterance: TTSUtterance, *, by: str = "message") -> None:
        if utterance.cancelled_at is None and utterance.done_at is None:
            utterance.cancelled_at = trio.current_time()
            utterance.cancelled_by = by

    async def send(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.session.sent.append(message)
            await self.ws.send_message(json.dumps(message))

    # ---------------------------------------------------------------- the tasks
    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._speaker)
            try:
                await self._read()
            finally:
                nursery.cancel_scope.cancel()

    async def _read(self) -> None:
        while True:
            try:
                message = await self.ws.get_message()
            except trio_websocket.ConnectionClosed:
                self.on_client_gone()
                self.notify()
                return
            try:
                body = json.loads(message)
            except ValueError:
                body = {"unparsed": str(message)[:200]}
            if not isinstance(body, dict):
                body = {"unparsed": str(message)[:200]}
            self.session.messages.append(body)
            await self.on_message(body)
            self.notify()

    async def _speaker(self) -> None:
        try:
            async for utterance, text in self._work_out:
                over = utterance.cancelled_at is not None or utterance.done_at is not None
                if over or self._fault.stalled:
                    continue
                if text is None:
                    utterance.done_at = trio.current_time()
                    await self.send(self.done_messages(utterance))
                    await self.after_done(utterance)
                else:
                    await self._speak(utterance, text)
                self.notify()
        except _Hangup:
            pass

    async def _speak(self, utterance: TTSUtterance, text: str) -> None:
        voice = self._voices.setdefault(
            id(utterance), FakeVoice(self.session.sample_rate, self.options)
        )
        for message in voice.speak(text):
            if utterance.cancelled_at is not None or utterance.done_at is not None:
                return
            if self._fault.stalled or await self._fault_fires(utterance):
                return
            utterance.audio_bytes += len(message.pcm)
            self.session.audio_bytes += len(message.pcm)
            await self.send(self.audio_messages(utterance, message))
            if self.options.pace:
                await trio.sleep(
                    len(message.pcm) / 2 / self.session.sample_rate / self.options.pace
                )

    async def _fault_fires(self, utterance: TTSUtterance) -> bool:
        """Apply the fault if its time has come; True: send no more audio now."""
        fault = self._fault.due(self.session.audio_seconds)
        if fault is None:
            return False
        if isinstance(fault, TTSErrorAfter):
            self.session.end("fault")
            await self.report_error(utterance, fault)
            return True
        if await self._fault.apply(fault, self.ws, self.session):
            raise _Hangup
        return self._fault.stalled
