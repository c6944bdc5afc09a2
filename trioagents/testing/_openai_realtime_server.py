"""A loopback OpenAI Realtime server: scripted replies, its own VAD, faults on demand.

It serves ``/v1/realtime`` on ``127.0.0.1`` (a free port; point an
``OpenAIConnection(base_url=server.base_url)`` at it) and speaks the GA protocol
(or the beta event names, ``FakeRealtimeOptions(beta_names=True)``):

* ``session.created`` on connect; ``session.update`` is merged and echoed;
* pushed audio goes through :class:`~._openai_realtime_script.EnergyVAD` when the
  session has ``server_vad``/``semantic_vad``: ``speech_started``,
  ``speech_stopped`` (after ``silence_duration_ms``), ``committed``, then the
  transcript (the :class:`~trioagents.testing.Timeline` segment the audio's
  marker names) if the session asked for transcription; with turn detection off
  the client's ``input_audio_buffer.commit`` does the same;
* each ``response.create`` plays the next scripted :class:`RealtimeReply` (or what
  the script function returns): transcript deltas and base64 PCM16 audio deltas,
  paced by ``options.pace``, then function calls, then ``response.done``;
  ``response.cancel`` stops it (``status: cancelled``); a second reply while one
  runs is refused with ``conversation_already_has_active_response``, a cancel with
  none running with ``response_cancel_not_active``, as the real server does;
* ``conversation.item.create``/``truncate``/``delete`` edit the conversation it
  records (a truncate past the audio sent is refused with an error).

Every client event is recorded with its Trio arrival time in the connection's
:class:`FakeRealtimeConnection` (``of_type("response.cancel")``), so tests assert
what the client did and when; the server's own events with their send times
(``sent``, ``sent_at``). Faults (:data:`RealtimeFault`) are queued per
connection with :meth:`FakeRealtimeServer.script`.

Run it with ``async with open_fake_realtime(script) as server:``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TypeAlias

import trio_websocket

from ..core import ConfigurationError
from ._openai_realtime_conversation import Conversation
from ._openai_realtime_faults import NoSessionCreated, RealtimeFault
from ._openai_realtime_script import (
    FakeRealtimeConnection,
    FakeRealtimeOptions,
    RealtimeReply,
)
from ._timeline import Timeline
from ._websocket_fake import FakeWebSocketServer, open_fake_server
from ._websocket_faults import RefuseUpgrade

__all__ = ["FakeRealtimeServer", "RealtimeScript", "open_fake_realtime"]

RealtimeScript: TypeAlias = (
    Sequence[RealtimeReply] | Callable[[FakeRealtimeConnection], RealtimeReply]
)
"""Replies in order (the last one repeats; none: an empty reply), or a function of
the connection (its conversation so far) returning the reply."""


class FakeRealtimeServer(FakeWebSocketServer[FakeRealtimeConnection, RealtimeFault]):
    """State of one fake server: its script, fault queue, and what it saw.

    Faults are queued with :meth:`script` (one per connection, as for the fake
    Deepgram); connections are recorded in ``sessions`` (``last``: the latest).
    """

    _url_path = "/v1/realtime"

    def __init__(
        self,
        replies: RealtimeScript = (),
        *,
        timeline: Timeline | None = None,
        options: FakeRealtimeOptions | None = None,
    ) -> None:
        super().__init__()
        self.replies = replies
        self.timeline = timeline
        self.options = options or FakeRealtimeOptions()
        self._replies = itertools.count()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1`` (an OpenAIConnection base URL)."""
        return self.url.replace("ws://", "http://", 1).removesuffix("/realtime")

    @property
    def last(self) -> FakeRealtimeConnection:
        if not self.sessions:
            raise ConfigurationError("no connection was made to the fake realtime server")
        return self.sessions[-1]

    def next_reply(self, connection: FakeRealtimeConnection) -> RealtimeReply:
        if callable(self.replies):
            return self.replies(connection)
        index = next(self._replies)
        if not self.replies:
            return RealtimeReply()
        return self.replies[min(index, len(self.replies) - 1)]

    def transcript_of(self, marker: int) -> str:
        """The words of timeline segment ``marker`` (``""`` without a timeline)."""
        if self.timeline is None or marker <= 0 or marker > len(self.timeline.segments):
            return ""
        return self.timeline.segment(marker).transcript

    def notify(self) -> None:
        """Something recorded changed (the connection's handler tells): wake ``wait_for``."""
        self._notify()

    def _record(
        self, request: trio_websocket.WebSocketRequest, fault: RealtimeFault | None
    ) -> FakeRealtimeConnection:
        return self._new_session(FakeRealtimeConnection, request, fault)

    async def _answer(
        self, request: trio_websocket.WebSocketRequest, session: FakeRealtimeConnection
    ) -> None:
        refusal = self._refusal(session)
        if refusal is not None:
            await self._refuse(request, session, refusal)
            return
        ws = await request.accept()
        greet = not isinstance(session.fault, NoSessionCreated)
        await Conversation(ws, session, self).run(greet=greet)

    def _refusal(self, record: FakeRealtimeConnection) -> RefuseUpgrade | None:
        if isinstance(record.fault, RefuseUpgrade):
            return record.fault
        key = self.options.api_key
        if key is not None and record.headers.get("authorization") != f"Bearer {key}":
            body = {"error": {"type": "invalid_request_error", "code": "invalid_api_key"}}
            return RefuseUpgrade(401, json.dumps(body).encode())
        if not record.path.rstrip("/").endswith("/realtime") or not record.query.get("model"):
            return RefuseUpgrade(404, b"not found")
        return None


def open_fake_realtime(
    replies: RealtimeScript = (),
    *,
    timeline: Timeline | None = None,
    options: FakeRealtimeOptions | None = None,
) -> AbstractAsyncContextManager[FakeRealtimeServer]:
    """Serve a fresh :class:`FakeRealtimeServer` for the duration of the block."""
    return open_fake_server(FakeRealtimeServer(replies, timeline=timeline, options=options))
