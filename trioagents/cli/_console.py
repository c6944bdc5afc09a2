"""``trioagents console [ENTRY]``: talk to an agent in the terminal, no server to start.

``ENTRY`` is ``module:function``, either of:

* a **job entrypoint** (``async def entrypoint(ctx)``), the same reference
  ``trioagents dev``/``start`` take: it runs unchanged, in this process, as a job of
  a worker registered with an embedded dev server on a loopback port; you join
  the room as the caller (see ``_console_room.py``);
* a **session factory** (``factory(llm=None) -> (session, agent)``, the seam of the
  demo): the session runs here directly, without a room.

Default: the restaurant-booking demo agent's factory (``--agent`` is the older
spelling of ``ENTRY``).

Modes: with a microphone and speaker (``sounddevice``, the ``console`` extra) by
default, or ``--text``: type a line, read the reply. In audio mode you can type
too. Ctrl-D ends the conversation (exit 0); Ctrl-C interrupts (one line, 130).
Without a usable sound device the console says why and suggests ``--text`` (exit
2). A factory session missing speech providers gets the offline ones the demo
uses (VAD, pocketsphinx open language model, espeak-ng, or stand-ins), each
named on start.

Text mode with a factory prints the agent's replies, tool calls and handoffs as
the session's events arrive; with an entrypoint, what the room carries: the
agent's transcript (``lk.transcription``).
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import trio

from ..core import AgentHandoff, ChatMessage, ConfigurationError, FunctionCall, TrioAgentsError
from ..voice import AgentSession, ConversationItemAdded, SessionEvent, UserInputTranscribed
from ._console_audio import ConsoleAudio, load_sounddevice, open_console_audio
from ._console_prompt import Prompt, open_prompt
from ._demo_agent import DEFAULT_AGENT, load_agent_spec
from ._interrupt import interrupted_line, run_until_interrupted

__all__ = ["ConsoleOptions", "build_parser", "describe", "main", "run_console"]

EXIT_CONFIGURATION = 2


class ConsoleOptions(argparse.Namespace):
    entry: str | None = None
    agent: str | None = None
    text: bool = False
    input_device: str | None = None
    output_device: str | None = None
    list_devices: bool = False
    log_level: str = "WARNING"

    @property
    def reference(self) -> str:
        return self.entry or self.agent or DEFAULT_AGENT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trioagents console", description=__doc__.splitlines()[0])
    parser.add_argument("entry", nargs="?", help="job entrypoint or session factory, module:fn")
    parser.add_argument("--agent", help="same as ENTRY (older spelling)")
    parser.add_argument("--text", action="store_true", help="text mode: type, read")
    parser.add_argument("--input-device", help="microphone: PortAudio device index or name")
    parser.add_argument("--output-device", help="speaker: PortAudio device index or name")
    parser.add_argument("--list-devices", action="store_true", help="list sound devices")
    parser.add_argument("--log-level", default="WARNING", help="library logs (stderr)")
    return parser


def describe(event: SessionEvent, *, heard: bool = False) -> str | None:
    """A printable line for a conversation item; ``heard`` adds the user's transcripts."""
    if heard and isinstance(event, UserInputTranscribed) and event.is_final:
        return f"  you: {event.transcript}" if event.transcript.strip() else None
    if not isinstance(event, ConversationItemAdded):
        return None
    item = event.item
    if isinstance(item, ChatMessage) and item.role == "assistant" and item.content:
        return f"agent: {item.content}"
    if isinstance(item, FunctionCall):
        return f" tool: {item.name}({item.arguments})"
    if isinstance(item, AgentHandoff):
        return f"   --> {item.new_agent}"
    return None


async def _print_events(
    events: trio.MemoryReceiveChannel[SessionEvent], emit: Callable[[str], None], heard: bool
) -> None:
    async for event in events:
        line = describe(event, heard=heard)
        if line is not None:
            emit(line)


