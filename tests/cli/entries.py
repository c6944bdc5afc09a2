"""Entrypoints and delegates used by the CLI tests."""

from __future__ import annotations

from trioagents.worker import JobContext

calls: list[list[str]] = []


async def entrypoint(ctx: JobContext) -> None:
    await ctx.wait_for_shutdown()


def fake_subcommand(argv: list[str]) -> int:
    calls.append(argv)
    return 7
