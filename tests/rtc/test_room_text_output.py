"""Word-paced agent transcripts: coalesced per utterance, final last, nothing after."""

from __future__ import annotations

import trio

from trioagents.roomio import RoomTextOutput


class RecordingRoom:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.gate = trio.Event()

    async def send_text(
        self, text: str, *, topic: str, attributes: dict[str, str] | None = None
    ) -> None:
        assert topic == "lk.transcription"
        await self.gate.wait()  # a slow network: updates pile up meanwhile
        self.sent.append((text, dict(attributes or {})))


async def test_updates_are_coalesced_and_the_final_is_exact(autojump_clock: object) -> None:
    room = RecordingRoom()
    output = RoomTextOutput()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(output.serve, room, lambda: "TR_agent")
        output.publish_transcript("speech_1", "Welcome", final=False)
        await trio.sleep(0.1)  # the first send is in flight, held by the gate
        output.publish_transcript("speech_1", "Welcome to", final=False)
        output.publish_transcript("speech_1", "Welcome to Trio", final=False)
        output.publish_transcript("speech_1", "Welcome to Trio", final=True)  # barge-in here
        output.publish_transcript("speech_1", "Welcome to Trio Bistro", final=False)  # ignored
        room.gate.set()
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert [(text, a["lk.transcription_final"]) for text, a in room.sent] == [
        ("Welcome", "false"),
        ("Welcome to Trio", "true"),
    ]
    assert {a["lk.segment_id"] for _, a in room.sent} == {"speech_1"}
    assert {a["lk.transcribed_track_id"] for _, a in room.sent} == {"TR_agent"}
    assert output.used


async def test_a_backlog_is_bounded_to_one_update_per_utterance(autojump_clock: object) -> None:
    output = RoomTextOutput()  # nobody serving yet: publishing still returns at once
    for i in range(1000):
        output.publish_transcript(f"speech_{i % 3}", f"{i} words", final=False)
    room = RecordingRoom()
    room.gate.set()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(output.serve, room)
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert [text for text, _ in room.sent] == ["997 words", "998 words", "999 words"]
