"""``JobContext.wait_for_participant`` (LiveKit's): connects, then waits for a match."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio
import trio.testing
from livekit.protocol import agent, models

from trioagents.core import JobError
from trioagents.worker import (
    ConnectOptions,
    JobContext,
    JobControl,
    JobInfo,
    JobProcess,
    run_job,
)


@dataclass
class Participant:
    identity: str
    kind: int = models.ParticipantInfo.STANDARD


@dataclass
class Room:
    participants: dict[str, Participant] = field(default_factory=dict)
    closed: bool = False
    changed: trio.Event = field(default_factory=trio.Event)

    @property
    def remote_participants(self) -> dict[str, Participant]:
        return dict(self.participants)

    async def wait_state_changed(self) -> None:
        await self.changed.wait()

    def join(self, participant: Participant) -> None:
        self.participants[participant.identity] = participant
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = trio.Event()


class Rooms:
    def __init__(self, room: Room) -> None:
        self.room = room
        self.connects = 0

    @asynccontextmanager
    async def __call__(self, url: str, token: str, options: ConnectOptions) -> AsyncIterator[Room]:
        self.connects += 1
        yield self.room


async def run_entrypoint(rooms: Rooms, body: Any) -> Any:
    job = agent.Job(id="AJ_1")
    info = JobInfo(job, "ws://127.0.0.1:1", "tok", "AW_1", "agent-AJ_1")
    results: list[Any] = []

    async def entrypoint(ctx: JobContext) -> None:
        results.append(await body(ctx))

    outcome = await run_job(
        info, entrypoint, JobControl(), room_factory=rooms, proc=JobProcess(), grace=1.0
    )
    return outcome, results


async def test_waits_for_the_first_standard_participant_and_connects_itself(
    autojump_clock: trio.testing.MockClock,
) -> None:
    room = Room()
    rooms = Rooms(room)

    async def body(ctx: JobContext) -> Any:
        async with trio.open_nursery() as nursery:

            async def arrivals() -> None:
                await trio.sleep(1)
                room.join(Participant("egress-1", models.ParticipantInfo.EGRESS))
                room.join(Participant("another-agent", models.ParticipantInfo.AGENT))
                await trio.sleep(1)
                room.join(Participant("caller"))

            nursery.start_soon(arrivals)
            participant = await ctx.wait_for_participant()
            return participant.identity, trio.current_time()

    outcome, [(identity, when)] = await run_entrypoint(rooms, body)
    assert outcome.status == agent.JS_SUCCESS
    assert identity == "caller"
    assert when == pytest.approx(2.0, abs=0.01)
    assert rooms.connects == 1


async def test_returns_at_once_when_present_and_filters_by_identity_and_kind(
    autojump_clock: trio.testing.MockClock,
) -> None:
    room = Room()
    room.join(Participant("alice"))
    room.join(Participant("sip-bob", models.ParticipantInfo.SIP))
    rooms = Rooms(room)

    async def body(ctx: JobContext) -> Any:
        start = trio.current_time()
        bob = await ctx.wait_for_participant(identity="sip-bob")
        sip = await ctx.wait_for_participant(kind=models.ParticipantInfo.SIP)
        with trio.move_on_after(5) as waited:  # identity matches, kind does not
            await ctx.wait_for_participant(identity="alice", kind=[models.ParticipantInfo.SIP])
        return bob.identity, sip.identity, waited.cancelled_caught, trio.current_time() - start

    _, [(bob, sip, timed_out, elapsed)] = await run_entrypoint(rooms, body)
    assert (bob, sip) == ("sip-bob", "sip-bob")
    assert timed_out
    assert elapsed == pytest.approx(5.0)


async def test_the_room_closing_first_is_a_job_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    room = Room()
    rooms = Rooms(room)
    errors: list[BaseException] = []

    async def body(ctx: JobContext) -> None:
        async with trio.open_nursery() as nursery:

            async def hang_up() -> None:
                await trio.sleep(3)
                room.close()

            nursery.start_soon(hang_up)
            try:
                await ctx.wait_for_participant(identity="nobody")
            except JobError as exc:
                errors.append(exc)

    await run_entrypoint(rooms, body)
    [error] = errors
    assert "room closed" in str(error)
