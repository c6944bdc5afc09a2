"""Kill -9 a worker mid-turn; the supervisor re-dispatches; another worker resumes.

Real processes, the embedded dev server, real clock (bounded by ``fail_after``). The
caller talks over ``lk.chat`` text streams; the agent answers on ``test.reply`` (see
``resume_agent.py``). Worker A is killed inside the turn that ran ``record_details``
(after the tool's result was journaled, before the turn was committed). The
re-dispatch supervisor notices the agent left the room and creates a new dispatch
through AgentDispatchService; worker B takes it, restores InformationAgent with its
context from the shared journal, and the caller repeats the unanswered line: the
recorded tool result is replayed, the tool body does not run again, and the booking
completes through ConfirmationAgent and DoneAgent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import pytest
import trio

from trioagents.core import ChatMessage
from trioagents.devserver import DevServer, open_devserver
from trioagents.persistence import (
    JournalStore,
    RedispatchCreated,
    SupervisorEvent,
    SupervisorOptions,
    affinity_key,
    serve_redispatch_supervisor,
    watch_journaled_rooms,
)
from trioagents.protocol import VideoGrants, mint_token
from trioagents.rtc import Room, TextStreamReader, open_room
from trioagents.transport import LiveKitAPI, open_livekit_api

from .resume_agent import AGENT_NAME, CALLER, open_store

pytestmark = pytest.mark.slow

ROOM = "resume-room"
WORKER = (
    "import sys; from trioagents.cli import main; sys.exit(main(['dev', "
    "'tests.e2e.resume_agent:entrypoint', '--url', sys.argv[1], '--agent-name', sys.argv[2], "
    "'--log-level', 'WARNING', '--no-reload']))"
)


@asynccontextmanager
async def worker_process(server: DevServer, env: dict[str, str]) -> AsyncIterator[trio.Process]:
    """A worker in its own process group (``kill -9`` of the group = a crashed host)."""
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), **env)
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", WORKER, server.url, AGENT_NAME],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


class Caller:
    """Reads ``test.reply`` streams in the order the agent sent them."""

    def __init__(self, room: Room, replies: trio.MemoryReceiveChannel[TextStreamReader]) -> None:
        self.room = room
        self._replies = replies
        self.transcript: list[str] = []

    async def say(self, text: str) -> None:
        await self.room.send_text(text, topic="lk.chat")

    async def wait_for(self, fragment: str) -> str:
        async for reader in self._replies:
            reply = await reader.read_all()
            self.transcript.append(reply)
            if fragment in reply:
                return reply
        raise AssertionError("reply channel closed")


async def wait_for_file(path: Path) -> None:
    while not await trio.Path(path).exists():  # noqa: ASYNC110 - another process writes it
        await trio.sleep(0.05)


async def resume_on_b(
    api: LiveKitAPI, store: JournalStore, caller: Caller, nursery: trio.Nursery
) -> None:
    events_send, events = trio.open_memory_channel[SupervisorEvent](10)
    options = SupervisorOptions(poll_interval=0.3, grace_period=0.5, retry_initial=0.3)
    await nursery.start(
        partial(
            serve_redispatch_supervisor,
            api,
            AGENT_NAME,
            watch=watch_journaled_rooms(store, AGENT_NAME),
            options=options,
            events=events_send,
        )
    )
    event = await events.receive()
    assert isinstance(event, RedispatchCreated), event
    assert event.room == ROOM
    # same agent, same context: B's InformationAgent remembers what A's said last
    await caller.wait_for(
        "ready resumed InformationAgent last=Happy to. Your name, party size and time, please?"
    )
    await caller.say("Ada, 4 people at 7pm")  # the line that got no answer
    await caller.wait_for("--> ConfirmationAgent")
    await caller.wait_for("So that is Ada, 4 people at 7pm. Shall I book it?")
    await caller.say("yes")
    await caller.wait_for("--> DoneAgent")
    await caller.wait_for("You're all set")
    nursery.cancel_scope.cancel()
    assert sum("ready" in line for line in caller.transcript) == 2  # one job each


async def run_kill_and_resume(tmp_path: Path, store_spec: str, store: JournalStore) -> None:
    counter = tmp_path / "record_details.count"
    env = {"RESUME_STORE": store_spec, "RESUME_COUNTER": str(counter)}
    async with (
        open_devserver() as server,
        open_livekit_api(server.url, server.api_key, server.api_secret) as api,
    ):
        grants = VideoGrants(room_join=True, room=ROOM)
        token = mint_token(server.api_key, server.api_secret, identity=CALLER, video=grants)
        async with (
            open_room(server.url, token) as room,
            room.text_streams("test.reply") as replies,
            trio.open_nursery() as nursery,
        ):
            caller = Caller(room, replies)
            hang = {**env, "RESUME_HANG_AFTER": "record_details"}
            async with worker_process(server, hang) as a:
                while server.statistics().workers == 0:  # noqa: ASYNC110 - another process
                    await trio.sleep(0.05)
                await api.create_dispatch(ROOM, AGENT_NAME)
                await caller.wait_for("ready new GreeterAgent")
                # B registers while A holds the job: the dev server's own "pending
                # dispatch for a late worker" convenience does not fire, so the only
                # re-dispatch is the supervisor's
                async with worker_process(server, env):
                    while server.statistics().workers < 2:  # noqa: ASYNC110
                        await trio.sleep(0.05)
                    await caller.wait_for("Welcome to Trio Bistro")
                    await caller.say("Hi, I'd like to book a table")
                    await caller.wait_for("--> InformationAgent")
                    await caller.wait_for("Your name, party size and time")
                    await caller.say("Ada, 4 people at 7pm")
                    await wait_for_file(Path(str(counter) + ".hang"))
                    os.killpg(a.pid, signal.SIGKILL)  # mid-turn: tool journaled, turn not
                    await a.wait()
                    assert counter.read_text().split() == [str(a.pid)]
                    await resume_on_b(api, store, caller, nursery)
                    # the dev server saw A's connection die with its job still running
                    assert [j.status for j in server.finished_jobs()] == ["worker_lost"]
    assert counter.read_text().split() == [str(a.pid)], "record_details ran twice"
    entry = await store.load_latest(affinity_key(ROOM, CALLER, AGENT_NAME))
    assert entry is not None
    assert entry.agent_name == "DoneAgent"
    assert entry.userdata == {"name": "Ada", "party_size": 4, "time": "7pm", "confirmed": True}
    said = [item.content for item in entry.chat_items if isinstance(item, ChatMessage)]
    assert "yes" in said
    assert "So that is Ada, 4 people at 7pm. Shall I book it?" in said


async def test_kill_worker_resume_with_sqlite(tmp_path: Path) -> None:
    spec = f"sqlite:{tmp_path / 'journal.db'}"
    with trio.fail_after(90):
        async with open_store(spec) as store:
            await run_kill_and_resume(tmp_path, spec, store)


async def test_kill_worker_resume_with_redis_and_two_workers(
    tmp_path: Path, redis_url: str
) -> None:
    """The same over Redis: A and B are two workers sharing only the Redis journal."""
    with trio.fail_after(90):
        async with open_store(redis_url) as store:
            await store.delete(affinity_key(ROOM, CALLER, AGENT_NAME))  # shared server
            await run_kill_and_resume(tmp_path, redis_url, store)
