"""python_pattern() reads a shared pattern as RE2 does, or refuses it (agentic_operator.re2).

Which constructs differ is shown on the real server in tests/cluster/test_crd.py; here,
that each is refused wherever it appears, and that the common core goes through as it is.
"""

from __future__ import annotations

import pytest

from agentic_operator.re2 import UnsharedPattern, python_pattern, translate


@pytest.mark.parametrize(
    ("pattern", "python"),
    [
        (r"^abc$", r"^abc\Z"),
        (r"^(a|b$)$", r"^(a|b\Z)\Z"),  # every $ outside a class, not only the last
        (r"^[$]$", r"^[$]\Z"),  # a $ in a class is a literal
        (r"^[]$]$", r"^[]$]\Z"),  # a leading ] is a member, so the class goes on
        (r"^[^]$]$", r"^[^]$]\Z"),
        (r"^\$$", r"^\$\Z"),  # an escaped $ is a literal
        (r"^(?P<tag>[a-z]+)(?:x)?\x21\.$", r"^(?P<tag>[a-z]+)(?:x)?\x21\.\Z"),
        (r"^a{1,3}[\\\]]$", r"^a{1,3}[\\\]]\Z"),
    ],
)
def test_the_common_core_goes_through_with_end_of_text_anchors(pattern: str, python: str) -> None:
    assert translate(pattern) == python


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\s$",
        r"^[\d]$",
        r"^\w+$",
        r"^a\b",
        r"^a\Z",
        r"\Aa",
        r"^a\z",
        r"^\pL$",
        r"^\Qa.b\E$",
        r"^\x{41}$",
        r"^\u0041$",
        r"^\N{LATIN SMALL LETTER A}$",
        r"^(a)\1$",
        r"^(?P<x>a)(?P=x)$",
        r"^a(?=b)",
        r"^a(?!b)",
        r"^(?<=a)b",
        r"^(?<!a)b",
        r"^(?i)a$",
        r"^(?>a)$",
        r"^a*+$",
        r"^a{2}+$",
        r"^a{,2}$",
        r"^[[:alpha:]]$",
        r"^[a-z",
        "^a\\",
    ],
)
def test_what_the_engines_read_differently_is_refused(pattern: str) -> None:
    with pytest.raises(UnsharedPattern):
        python_pattern(pattern)


def test_a_trailing_newline_does_not_match() -> None:
    """Python's own $ would match before it; RE2's does not."""
    assert python_pattern(r"^abc$").search("abc") and not python_pattern(r"^abc$").search("abc\n")
