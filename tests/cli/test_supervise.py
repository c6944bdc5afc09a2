"""``trioagents supervise``: arguments, configuration errors, and a run against the dev server."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from trioagents.cli import main
from trioagents.cli._supervise import build_parser, supervise
from trioagents.devserver import open_devserver
from trioagents.persistence import JournalEntry, affinity_key, open_journal_store
from trioagents.protocol import VideoGrants, mint_token
from trioagents.rtc import open_room
from trioagents.transport import LiveKitAPI, open_livekit_api

CREDENTIALS = ["--url", "ws://127.0.0.1:9", "--api-key", "k", "--api-secret", "s"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """main() configures the root logger for the process; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing:
        main(["supervise", "--marker", "m", *CREDENTIALS])  # no --agent-name
    assert missing.value.code == 2
    assert "--agent-name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["supervise", "--agent-name", "a", *CREDENTIALS])  # no --journal/--marker
    secret_spec = "mysql://user:hunter2@db"
    assert main(["supervise", "--agent-name", "a", *CREDENTIALS, "--journal", secret_spec]) == 2
    err = capsys.readouterr().err
    assert "use sqlite:PATH or redis://" in err
    assert "hunter2" not in err  # the spec may carry a password: never echoed


@pytest.mark.parametrize("watch", ["journal", "marker"])
async def test_a_room_whose_agent_is_gone_gets_a_new_dispatch(watch: str, tmp_path: Path) -> None:
    """Real dev server, real HTTP; the caller stays, no agent: the supervisor dispatches."""
    spec = f"sqlite:{tmp_path / 'journal.db'}"
    async with open_journal_store(spec) as store:  # the caller has a journal with "support"
        key = affinity_key("call-1", "caller", "support")
        entry = JournalEntry(session_key=key, sequence=0, agent_name="support", written_at=0.0)
        await store.append(entry)
    with trio.fail_after(20):
        async with (
            open_devserver() as server,
            open_livekit_api(server.url, server.api_key, server.api_secret) as api,
        ):
            for name in ("call-1", "call-2"):  # call-2: neither journaled nor marked
                metadata = json.dumps({"supervised": name == "call-1"})
                await api.create_room(name, metadata=metadata)
            grants = VideoGrants(room_join=True, room="call-1")
            token = mint_token(server.api_key, server.api_secret, identity="caller", video=grants)
            other = VideoGrants(room_join=True, room="call-2")
            token2 = mint_token(server.api_key, server.api_secret, identity="other", video=other)
            async with (
                open_room(server.url, token),
                open_room(server.url, token2),
                trio.open_nursery() as nursery,
            ):
                argv = ["--agent-name", "support", "--url", server.url]
                argv += ["--api-key", server.api_key, "--api-secret", server.api_secret]
                argv += ["--journal", spec] if watch == "journal" else ["--marker", "supervised"]
                argv += ["--poll-interval", "0.05", "--grace-period", "0.2"]
                args: argparse.Namespace = build_parser().parse_args(argv)
                await nursery.start(supervise, args)
                # the dispatch is made by another task, seen only through the server
                while not await support_dispatches(api, "call-1"):  # noqa: ASYNC110
                    await trio.sleep(0.05)
                await trio.sleep(0.5)  # several more polls: still one dispatch
                nursery.cancel_scope.cancel()
            assert len(await support_dispatches(api, "call-1")) == 1
            assert await support_dispatches(api, "call-2") == []


async def support_dispatches(api: LiveKitAPI, room: str) -> list[str]:
    """Dispatches for "support" (the dev server also keeps each room's implicit one)."""
    return [d.id for d in await api.list_dispatch(room) if d.agent_name == "support"]
