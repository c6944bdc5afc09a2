"""What the fake ElevenLabs and Cartesia servers share: one connection's bookkeeping.

:class:`FakeTTSServer` records each connection as a
:class:`~trioagents.testing.TTSSession`, refuses the upgrade when the fault says so
or the subclass finds the request wrong (:meth:`FakeTTSServer.refusal`: bad key,
path, format), and otherwise hands the accepted socket to the subclass's
conversation. ``utterances`` lists every utterance of every connection, in order;
:meth:`FakeTTSServer.hang_up` closes the open connections from the server's side.
"""

from __future__ import annotations

import trio
import trio_websocket

from ._fake_tts_conversation import TTSConversation
from ._fake_tts_voice import FakeTTSOptions, TTSSession, TTSUtterance
from ._tts_faults import TTSFault
from ._websocket_fake import FakeWebSocketServer
from ._websocket_faults import RefuseUpgrade

__all__ = ["FakeTTSServer"]


class FakeTTSServer(FakeWebSocketServer[TTSSession, TTSFault]):
    """A fake streaming TTS server; subclasses check requests and converse."""

    def __init__(self, options: FakeTTSOptions | None = None) -> None:
        super().__init__()
        self.options = options or FakeTTSOptions()
        self._open: set[trio_websocket.WebSocketConnection] = set()

    @property
    def utterances(self) -> list[TTSUtterance]:
        return [u for session in self.sessions for u in session.utterances]

    async def hang_up(self, code: int = 1000, reason: str = "idle") -> None:
        """Close every open connection from the server's side (what an inactivity
        timeout does)."""
        for ws in list(self._open):
            # bounded: the conversation may end (and stop the websocket's reader)
            # before the handshake it waits for is recorded
            with trio.move_on_after(1):
                await ws.aclose(code, reason)

    def refusal(self, session: TTSSession) -> RefuseUpgrade | None:
        """Why this upgrade is refused (None: accept); subclasses."""
        raise NotImplementedError

    def conversation(
        self, ws: trio_websocket.WebSocketConnection, session: TTSSession
    ) -> TTSConversation:
        raise NotImplementedError

    def _record(
        self, request: trio_websocket.WebSocketRequest, fault: TTSFault | None
    ) -> TTSSession:
        return self._new_session(TTSSession, request, fault)

    async def _answer(self, request: trio_websocket.WebSocketRequest, session: TTSSession) -> None:
        fault = session.fault
        refusal = fault if isinstance(fault, RefuseUpgrade) else self.refusal(session)
        if refusal is not None:
            await self._refuse(request, session, refusal)
            return
        ws = await request.accept()
        self._open.add(ws)
        try:
            await self.conversation(ws, session).run()
        finally:
            self._open.discard(ws)
