"""Kubernetes resource quantities, read as the API server reads them (``"500m"`` -> 0.5).

The AgentWorkload's requests and limits end up in the agent pods' spec (the Workflow's
pod spec patch), so they are bounded where they enter: at least the smallest amount that
means something (1m of CPU, one byte: ``"500m"`` of memory is half a byte, a classic
slip), at most more than any node offers (a typo such as ``"1e400"`` or ``"64Pi"`` would
leave every pod Pending). The CRD says the same with CEL's Kubernetes quantity library
(:func:`cel_bounds`), which parses with the API server's own ``resource.ParseQuantity``.
Ref: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
Ref: https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-quantity-library
"""

from __future__ import annotations

import re
from decimal import MAX_EMAX, MIN_EMIN, ROUND_UP, Context, Decimal
from typing import Any

# Kubernetes' grammar: a signed decimal, then a binary-SI or decimal-SI suffix or an
# integer exponent ("1E3" is 1000; "1E" alone is an exa).
_GRAMMAR = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([KMGTPE]i|[numkMGTPE])|[eE]([+-]?[0-9]+))?")
_BINARY = {s: 2 ** (10 * (i + 1)) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_NANO = Decimal("1e-9")
_MAX = Decimal(2**63 - 1)  # Kubernetes caps a quantity there

# Per resource: (least, most), as quantities.
BOUNDS: dict[str, tuple[str, str]] = {
    "cpu": ("1m", "1024"),
    "memory": ("1", "16Ti"),
    "ephemeral-storage": ("1", "64Ti"),
}


def quantity(value: Any) -> Decimal | None:
    """A quantity's value as the API server stores it, or None when it is not one (as
    CEL's ``isQuantity`` says). An integer counts (an int-or-string field); a bool or a
    float does not.

    Like ``resource.ParseQuantity``: exact, then a non-zero value rounded up (away from
    zero) to a whole nano, then capped at the largest int64.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    match = _GRAMMAR.fullmatch(str(value))
    if not match:
        return None
    number, suffix, exponent = match.groups()
    amount = Decimal(number)
    if not amount:
        return Decimal(0)
    shift = int(exponent) if exponent else _DECIMAL.get(suffix or "", 0)
    # Precision for every digit given (and a binary suffix's), exponents of any size: exact.
    context = Context(prec=len(number) + 40, rounding=ROUND_UP, Emax=MAX_EMAX, Emin=MIN_EMIN)
    try:
        amount = context.multiply(amount.scaleb(shift, context), _BINARY.get(suffix or "", 1))
    except ArithmeticError:  # an exponent beyond even that
        return None
    if amount.copy_abs() > _MAX:  # Kubernetes caps positive values; a negative is out of bounds anyway
        return min(amount, _MAX)
    return amount.quantize(_NANO, context=context)


def out_of_bounds(resource: str, value: Any) -> str | None:
    """Why a quantity is not acceptable for ``resource``, or None when it is."""
    parsed = quantity(value)
    if parsed is None:
        return "is not a Kubernetes quantity"
    low, high = BOUNDS[resource]
    if not quantity(low) <= parsed <= quantity(high):  # type: ignore[operator]
        return f"is out of range ({low} to {high})"
    return None


def cel_bounds(resource: str) -> str:
    """The CEL rule for :func:`out_of_bounds`, on an int-or-string quantity node."""
    low, high = BOUNDS[resource]
    value = "quantity(string(self))"
    return (
        f"isQuantity(string(self)) && {value}.compareTo(quantity('{low}')) >= 0 && "
        f"{value}.compareTo(quantity('{high}')) <= 0"
    )
