"""``trioagents console --text``: a subprocess with piped stdin, and its error path.

The audio mode is tested on a fake device in ``test_console_audio.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = "import sys; from trioagents.cli import main; sys.exit(main(sys.argv[1:]))"


def run_console(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run(
        [sys.executable, "-c", RUN, "console", "--text", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def test_console_runs_piped_lines_through_the_booking_agent() -> None:
    result = run_console(stdin="Hi, I'd like to book a table\n\nAda, 4 people at 7pm\nyes\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "LLM scripted-llm" in lines[0]  # says which model answers
    replies = [line for line in lines if line.startswith("agent: ")]
    assert replies == [
        "agent: Welcome to Trio Bistro! Would you like to book a table?",
        "agent: Happy to. Your name, party size and time, please?",
        "agent: So that is Ada, 4 people at 7pm. Shall I book it?",
        "agent: You're all set. See you soon, goodbye!",
    ]
    assert ' tool: record_details({"name": "Ada", "party_size": 4, "time": "7pm"})' in lines
    assert "   --> ConfirmationAgent" in lines


def test_console_ends_at_end_of_input_after_the_greeting() -> None:
    result = run_console(stdin="")
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("agent: ")] == [
        "agent: Welcome to Trio Bistro! Would you like to book a table?"
    ]


def test_console_says_how_to_fix_a_bad_agent_reference() -> None:
    result = run_console("--agent", "no_such_module_here:factory", stdin="")
    assert result.returncode == 2
    assert "cannot import 'no_such_module_here'" in result.stderr
    assert "--agent module:factory" in result.stderr


def test_console_runs_the_job_entrypoint_dev_and_start_run() -> None:
    """The same reference as ``trioagents dev``: a worker job on a loopback dev server."""
    result = run_console(
        "examples.restaurant_booking.main:entrypoint",
        stdin="Hi, I'd like to book a table\nAda, 4 people at 7pm\nyes\n",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "(job entrypoint), text" in lines[0]
    assert [line for line in lines if line.startswith("agent: ")] == [
        "agent: Welcome to Trio Bistro! Would you like to book a table?",
        "agent: Happy to. Your name, party size and time, please?",
        "agent: So that is Ada, 4 people at 7pm. Shall I book it?",
        "agent: You're all set. See you soon, goodbye!",
    ]
    assert "Traceback" not in result.stderr
