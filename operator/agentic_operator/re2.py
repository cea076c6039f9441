"""Patterns shared with the API server, read by Python as RE2 reads them.

The CRD's ``pattern`` keywords run on the API server's RE2 (Go's ``regexp``); ``validate()``,
the stack config and the settings run the same patterns on Python's ``re``. The two
engines agree on a common core (literals, classes of literal ranges, groups, alternation,
greedy quantifiers, ``^``, ``.``), and differ on the rest:

- ``$``: without the ``m`` flag RE2 matches it only at the end of the text; Python's ``$``
  also matches before a final newline, so ``^abc$`` accepts ``"abc\\n"``. :func:`python_pattern`
  writes every ``$`` outside a class as ``\\Z`` (Python's end of text).
- ``\\s \\d \\w \\b``: ASCII classes in RE2, Unicode in Python (Python's ``\\s`` matches U+00A0,
  U+2028, U+3000, ...; its ``\\d`` matches Arabic-Indic digits).
- Python only: lookarounds, backreferences, atomic groups, possessive quantifiers, ``\\u``
  and ``\\N`` escapes, ``\\Z``, ``{,n}`` (RE2 reads it as a literal), inline flags (whose
  Unicode case folding differs).
- RE2 only: POSIX classes (``[[:alpha:]]``, a plain set to Python), ``\\p{..}``,
  ``\\Q..\\E``, ``\\x{..}``, ``\\z``, ``\\A``.

:func:`python_pattern` refuses a pattern that uses any of these, so a shared pattern cannot
mean two things; tests/cluster/test_crd.py holds the common core to the real server's
verdict on strings with every tricky character class.
Ref: https://github.com/google/re2/wiki/Syntax
"""

from __future__ import annotations

import functools
import re

# Escapes whose meaning differs (or that one engine lacks); digits are backreferences in
# Python and octal in RE2.
_DIFFERENT_ESCAPES = frozenset("sSdDwWbBAZzpPQEuUNCGXRKhHvV123456789")


class UnsharedPattern(ValueError):
    """A pattern that RE2 and Python would read differently."""


def _refuse(pattern: str, at: int, what: str) -> UnsharedPattern:
    return UnsharedPattern(f"{pattern!r} at {at}: {what} reads differently in RE2 and Python")


def translate(pattern: str) -> str:
    """The pattern as Python must read it to mean what it means to RE2."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char, following = pattern[i], pattern[i + 1 : i + 3]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped in _DIFFERENT_ESCAPES or not escaped:
                raise _refuse(pattern, i, f"the escape \\{escaped}")
            if escaped == "x" and pattern[i + 2 : i + 3] == "{":
                raise _refuse(pattern, i, "\\x{...}")
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "[" and following[:1] == ":":
                raise _refuse(pattern, i, "a POSIX class")
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            start = i + 1 + (pattern[i + 1 : i + 2] == "^")
            if pattern[start : start + 1] == "]":  # a leading ] is a literal member
                out.append(pattern[i : start + 1])
                i = start + 1
                continue
        elif char == "$":
            out.append(r"\Z")
            i += 1
            continue
        elif char == "(" and following[:1] == "?" and not following.startswith(("?:", "?P")):
            raise _refuse(pattern, i, "a lookaround, flag or atomic group")
        elif char == "(" and following == "?P" and pattern[i + 3 : i + 4] != "<":
            raise _refuse(pattern, i, "a named backreference")
        elif char == "{" and following[:1] == ",":
            raise _refuse(pattern, i, "{,n}")
        elif char in "*+?}" and following[:1] == "+":
            raise _refuse(pattern, i, "a possessive quantifier")
        out.append(char)
        i += 1
    if in_class:
        raise _refuse(pattern, len(pattern), "an unterminated class")
    return "".join(out)


@functools.cache
def python_pattern(pattern: str) -> re.Pattern[str]:
    """A shared pattern compiled for Python (``search`` it, as the API server does)."""
    return re.compile(translate(pattern))