async def run_console(
    session: AgentSession[Any],
    agent: Any,
    prompt: Prompt,
    workflow: Any = None,
    audio: ConsoleAudio | None = None,
) -> None:
    """Run ``session`` on the prompt's lines (and ``audio``) until end of input.

    Text only: each line is one ``session.run``; a provider error of a turn is
    printed and the conversation goes on. With ``audio`` the session listens to
    the microphone and speaks through the speaker; a typed line interrupts and
    gets a reply, as ``lk.chat`` does in a room. Cancelled with the caller (the
    session closes within its grace; the audio streams close after it).
    """
    events = session.subscribe()
    inputs: dict[str, Any] = {}
    if audio is not None:
        inputs = {"audio_input": audio.microphone, "audio_output": audio.speaker}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_print_events, events, prompt.emit, audio is not None)
        async with session.start(agent, workflow=workflow, **inputs):
            await session.wait_idle()
            while (line := await prompt.read_line()) is not None:
                if not line.strip():
                    continue
                if audio is not None:
                    session.interrupt()
                    session.generate_reply(user_input=line.strip())
                    continue
                try:
                    await session.run(user_input=line.strip())
                except TrioAgentsError as exc:
                    prompt.emit(f"error: {type(exc).__name__}")
        nursery.cancel_scope.cancel()


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


async def _open_audio(
    stack: AsyncExitStack, sounddevice: Any, options: ConsoleOptions, output_rate: int
) -> ConsoleAudio:
    return await stack.enter_async_context(
        open_console_audio(
            sounddevice,
            output_rate=output_rate,
            input_device=_device(options.input_device),
            output_device=_device(options.output_device),
        )
    )


async def _run_factory(
    options: ConsoleOptions, factory: Callable[..., Any], workflow: Any, sounddevice: Any
) -> None:
    session, agent = factory(llm=None)
    if sounddevice is not None:
        from ._demo_pipeline import choose_console_pipeline

        pipeline = choose_console_pipeline()
        session.vad = session.vad or pipeline.vad
        session.stt = session.stt or pipeline.stt
        session.tts = session.tts or pipeline.tts
        notes = pipeline.notes
    else:
        notes = ()
    label = session.llm.label if session.llm is not None else "none"
    mode = "text" if sounddevice is None else "audio"
    with open_prompt() as prompt:
        prompt.emit(f"console: {options.reference}, LLM {label}, {mode}; Ctrl-D to end")
        for note in notes:
            prompt.emit(f"console: using {note}")
        async with AsyncExitStack() as stack:
            audio = None
            if sounddevice is not None and session.tts is not None:
                audio = await _open_audio(stack, sounddevice, options, session.tts.sample_rate)
            await run_console(session, agent, prompt, workflow, audio)


async def _run_entrypoint(options: ConsoleOptions, entrypoint: Any, sounddevice: Any) -> None:
    from ._console_room import run_room_console

    mode = "text" if sounddevice is None else "audio"
    with open_prompt() as prompt:
        prompt.emit(f"console: {options.reference} (job entrypoint), {mode}; Ctrl-D to end")
        async with AsyncExitStack() as stack:
            audio = None
            if sounddevice is not None:
                audio = await _open_audio(stack, sounddevice, options, 24000)
            await run_room_console(entrypoint, prompt, audio)


def _list_devices(sounddevice: Any) -> int:
    print(sounddevice.query_devices())
    return 0


def _resolve(reference: str) -> tuple[Callable[..., Any], Any, bool]:
    """``(target, workflow, is_entrypoint)``: an ``async def`` is a job entrypoint,
    any other callable a factory; ConfigurationError saying how to fix it."""
    spec = load_agent_spec(reference, lines=("-",))  # puts the cwd on sys.path, like dev
    return spec.factory, spec.workflow, inspect.iscoroutinefunction(spec.factory)


def main(argv: Sequence[str] | None = None) -> int:
    """``trioagents console [ENTRY] [--text] ...``; returns the exit status."""
    options = build_parser().parse_args(argv, namespace=ConsoleOptions())
    logging.basicConfig(
        level=options.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        sounddevice = None if options.text else load_sounddevice()
        if options.list_devices:
            return _list_devices(sounddevice or load_sounddevice())
        target, workflow, is_entrypoint = _resolve(options.reference)
        if is_entrypoint:
            stopped = run_until_interrupted(_run_entrypoint, options, target, sounddevice)
        else:
            stopped = run_until_interrupted(_run_factory, options, target, workflow, sounddevice)
    except ConfigurationError as exc:  # NoSoundDevice included: it suggests --text
        print(f"console: {exc}", file=sys.stderr)
        return EXIT_CONFIGURATION
    return interrupted_line("console") if stopped else 0
