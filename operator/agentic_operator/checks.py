"""An OpenAPI schema of this API read in Python as the API server reads it.

``jsonschema`` evaluates the same schema the CRD carries, but its defaults differ from
the API server's where it matters:

- ``pattern`` runs on RE2 there: here through :func:`agentic_operator.re2.python_pattern`;
- ``integer`` is a JSON integer (an integral float such as ``120.0`` passes the server's
  schema check but not the CEL rules that read the field, and would reach the Workflow as
  ``120.0``); ``number`` is finite (NaN and the infinities are not JSON, so the server
  cannot even decode them, and NaN passes every ``minimum`` and ``maximum``);
- unknown fields are named (:func:`closed`), as the server's strict field validation
  (``kubectl``'s default) names them, where its pruning would drop them silently;
- nulls in known fields are pruned before defaulting (:func:`defaulted`), as the server
  prunes fields that are not nullable;
- a lone surrogate (U+D800 to U+DFFF) is not Unicode text: no JSON encoder writes one and
  the server stores U+FFFD in its place; :func:`surrogates` names it.

Every message starts with the field's path, as the server's causes name it
(``spec.targetUrls[1]``), and shows at most a short excerpt of the value.
Ref: https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#field-pruning
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema

from agentic_operator.re2 import python_pattern


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Any:
    if validator.is_type(instance, "string") and not python_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def is_integer(value: Any) -> bool:
    """A JSON integer (not a bool, not an integral float)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite JSON number."""
    return is_integer(value) or (isinstance(value, float) and math.isfinite(value))


_TYPES = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many(
    {"integer": lambda _, value: is_integer(value), "number": lambda _, value: is_number(value)}
)
Validator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern}, type_checker=_TYPES)


_SHAPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, Mapping),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "integer": is_integer,
    "number": is_number,
}


def has_shape(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether ``value`` has the schema's shape: types, enums, required and known fields,
    sizes of lists; no patterns or formats. A fraction of jsonschema's cost, for a
    document the operator wrote itself and reads on every reconcile (the status)."""
    if not _SHAPES[schema["type"]](value) or ("enum" in schema and value not in schema["enum"]):
        return False
    if isinstance(value, Mapping):
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return all(name in value for name in schema.get("required", ())) and all(
            has_shape(properties[name], item)
            if name in properties
            else not isinstance(extra, Mapping) or has_shape(extra, item)
            for name, item in value.items()
        )
    if isinstance(value, list):
        return len(value) <= schema.get("maxItems", len(value)) and all(has_shape(schema["items"], v) for v in value)
    return True


def closed(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the schema that rejects unknown object fields (CEL rules left out: they
    are Python where the caller states them)."""
    out = {k: v for k, v in schema.items() if k != "x-kubernetes-validations"}
    if out.get("type") == "object" and "properties" in out:
        out["properties"] = {k: closed(v) for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    if "items" in out:
        out["items"] = closed(out["items"])
    return out


def defaulted(schema: Mapping[str, Any], value: Any) -> Any:
    """``value`` with nulls pruned from known fields, then the schema's defaults filled in
    (into defaulted objects too), as the API server does."""
    if not isinstance(value, Mapping) or schema.get("type") != "object":
        return value
    properties = schema.get("properties", {})
    out = {name: item for name, item in value.items() if not (item is None and name in properties)}
    for name, sub in properties.items():
        if name not in out and "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
        if name in out:
            out[name] = defaulted(sub, out[name])
    return out


# Violations after which the API server evaluates no CEL rule (the object has not the
# shape the rules were written for): its type, required, enum and size (TooLong, TooMany)
# errors; and an unknown field, which strict decoding refuses before any validation.
# Ref: https://github.com/kubernetes/kubernetes/blob/v1.34.4/staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/strategy.go (hasBlockingErr)
_BLOCKING = frozenset({"type", "anyOf", "required", "enum", "maxLength", "maxItems", "maxProperties"})


def blocking(error: jsonschema.ValidationError) -> bool:
    """Whether the API server would skip the CEL rules after this error."""
    return error.validator in _BLOCKING or error.validator == "additionalProperties"


_NAME = re.compile(r"[A-Za-z0-9_-]+")


def field(path: Any, root: str) -> str:
    """``spec.targetUrls[2]``; a key that is not a plain name goes in brackets, as the API
    server writes map keys (``metadata.annotations[agentic.dev/approval]``), so a message
    always starts with its field, then ``": "``."""
    out = root
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.fullmatch(str(part)):
            out += f".{part}"
        else:
            out += "[" + str(part)[:40].replace("\\", "\\\\").replace("]", "\\]") + "]"
    return out


def show(value: Any) -> str:
    """A value for a message, cut short: a message must not grow with the input."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


_ARTICLES = {"integer": "an integer", "number": "a number", "object": "an object", "array": "an array"}


def type_message(value: Any, expected: str) -> str:
    what = _ARTICLES.get(expected, f"a {expected}")
    if isinstance(value, float) and not math.isfinite(value):
        return f"{show(value)} is not {what} (NaN and infinities are not JSON)"
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return f"{show(value)} is not {what}: write {int(value)} (the API server's rules cannot read {value})"
    return f"{show(value)} is not {what}"


def messages(error: jsonschema.ValidationError, root: str) -> Iterator[str]:
    """What is wrong, one message per field, each starting with the field's path."""
    where = field(error.absolute_path, root)
    rule, value, bound = error.validator, error.instance, error.validator_value
    if rule == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        yield f"{where}.{missing.group(1) if missing else '?'}: required"
    elif rule == "additionalProperties":
        for extra in sorted(set(value) - set(error.schema.get("properties", {}))):
            yield f"{field([*error.absolute_path, extra], root)}: unknown field"
    elif rule == "pattern":
        description = error.schema.get("description", "")
        yield f"{where}: {show(value)} is not valid ({description.rstrip('.')}; must match {bound})"
    elif rule == "type":
        yield f"{where}: {type_message(value, bound)}"
    elif rule == "anyOf":  # this API's one anyOf: an int-or-string quantity
        yield f"{where}: {show(value)} is neither an integer nor a string (a Kubernetes quantity)"
    elif rule in ("minLength", "maxLength", "minItems", "maxItems"):
        unit = "characters" if rule.endswith("Length") else "items"
        yield f"{where}: {len(value)} {unit}, {'at least' if rule.startswith('min') else 'at most'} {bound} allowed"
    elif rule in ("minimum", "maximum"):
        yield f"{where}: {show(value)} is {'less' if rule == 'minimum' else 'more'} than {bound}"
    else:
        yield f"{where}: {error.message[:200]}"


def surrogates(value: Any, where: str) -> list[str]:
    """A message for each string (or key) holding a lone surrogate."""
    if isinstance(value, str):
        found = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
        return [] if found is None else [f"{where}: contains a lone surrogate (U+{ord(found):04X}), not Unicode text"]
    if isinstance(value, Mapping):
        return [e for k, v in value.items() for e in surrogates(k, where) + surrogates(v, field([k], where))]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in surrogates(v, field([i], where))]
    return []
