"""Label and field selectors for list and watch: kmock 0.8 ignores both.

Labels: the API server's grammar, equality-based (``a=b``, ``a==b``, ``a!=b``) and set-based
(``a``, ``!a``, ``a in (x,y)``, ``a notin (x,y)``), comma meaning AND. Fields: only
``metadata.name`` and ``metadata.namespace`` with ``=``, ``==`` or ``!=``, which is all the API
server supports for custom resources. A malformed selector answers 400 as the server does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from testkit.apiserver.status import error

Selector = Callable[[Mapping[str, Any]], bool]

_SPLIT = re.compile(r",(?![^()]*\))")  # commas outside parentheses
_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_EQUALITY = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})$")
_SET = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EXISTS = re.compile(rf"^(?P<neg>!?)\s*(?P<key>{_KEY})$")
_FIELDS = {"metadata.name": "name", "metadata.namespace": "namespace"}


def _requirement(text: str) -> Callable[[Mapping[str, str]], bool]:
    if m := _EQUALITY.match(text):
        key, value, negate = m["key"], m["value"], m["op"] == "!="
        return lambda labels: (labels.get(key) == value) != negate
    if m := _SET.match(text):
        key, values = m["key"], {v.strip() for v in m["values"].split(",")}
        if m["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EXISTS.match(text):
        key, negate = m["key"], bool(m["neg"])
        return lambda labels: (key in labels) != negate
    raise error(400, f"unable to parse requirement: label selector {text!r}")


def labels(text: str) -> Selector:
    """A predicate over objects for a ``labelSelector`` query value (empty matches all)."""
    requirements = [_requirement(part.strip()) for part in _SPLIT.split(text) if part.strip()]
    return lambda obj: all(req(obj.get("metadata", {}).get("labels") or {}) for req in requirements)


def fields(text: str) -> Selector:
    """A predicate over objects for a ``fieldSelector`` query value (empty matches all)."""
    checks: list[tuple[str, str, bool]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.match(r"^(?P<field>[\w.]+)\s*(?P<op>==|=|!=)\s*(?P<value>.*)$", part)
        if not m or m["field"] not in _FIELDS:
            raise error(400, f"field label not supported: {part!r}")
        checks.append((_FIELDS[m["field"]], m["value"], m["op"] == "!="))
    return lambda obj: all((obj.get("metadata", {}).get(key) == value) != negate for key, value, negate in checks)
