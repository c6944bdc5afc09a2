"""End to end, real clock, real sockets: the demo, and a call whose job completes.

Both run the embedded dev server, an in-process worker and a simulated caller on
loopback; each is bounded (``fail_after`` / subprocess timeout).
"""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from livekit.protocol import agent

from trioagents.cli._demo import DemoOptions, run_demo, wait_job_reported
from trioagents.cli._demo_agent import DEFAULT_AGENT, load_agent_spec, make_entrypoint
from trioagents.cli._demo_caller import CallerScript, SimulatedCaller
from trioagents.cli._demo_pipeline import choose_agent_pipeline, choose_caller_voice
from trioagents.cli._demo_report import DemoReporter
from trioagents.core import ConfigurationError
from trioagents.devserver import open_devserver
from trioagents.protocol import VideoGrants, mint_token
from trioagents.providers import SmartTurnDetector
from trioagents.rtc import open_room
from trioagents.testing import OpenAIServerOptions, open_openai_server
from trioagents.worker import WorkerOptions, open_worker

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPLIES = [
    "Welcome to Trio Bistro! Would you like to book a table?",
    "Happy to. Your name, party size and time, please?",
    "So that is ada, 4 people at 7pm. Shall I book it?",
    "You're all set. See you soon, goodbye!",
]


def _smart_turn_installed() -> bool:
    try:
        SmartTurnDetector()
    except ConfigurationError:
        return False
    return True


@pytest.mark.parametrize("voice", ["auto", "espeak"])
def test_demo_command_prints_the_conversation_and_exits_0(voice: str) -> None:
    """``auto`` is piper where installed (scripts/test.sh and scripts/demo.sh install
    it); the espeak caller voice is the fallback without it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    code = "import sys; from trioagents.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, "demo", "--caller-voice", voice],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    said = [line.split("AGENT   ", 1)[1].split("   [", 1)[0] for line in out.splitlines()
            if "AGENT   " in line]  # fmt: skip
    heard = [  # a line said with a pause is heard in pieces
        ast.literal_eval(line.split("(agent heard: ", 1)[1][:-1])
        for line in out.splitlines()
        if "agent heard" in line
    ]
    callers = [line.split("CALLER  ", 1)[1] for line in out.splitlines() if "CALLER  " in line]
    assert [c.split("   (")[0] for c in callers] == [
        "Hi, I'd like to book a table",
        "Ada, 4 people at ... 7pm",
        "yes",
    ]
    assert " ".join(heard) == "hi i'd like to book a table ada 4 people at 7pm yes"
    assert "false cuts (turn taken while the caller was mid-line): 0" in out
    if _smart_turn_installed():
        assert "using turn detector: Smart Turn v3.2 audio model" in out
    assert said == REPLIES  # the name as recognized: lower case
    assert "turns answered: 3 of 3 caller lines" in out
    assert "job status on the dev server: success" in out
    assert "using LLM: scripted-llm" in out
    assert "JSGF grammar of the caller's lines (deterministic)" in out
    assert out.count("[heard after ") == 4
    assert out.count("(caller heard: ") == 4  # the caller transcribed every reply
    assert "agent words the caller heard (its own STT): " in out


async def test_demo_saves_both_sides_of_the_call(tmp_path: Path) -> None:
    import wave

    import numpy as np

    options = DemoOptions()
    options.text, options.save_wav = True, str(tmp_path / "call.wav")
    lines: list[str] = []
    with trio.fail_after(60):
        reporter = await run_demo(options, lines.append)
    assert reporter.job_status == "success"
    with wave.open(options.save_wav) as recorded:
        assert (recorded.getnchannels(), recorded.getframerate()) == (2, 16000)
        pcm = np.frombuffer(recorded.readframes(recorded.getnframes()), dtype="<i2")
    caller, agent = pcm[0::2].astype(float), pcm[1::2].astype(float)
    assert pcm.size / 2 / 16000 > 5
    assert np.sqrt(np.mean(caller**2)) > 100  # the caller's tones, left
    assert np.sqrt(np.mean(agent**2)) > 100  # the agent's voice, right
    assert any("call saved to" in line and "left caller, right agent" in line for line in lines)


async def test_call_with_injected_text_completes_the_job_on_the_dev_server() -> None:
    """register → dispatch → agent joins → conversation → caller leaves → job success."""
    lines: list[str] = []
    reporter = DemoReporter(lines.append)
    spec = load_agent_spec(DEFAULT_AGENT)
    pipeline = choose_agent_pipeline(spec.caller_lines, speech=False)
    script = await CallerScript.synthesize(spec.caller_lines, choose_caller_voice("tones"))
    with trio.fail_after(60):
        async with open_devserver() as server:
            options = WorkerOptions(url=server.url, api_key=server.api_key,
                                    api_secret=server.api_secret, load_threshold=math.inf,
                                    shutdown_grace=3.0)  # fmt: skip
            async with open_worker(options, make_entrypoint(spec, pipeline, reporter)) as worker:
                await worker.wait_registered()
                assert server.statistics().workers == 1
                grants = VideoGrants(room_join=True, room="e2e")
                token = mint_token(
                    server.api_key, server.api_secret, identity="guest", video=grants
                )
                async with open_room(server.url, token) as room:
                    caller = SimulatedCaller(room, script, reporter, inject_text=True)
                    await caller.run()
                    jobs = list(server.agents.jobs.values())
                    assert [record.job.state.status for record in jobs] == [agent.JS_RUNNING]
                    assert jobs[0].job.room.name == "e2e"
                assert await wait_job_reported(server, worker) == "success"
                stats = worker.statistics()
                assert (stats.jobs_started, stats.jobs_succeeded, stats.jobs_failed) == (1, 1, 0)
    assert [t.reply for t in reporter.turns] == [
        "Welcome to Trio Bistro! Would you like to book a table?",
        "Happy to. Your name, party size and time, please?",
        "So that is Ada, 4 people at 7pm. Shall I book it?",
        "You're all set. See you soon, goodbye!",
    ]
    assert [t.caller_line for t in reporter.turns[1:]] == list(spec.caller_lines)
    assert all(t.latency is not None and 0 < t.latency < 5 for t in reporter.turns)


async def test_a_failing_agent_ends_the_demo_early_with_the_job_failed() -> None:
    lines: list[str] = []
    options = DemoOptions()
    options.agent, options.text = "tests.e2e.agents:broken_factory", True
    with trio.fail_after(20):
        reporter = await run_demo(options, lines.append)
    assert reporter.job_status == "failed"
    assert any("the agent's job failed: RuntimeError" in line for line in lines)
    assert "this agent cannot be built" not in "\n".join(lines)  # no error text printed
    assert "turns answered: 0 of 0 caller lines" in lines


async def test_demo_uses_an_openai_compatible_llm_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines: list[str] = []
    options = DemoOptions()
    options.text = True  # the LLM is the point here; text injection keeps it quick
    server_options = OpenAIServerOptions(chat_text="Certainly.", chunk_interval=0.0)
    with trio.fail_after(45):
        async with open_openai_server(server_options) as llm_server:
            monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
            monkeypatch.setenv("OPENAI_API_KEY", "test-key")
            reporter = await run_demo(options, lines.append)
    assert any("using LLM: openai-llm:" in line for line in lines)
    assert [t.reply for t in reporter.turns] == ["Certainly."] * 4
    assert len(llm_server.requests) == 4  # the greeting and one reply per caller line
    assert reporter.job_status == "success"
