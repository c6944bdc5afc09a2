"""``trioagents trace FILE [-o OUT] [--session ID]``: decision log → HTML timeline.

The CLI package calls :func:`trace_main` with the arguments after ``trace``. It is a
plain synchronous function (no event loop): read the file, validate every line,
pick one session, write the page. Exit codes: 0 written, 2 bad input or usage.
Errors name the line and the problem, never the line's content.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ._decision_log import DecisionLogFormatError, DecisionRecord, read_decision_log
from ._timeline import render_timeline_html

__all__ = ["trace_main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trioagents trace",
        description="Render one session of a decision log (JSON lines) as an HTML timeline.",
    )
    parser.add_argument("file", type=Path, help="decision log written by DecisionLog")
    parser.add_argument("-o", "--output", type=Path, help="HTML file (default: FILE.html)")
    parser.add_argument("--session", help="session id (required if the log has several)")
    return parser


def trace_main(argv: Sequence[str] | None = None, *, stderr: TextIO | None = None) -> int:
    """Run the ``trace`` subcommand; returns the exit status."""
    err = stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage
        return int(exc.code or 0)
    try:
        with args.file.open("rb") as stream:
            records = read_decision_log(stream)
    except OSError as exc:
        print(f"trioagents trace: cannot read {args.file}: {exc.strerror}", file=err)
        return 2
    except DecisionLogFormatError as exc:
        print(f"trioagents trace: {args.file}: {exc}", file=err)
        return 2
    chosen = _select(records, args.session, err)
    if chosen is None:
        return 2
    output = args.output or args.file.with_suffix(".html")
    output.write_text(render_timeline_html(chosen), encoding="utf-8")
    print(f"wrote {output} ({len(chosen)} decisions)", file=err)
    return 0


def _select(
    records: list[DecisionRecord], session: str | None, err: TextIO
) -> list[DecisionRecord] | None:
    sessions = sorted({r.session_id for r in records})
    if not sessions:
        print("trioagents trace: the log has no decisions", file=err)
        return None
    if session is None and len(sessions) > 1:
        listed = ", ".join(sessions[:20])
        print(f"trioagents trace: several sessions, pick one with --session: {listed}", file=err)
        return None
    wanted = session if session is not None else sessions[0]
    chosen = [r for r in records if r.session_id == wanted]
    if not chosen:
        print("trioagents trace: no decisions for that session", file=err)
        return None
    return chosen
