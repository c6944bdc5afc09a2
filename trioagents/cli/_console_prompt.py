"""The console's prompt: typed lines in, printed lines out.

On a terminal the line is read with ``input()`` and the standard library's
``readline`` (history, cursor keys, Ctrl-A/E ...), in a worker thread
(``trio.to_thread.run_sync(..., abandon_on_cancel=True)``), so Ctrl-C cancels the
console at once even mid-line; Ctrl-D (end of input) ends the conversation. A
line printed while the prompt is up is written above it and the prompt is
redrawn. The terminal's settings are saved on entry and restored on exit, so an
abandoned ``input()`` cannot leave the terminal without echo.

From a pipe (tests, ``echo ... | trioagents console --text``) lines are read
plainly and no prompt is printed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import trio

__all__ = ["Prompt", "open_prompt"]

PROMPT = "you> "


class Prompt:
    """Read user lines; print console lines (see the module docstring)."""

    def __init__(self, stdin: TextIO, stdout: TextIO, *, interactive: bool) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self.interactive = interactive
        self._readline: Any = None
        self._reading = False
        if interactive:
            with contextlib.suppress(ImportError):  # Windows has no readline
                import readline

                self._readline = readline

    def _read(self) -> str | None:
        if not self.interactive:
            line = self._stdin.readline()
            return line if line else None
        try:
            return input(PROMPT)
        except EOFError:
            return None

    async def read_line(self) -> str | None:
        """The next line without its newline, or None at end of input (Ctrl-D).

        Cancellable at any time: the reading thread is abandoned.
        """
        self._reading = True
        try:
            line = await trio.to_thread.run_sync(self._read, abandon_on_cancel=True)
        finally:
            self._reading = False
        return None if line is None else line.rstrip("\n")

    def emit(self, text: str) -> None:
        """Print one line (above the prompt, if it is shown)."""
        if self.interactive and self._reading:
            self._stdout.write("\r\x1b[K" + text + "\n")
            self._stdout.flush()
            if self._readline is not None:
                self._readline.redisplay()
            else:
                self._stdout.write(PROMPT)
                self._stdout.flush()
            return
        self._stdout.write(text + "\n")
        self._stdout.flush()


@contextlib.contextmanager
def open_prompt(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> Iterator[Prompt]:
    """A :class:`Prompt`; on a terminal, its settings are restored on exit."""
    interactive = stdin.isatty() and stdout.isatty()
    saved: Any = None
    if interactive:
        with contextlib.suppress(ImportError, OSError):
            import termios

            saved = termios.tcgetattr(stdin.fileno())
    try:
        yield Prompt(stdin, stdout, interactive=interactive)
    finally:
        if saved is not None:
            import termios

            with contextlib.suppress(OSError):
                termios.tcsetattr(stdin.fileno(), termios.TCSADRAIN, saved)
