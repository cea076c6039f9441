"""GeneratedSecret: a random credential made once, kept encrypted in the state, reused.

A Python dynamic resource in place of ``pulumi_random.RandomPassword``: no pulumi-random
provider exists here (the Go module proxy refuses every ``pulumi-random/provider``
version, and the SDK alone does nothing without it). The engine runs this provider through
the ``pulumi-resource-pulumi-python`` launcher in the program's own virtualenv.

- ``create`` draws the value from :mod:`secrets` (the OS's CSPRNG): letters and digits.
- The value is a secret output (``additional_secret_outputs``), so the state holds it
  encrypted with the stack's secrets provider and the CLI shows ``[secret]``.
- ``diff`` reports a change only when ``length`` changes (then a replacement, as
  pulumi-random does); ``read`` (``pulumi refresh``) returns the state as it is: the value
  exists nowhere else to compare with. Every later ``pulumi up`` reuses the value.
- The provider object is pickled by reference (module and class name) into the state's
  ``__provider`` input, which carries no secret; moving or renaming this class later needs
  the old name to stay importable for stacks created before.

Ref: https://www.pulumi.com/docs/iac/concepts/providers/dynamic-providers/
"""

from __future__ import annotations

import secrets
import string
from typing import Any

import pulumi
import pulumi.dynamic

ALPHABET = string.ascii_letters + string.digits
VALUE = "value"


def generate(length: int) -> str:
    """A random alphanumeric string of ``length`` characters (pure)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class GeneratedSecretProvider(pulumi.dynamic.ResourceProvider):
    """Creates the value once; every other operation keeps it."""

    serialize_as_secret_always = False  # the pickled provider holds no secret

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        length = int(props["length"])
        return pulumi.dynamic.CreateResult(
            id_=f"generated-{secrets.token_hex(8)}", outs={"length": length, VALUE: generate(length)}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        changed = int(olds.get("length", 0)) != int(news["length"])
        return pulumi.dynamic.DiffResult(changes=changed, replaces=["length"] if changed else [])

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        return pulumi.dynamic.ReadResult(id_=id_, outs=props)


class GeneratedSecret(pulumi.dynamic.Resource, module="agentic", name="GeneratedSecret"):
    """``value``: ``length`` random letters and digits, generated on create, a secret."""

    value: pulumi.Output[str]

    def __init__(self, name: str, length: int, opts: pulumi.ResourceOptions | None = None) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=[VALUE])
        super().__init__(
            GeneratedSecretProvider(),
            name,
            {"length": length, VALUE: None},
            pulumi.ResourceOptions.merge(opts, secret),
        )
