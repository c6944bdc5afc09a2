"""Our agent in a call whose signal socket is cut mid-utterance, run inside the test's
network namespace. An AgentSession (FakeLLM, a tone TTS) joins through a TCP proxy
that carries only the signal websocket (media goes to the server directly). When the
Rust-SDK user says it listens (``interop.ready``), the agent replies with one long
sentence; 1.5 s into it the proxy severs the socket. The room must resume and the
reply play to its end. Prints one JSON line: the room's joins and resumes, the
session's history, the reply's text and whether it was interrupted.

Usage: python interop_resume_agent.py URL API_KEY API_SECRET ROOM
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.rtc.fake_server import tone
from tests.rtc.tcp_proxy import open_tcp_proxy
from trioagents.core import AudioFrame
from trioagents.protocol import VideoGrants, mint_token
from trioagents.roomio import start_in_room
from trioagents.rtc import ReconnectPolicy, Room, RoomOptions, open_room
from trioagents.testing import FakeLLM, LLMScript
from trioagents.voice import Agent, AgentSession

REPLY = "Your table for four is booked for eight tonight and we will keep it till half past"
CHARS_PER_SECOND = 16.0  # the reply lasts len(REPLY) / 16 s, about 5.1 s
RATE = 24000
SEVER_AFTER = 1.5


class ToneTTS:
    """660 Hz for len(text) / 16 seconds: loud enough for Opus and the SDK's ears."""

    label = "tone-tts"
    sample_rate = RATE
    num_channels = 1

    @asynccontextmanager
    async def synthesize(self, text: str) -> AsyncIterator[AsyncIterator[AudioFrame]]:
        samples = tone(660.0, len(text) / CHARS_PER_SECOND, rate=RATE)

        async def frames() -> AsyncIterator[AudioFrame]:
            for start in range(0, len(samples), 480):
                await trio.lowlevel.checkpoint()
                yield AudioFrame.from_mono(samples[start : start + 480], RATE)

        yield frames()


async def attribute(room: Room, identity: str, key: str) -> str:
    while True:
        participant = room.remote_participants.get(identity)
        if participant is not None and participant.attributes.get(key):
            return participant.attributes[key]
        await room.wait_state_changed()


async def call(url: str, token: str, result: dict[str, object]) -> None:
    server = urlsplit(url)
    assert server.hostname is not None
    assert server.port is not None
    options = RoomOptions(reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=0.2))
    async with (
        open_tcp_proxy(server.port, server.hostname) as proxy,
        open_room(f"ws://127.0.0.1:{proxy.port}", token, options) as room,
    ):
        session: AgentSession[None] = AgentSession(
            llm=FakeLLM(default=LLMScript(text=REPLY)), tts=ToneTTS()
        )
        agent = Agent(instructions="interop")
        async with start_in_room(session, agent, room, run_on_enter=False):
            await attribute(room, "user", "interop.ready")
            handle = session.generate_reply()
            await trio.sleep(SEVER_AFTER)
            proxy.sever()
            result["severed_at_state"] = session.agent_state
            with trio.fail_after(20):
                await handle
            stats = room.statistics()
            result["joins"], result["resumes"] = stats.joins, stats.resumes
            result["proxy_connections"] = proxy.connections
            result["history"] = [
                {"role": m.role, "content": m.content, "interrupted": m.interrupted}
                for m in session.history.messages()
            ]
            await room.set_attributes({"interop.done": "1"})
            await trio.sleep_forever()  # the session ends when the user hangs up


async def main() -> None:
    url, key, secret, room_name = sys.argv[1:5]
    grants = VideoGrants(room_join=True, room=room_name, can_update_own_metadata=True, agent=True)
    token = mint_token(key, secret, identity="agent", video=grants)
    result: dict[str, object] = {}
    try:
        with trio.fail_after(60):
            await call(url, token, result)
    except Exception as exc:  # report; the test decides
        result["error"] = {"type": type(exc).__name__, "text": str(exc)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    trio.run(main)
