"""One accepted connection of the fake OpenAI Realtime server (see its module docs).

:class:`Conversation` reads the client's events in one task, answers them, and
plays each reply in a task of its own (cancelled by ``response.cancel``); every
send goes through one lock. Faults of the connection fire where
:mod:`._openai_realtime_faults` says.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from typing import Any, Protocol

import numpy as np
import trio
import trio_websocket

from ._openai_realtime_faults import (
    CloseDuringReply,
    ErrorForReply,
    FailReply,
    MalformedDuringReply,
    ReplyFault,
    ResetDuringReply,
    StallDuringReply,
)
from ._openai_realtime_playback import ReplyPlayer
from ._openai_realtime_script import (
    EnergyVAD,
    FakeRealtimeConnection,
    FakeRealtimeOptions,
    RealtimeClientEvent,
    RealtimeReply,
    RealtimeReplyRecord,
)

__all__ = ["Conversation"]

_BETA_NAMES = {
    "conversation.item.added": "conversation.item.created",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
}
_REPLY_FAULTS = (
    CloseDuringReply,
    ResetDuringReply,
    ErrorForReply,
    FailReply,
    StallDuringReply,
    MalformedDuringReply,
)


class _Server(Protocol):
    @property
    def options(self) -> FakeRealtimeOptions: ...

    def next_reply(self, connection: FakeRealtimeConnection) -> RealtimeReply: ...

    def transcript_of(self, marker: int) -> str: ...

    def notify(self) -> None: ...


class Conversation:
    def __init__(
        self,
        ws: trio_websocket.WebSocketConnection,
        record: FakeRealtimeConnection,
        server: _Server,
    ) -> None:
        self._ws = ws
        self.record = record
        self._server = server
        self.options = server.options
        self._lock = trio.Lock()
        self._ids = iter(range(1, 10**9))
        self._nursery: trio.Nursery | None = None
        self._vad: EnergyVAD | None = None
        self._buffer_bytes = 0
        self._buffer_markers: Counter[int] = Counter()
        self.active: tuple[RealtimeReplyRecord, trio.CancelScope] | None = None
        fault = record.fault
        self.fault: ReplyFault | None = fault if isinstance(fault, _REPLY_FAULTS) else None
        self.stalled = False
        self._replies = 0

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self.record.index}_{next(self._ids)}"

    async def run(self, *, greet: bool) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if greet:
                session = {"id": self.new_id("sess"), "object": "realtime.session"}
                await self.send("session.created", session=session)
            while True:
                try:
                    message = await self._ws.get_message()
                except trio_websocket.ConnectionClosed:
                    break
                await self._receive(message)
                self._server.notify()
            nursery.cancel_scope.cancel()

    # ------------------------------------------------------------ sending
    async def send(self, kind: str, **fields: Any) -> None:
        if self.stalled:
            return
        if self.options.beta_names:
            kind = _BETA_NAMES.get(kind, kind)
        body = {"type": kind, "event_id": self.new_id("event"), **fields}
        async with self._lock:
            with trio.CancelScope(shield=True):  # a cancelled reply never cuts a message
                await self._ws.send_message(json.dumps(body))
                self.record.sent.append(body)
                self.record.sent_at.append((trio.current_time(), kind))

    async def error(self, code: str, event_id: object, kind: str = "invalid_request_error") -> None:
        error = {"type": kind, "code": code, "message": code, "event_id": event_id}
        await self.send("error", error=error)

    async def send_raw(self, text: str) -> None:
        async with self._lock:
            await self._ws.send_message(text)

    async def close(self, code: int, reason: str) -> None:
        self.record.end("fault")
        await self._ws.aclose(code, reason)

    def notify(self) -> None:
        self._server.notify()

    # ------------------------------------------------------------ client events
    async def _receive(self, message: str | bytes) -> None:
        try:
            body = json.loads(message)
            kind = str(body["type"])
        except (ValueError, KeyError, TypeError):
            await self.error("invalid_json", None)
            return
        recorded = dict(body)
        if kind == "input_audio_buffer.append":
            recorded["audio"] = len(_decode(body.get("audio")))
        self.record.events.append(RealtimeClientEvent(trio.current_time(), kind, recorded))
        handler = getattr(self, "_on_" + kind.replace(".", "_"), None)
        if handler is None:
            await self.error("unknown_event", body.get("event_id"))
        else:
            await handler(body)

    async def _on_session_update(self, body: dict[str, Any]) -> None:
        session = body.get("session") or {}
        self.record.session = _merged(self.record.session, session)
        turns = self.record.turn_detection()
        if turns is None:
            self._vad = None
        elif self._vad is None:
            silence = int(turns.get("silence_duration_ms", 500))
            self._vad = EnergyVAD(self.options.vad_threshold, silence)
        await self.send("session.updated", session=self.record.session)

    async def _on_input_audio_buffer_append(self, body: dict[str, Any]) -> None:
        pcm = _decode(body.get("audio"))
        self.record.audio_bytes += len(pcm)
        self._buffer_bytes += len(pcm)
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        nonzero = samples[samples != 0]
        if nonzero.size:
            self._buffer_markers[int(np.bincount(np.abs(nonzero.astype(np.int32))).argmax())] += 1
        if self._vad is None:
            return
        for step in self._vad.push(pcm):
            if step.started_ms is not None:
                await self._speech_started(step.started_ms)
            elif step.stopped_ms is not None:
                await self.send(
                    "input_audio_buffer.speech_stopped", audio_end_ms=step.stopped_ms, item_id=""
                )
                await self._commit(step.marker)

    async def _speech_started(self, at_ms: int) -> None:
        await self.send("input_audio_buffer.speech_started", audio_start_ms=at_ms, item_id="")
        turns = self.record.turn_detection() or {}
        if turns.get("interrupt_response") and self.active is not None:
            self.active[1].cancel()

    async def _on_input_audio_buffer_commit(self, body: dict[str, Any]) -> None:
        if self._buffer_bytes < 2 * 2400:  # OpenAI wants >= 100 ms
            await self.error("input_audio_buffer_commit_empty", body.get("event_id"))
            return
        marker = self._buffer_markers.most_common(1)[0][0] if self._buffer_markers else 0
        await self._commit(marker)

    async def _on_input_audio_buffer_clear(self, body: dict[str, Any]) -> None:
        self._buffer_bytes, self._buffer_markers = 0, Counter()
        await self.send("input_audio_buffer.cleared")

    async def _commit(self, marker: int) -> None:
        item_id = self.new_id("item")
        previous = self.record.items[-1]["id"] if self.record.items else None
        text = self._server.transcript_of(marker)
        item = {"id": item_id, "type": "message", "role": "user", "text": text, "audio": True}
        self.record.items.append(item)
        self._buffer_bytes, self._buffer_markers = 0, Counter()
        await self.send("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous)
        if _transcribes(self.record.session) and self._nursery is not None:
            self._nursery.start_soon(self._transcribe, item_id, text)
        turns = self.record.turn_detection() or {}
        if turns.get("create_response") and self.active is None:
            await self._start_reply({})

    async def _transcribe(self, item_id: str, text: str) -> None:
        await trio.sleep(self.options.transcription_delay)
        kind = "conversation.item.input_audio_transcription"
        await self.send(f"{kind}.delta", item_id=item_id, content_index=0, delta=text)
        await self.send(f"{kind}.completed", item_id=item_id, content_index=0, transcript=text)

    async def _on_conversation_item_create(self, body: dict[str, Any]) -> None:
        item = body.get("item") or {}
        stored = _stored_item(item) | {"id": item.get("id") or self.new_id("item")}
        self.record.items.append(stored)
        await self.send("conversation.item.added", item=item | {"id": stored["id"]})
        await self.send("conversation.item.done", item=item | {"id": stored["id"]})

    async def _on_conversation_item_truncate(self, body: dict[str, Any]) -> None:
        item = self.record.item(str(body.get("item_id")))
        end_ms = body.get("audio_end_ms")
        if item is None or not isinstance(end_ms, int) or end_ms < 0:
            await self.error("invalid_item_id_or_audio_end_ms", body.get("event_id"))
            return
        if end_ms > item.get("audio_ms", 0) + 1:
            await self.error("audio_end_ms_exceeds_audio", body.get("event_id"))
            return
        item["truncated_ms"] = end_ms
        item["text"] = item["text"][: int(end_ms / 1000 * self.options.chars_per_second)]
        await self.send(
            "conversation.item.truncated", item_id=item["id"], audio_end_ms=end_ms, content_index=0
        )

    async def _on_conversation_item_delete(self, body: dict[str, Any]) -> None:
        item = self.record.item(str(body.get("item_id")))
        if item is None:
            await self.error("invalid_item_id", body.get("event_id"))
            return
        self.record.items.remove(item)
        await self.send("conversation.item.deleted", item_id=item["id"])

    async def _on_response_create(self, body: dict[str, Any]) -> None:
        if self.active is not None:
            await self.error("conversation_already_has_active_response", body.get("event_id"))
            return
        await self._start_reply(body)

    async def _on_response_cancel(self, body: dict[str, Any]) -> None:
        if self.active is None:
            await self.error("response_cancel_not_active", body.get("event_id"))
            return
        record, scope = self.active
        record.cancelled_at = trio.current_time()
        scope.cancel()

    # ------------------------------------------------------------ replies
    async def _start_reply(self, body: dict[str, Any]) -> None:
        assert self._nursery is not None
        self._replies += 1
        response = body.get("response") or {}
        record = RealtimeReplyRecord(self.new_id("resp"), trio.current_time())
        record.instructions = response.get("instructions")
        self.record.replies.append(record)
        scope = trio.CancelScope()
        self.active = (record, scope)
        fault = self.fault if self.fault and self.fault.reply == self._replies else None
        reply = self._server.next_reply(self.record)
        player = ReplyPlayer(self, record, reply, fault, body.get("event_id"))
        self._nursery.start_soon(player.play, scope)


def _decode(value: object) -> bytes:
    try:
        return base64.b64decode(str(value or ""), validate=True)
    except (ValueError, binascii.Error):
        return b""


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _transcribes(session: dict[str, Any]) -> bool:
    audio = session.get("audio", {})
    if "input" in audio:
        return audio["input"].get("transcription") is not None
    return session.get("input_audio_transcription") is not None


def _stored_item(item: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("type", "message")
    if kind != "message":
        return {k: item.get(k) for k in ("type", "call_id", "name", "arguments", "output")}
    parts = item.get("content") or []
    text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    return {"type": "message", "role": item.get("role"), "text": text}
