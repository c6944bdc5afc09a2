"""Docstring parsing for tool descriptions (Google and Sphinx styles).

Only two things are extracted: the summary (text before the first section) and one
description per parameter. Everything else (``Returns:``, ``Raises:``, examples) is
ignored, because the LLM is told about the arguments, not about our internals.

Rejected alternative: depending on ``docstring_parser``. The two styles we accept
fit in a page of regular expressions, and a dependency for it would be heavier than
the code.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["ParsedDocstring", "parse_docstring"]

_GOOGLE_ARGS = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args):\s*$")
_GOOGLE_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")
_GOOGLE_PARAM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?\*{0,2}(\w+)\s*:\s*(.*)$")
_SPHINX_FIELD = re.compile(r"^:\w+")


@dataclass(frozen=True, slots=True)
class ParsedDocstring:
    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> ParsedDocstring:
    """Split ``doc`` into a summary and per-parameter descriptions. Never raises."""
    if not doc:
        return ParsedDocstring()
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if _GOOGLE_ARGS.match(stripped) and not line.startswith(" "):
            index = _parse_google_args(lines, index + 1, params)
        elif _GOOGLE_SECTION.match(stripped) and not line.startswith(" "):
            index = _skip_section(lines, index + 1)
        elif stripped.startswith(":param"):
            index = _parse_sphinx_param(lines, index, params)
        elif _SPHINX_FIELD.match(stripped):
            index = _skip_continuation(lines, index + 1)
        else:
            summary.append(stripped)
            index += 1
    return ParsedDocstring(_join(summary), params)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_google_args(lines: list[str], index: int, params: dict[str, str]) -> int:
    current: str | None = None
    param_indent: int | None = None
    while index < len(lines):
        line = lines[index]
        if line.strip() and _indent(line) == 0:
            break
        if not line.strip():
            index += 1
            continue
        match = _GOOGLE_PARAM.match(line.strip())
        if match and (param_indent is None or _indent(line) <= param_indent):
            param_indent = _indent(line)
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current is not None:
            params[current] = _join([params[current], line.strip()])
        index += 1
    return index


def _parse_sphinx_param(lines: list[str], index: int, params: dict[str, str]) -> int:
    match = _SPHINX_PARAM.match(lines[index].strip())
    end = _skip_continuation(lines, index + 1)
    if match:
        text = [match.group(2).strip(), *(line.strip() for line in lines[index + 1 : end])]
        params[match.group(1)] = _join(text)
    return end


def _skip_continuation(lines: list[str], index: int) -> int:
    while index < len(lines) and lines[index].startswith(" ") and lines[index].strip():
        index += 1
    return index


def _skip_section(lines: list[str], index: int) -> int:
    while index < len(lines) and (not lines[index].strip() or _indent(lines[index]) > 0):
        index += 1
    return index


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())
