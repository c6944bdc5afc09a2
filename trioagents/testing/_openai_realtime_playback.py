"""One scripted reply of the fake OpenAI Realtime server, played on its connection.

:class:`ReplyPlayer` sends ``response.created``, the spoken text as transcript
and audio deltas (:class:`~trioagents.testing.FakeTTS` audio in chunks of
``chunk_frames`` frames, paced by ``pace``), then the function calls, then
``response.done`` -- ``cancelled`` when the connection's ``response.cancel``
cancelled its scope. The connection's reply fault fires before the chunk it names.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Protocol

import trio

from ._fake_tts import FakeTTS
from ._openai_realtime_faults import (
    CloseDuringReply,
    FailReply,
    MalformedDuringReply,
    ReplyFault,
    ResetDuringReply,
    StallDuringReply,
)
from ._openai_realtime_script import (
    FakeRealtimeConnection,
    FakeRealtimeOptions,
    RealtimeReply,
    RealtimeReplyRecord,
)
from ._websocket_fake import ResetConnection

__all__ = ["ReplyPlayer"]


class _Connection(Protocol):
    """What a reply needs of its connection (the fake's ``Conversation``)."""

    options: FakeRealtimeOptions
    record: FakeRealtimeConnection
    fault: ReplyFault | None
    stalled: bool
    active: tuple[RealtimeReplyRecord, trio.CancelScope] | None

    def new_id(self, prefix: str) -> str: ...

    async def send(self, kind: str, **fields: Any) -> None: ...

    async def send_raw(self, text: str) -> None: ...

    async def error(self, code: str, event_id: object, kind: str = ...) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...

    def notify(self) -> None: ...


class _Stalled(Exception):
    """Internal: the connection went silent (a fault)."""


class _Ended(Exception):
    """Internal: the reply ends without a ``response.done`` (a fault)."""


class ReplyPlayer:
    def __init__(
        self,
        connection: _Connection,
        record: RealtimeReplyRecord,
        reply: RealtimeReply,
        fault: ReplyFault | None,
        event_id: object,
    ) -> None:
        self._conv = connection
        self._reply_record = record
        self._reply = reply
        self._reply_fault = fault
        self._event_id = event_id

    async def play(self, scope: trio.CancelScope) -> None:
        """The whole reply; ``scope`` is what ``response.cancel`` cancels."""
        await self._play(self._reply_record, self._reply, scope, self._reply_fault, self._event_id)

    async def _play(
        self,
        record: RealtimeReplyRecord,
        reply: RealtimeReply,
        scope: trio.CancelScope,
        fault: ReplyFault | None,
        event_id: object,
    ) -> None:
        try:
            with scope:
                await self._before_chunk(fault, 0, event_id)
                await self._conv.send(
                    "response.created", response={"id": record.response_id, "status": "in_progress"}
                )
                if reply.text:
                    await self._speak(record, reply.text, fault, event_id)
                for call in reply.tool_calls:
                    await self._call(record, call.name, call.arguments)
                record.status = "failed" if isinstance(fault, FailReply) else "completed"
        except _Stalled:
            await trio.sleep_forever()
        except _Ended:
            self._conv.active = None
            return
        if scope.cancelled_caught:
            record.status = "cancelled"
        self._conv.active = None
        await self._conv.send("response.done", response=self._done(record))
        self._conv.notify()

    async def _before_chunk(self, fault: ReplyFault | None, sent: int, event_id: object) -> None:
        """Apply ``fault`` if it fires now (raises _Ended: no ``response.done`` follows)."""
        if fault is None or fault is not self._conv.fault or fault.after_chunks != sent:
            return
        if isinstance(fault, FailReply):
            return
        self._conv.fault = None
        if isinstance(fault, MalformedDuringReply):
            await self._conv.send_raw(fault.payload)
            return
        if isinstance(fault, StallDuringReply):
            self._conv.stalled = True
            raise _Stalled
        if isinstance(fault, ResetDuringReply):
            raise ResetConnection
        if isinstance(fault, CloseDuringReply):
            await self._conv.close(fault.code, fault.reason)
            raise _Ended
        await self._conv.error(fault.code, event_id, fault.error_type)  # ErrorForReply
        raise _Ended

    async def _speak(
        self, record: RealtimeReplyRecord, text: str, fault: ReplyFault | None, event_id: object
    ) -> None:
        options = self._conv.options
        item_id = self._conv.new_id("item")
        record.item_id = item_id
        item = {"id": item_id, "type": "message", "role": "assistant", "text": "", "audio_ms": 0}
        self._conv.record.items.append(item)
        wire_item = {"id": item_id, "type": "message", "role": "assistant", "content": []}
        await self._conv.send(
            "response.output_item.added",
            response_id=record.response_id,
            output_index=0,
            item=wire_item,
        )
        await trio.sleep(options.first_audio_delay)
        ids = {
            "response_id": record.response_id,
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
        }
        sent = 0
        tts = FakeTTS(chars_per_second=options.chars_per_second)
        async with tts.synthesize(text) as frames:
            chunk: list[bytes] = []
            spoken = 0
            async for frame in frames:
                chunk.append(frame.to_bytes())
                spoken = frame.text_end or spoken
                if len(chunk) < options.chunk_frames:
                    continue
                sent += 1
                await self._before_chunk(fault, sent - 1, event_id)
                await self._chunk(record, item, ids, b"".join(chunk), text[:spoken])
                chunk = []
            if chunk:
                await self._chunk(record, item, ids, b"".join(chunk), text)
        await self._conv.send("response.output_audio.done", **ids)
        await self._conv.send("response.output_audio_transcript.done", **ids, transcript=text)
        done_item = wire_item | {"content": [{"type": "output_audio", "transcript": text}]}
        await self._conv.send(
            "response.output_item.done",
            response_id=record.response_id,
            output_index=0,
            item=done_item,
        )

    async def _chunk(
        self,
        record: RealtimeReplyRecord,
        item: dict[str, Any],
        ids: dict[str, Any],
        pcm: bytes,
        spoken: str,
    ) -> None:
        delta = spoken[len(item["text"]) :]
        if delta:
            await self._conv.send("response.output_audio_transcript.delta", **ids, delta=delta)
        await self._conv.send(
            "response.output_audio.delta", **ids, delta=base64.b64encode(pcm).decode()
        )
        now = trio.current_time()
        if record.first_audio_at is None:
            record.first_audio_at = now
        seconds = len(pcm) / 2 / 24000
        record.audio_sent += seconds
        item["text"], item["audio_ms"] = spoken, round(record.audio_sent * 1000)
        record.text = spoken
        pace = self._conv.options.pace
        if pace:
            await trio.sleep(seconds * pace)

    async def _call(self, record: RealtimeReplyRecord, name: str, arguments: str) -> None:
        item_id, call_id = self._conv.new_id("item"), self._conv.new_id("call")
        self._conv.record.items.append(
            {
                "id": item_id,
                "type": "function_call",
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
            }
        )
        item = {
            "id": item_id,
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": "",
        }
        ids = {
            "response_id": record.response_id,
            "item_id": item_id,
            "output_index": 1,
            "call_id": call_id,
        }
        await self._conv.send(
            "response.output_item.added", response_id=record.response_id, output_index=1, item=item
        )
        half = len(arguments) // 2
        await self._conv.send(
            "response.function_call_arguments.delta", **ids, delta=arguments[:half]
        )
        await self._conv.send(
            "response.function_call_arguments.delta", **ids, delta=arguments[half:]
        )
        await self._conv.send(
            "response.function_call_arguments.done", **ids, arguments=arguments, name=name
        )
        await self._conv.send(
            "response.output_item.done",
            response_id=record.response_id,
            output_index=1,
            item=item | {"arguments": arguments},
        )

    def _done(self, record: RealtimeReplyRecord) -> dict[str, Any]:
        usage = {
            "input_tokens": 10 * len(self._conv.record.items),
            "output_tokens": math.ceil(len(record.text) / 4),
        }
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        return {
            "id": record.response_id,
            "object": "realtime.response",
            "status": record.status,
            "usage": usage,
            "output": [],
        }
