"""The one shape every component here has, and the ordering rule they share.

Each component is ``X(name, config, opts=None)`` with the type token
``agentic:<module>:<Type>``; each child is created with :meth:`Component.child`, which
sets ``parent=self`` *and* repeats the component's own ``depends_on`` on the child.
The Python SDK registers a child without its parent's ``depends_on`` (the test harness
sees an empty dependency list), so a component that must wait for something (the
operator for the CRD and the workload namespaces) would otherwise create its children
right away. Child names start with the component's name: URNs carry the parent's type,
not its name, so two instances would otherwise collide.

Ref: https://www.pulumi.com/docs/iac/concepts/resources/components/
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import podspec


def raw(fragment: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
    """A manifest fragment in Kubernetes' own (camelCase) spelling, passed as it is.

    The SDK's ``*ArgsDict`` types spell keys in snake_case and translate them on the
    wire; the provider takes the Kubernetes spelling unchanged. Keeping the builders as
    plain manifests (tested without Pulumi, comparable with the docs and with
    kubernetes-validate) is worth this one untyped hand-over.
    """
    return fragment


def _resources(depends_on: object) -> list[pulumi.Resource]:
    if depends_on is None:
        return []
    items = depends_on if isinstance(depends_on, Sequence) else [depends_on]
    return [r for r in items if isinstance(r, pulumi.Resource)]


class Component(pulumi.ComponentResource):
    """A ComponentResource whose children inherit its ``depends_on`` and ``retain_on_delete``."""

    def __init__(self, token: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(token, name, None, opts)
        self._name = name
        self._after = _resources(opts.depends_on if opts else None)
        # The SDK passes ``protect`` down to children but not ``retain_on_delete``.
        self._retain = opts.retain_on_delete if opts else None

    def child(self, *depends_on: pulumi.Resource, retain: bool | None = None) -> pulumi.ResourceOptions:
        """Options for a child: ``parent=self``, the component's and these dependencies, and
        ``retain_on_delete`` (``retain``, else the component's own)."""
        return pulumi.ResourceOptions(
            parent=self,
            depends_on=[*self._after, *depends_on],
            retain_on_delete=self._retain if retain is None else retain,
        )

    def namespace_child(
        self, name: str, *, component: str, enforce: str, retain: bool | None = None
    ) -> k8s.core.v1.Namespace:
        """A Namespace child with our labels and Pod Security Admission at ``enforce``."""
        labels = {**podspec.labels(component), **podspec.pod_security_labels(enforce)}
        return k8s.core.v1.Namespace(
            self.named("namespace"), metadata={"name": name, "labels": labels}, opts=self.child(retain=retain)
        )

    def bound_role(
        self,
        suffix: str,
        metadata: Mapping[str, Any],
        rules: list[dict[str, Any]],
        account: k8s.core.v1.ServiceAccount,
        account_namespace: str,
    ) -> k8s.rbac.v1.RoleBinding:
        """A Role with ``rules`` (named and placed by ``metadata``) bound to ``account``."""
        role = k8s.rbac.v1.Role(self.named(suffix), metadata=raw(metadata), rules=raw(rules), opts=self.child())
        subject = {
            "kind": "ServiceAccount",
            "name": account.metadata.apply(lambda m: m.name),
            "namespace": account_namespace,
        }
        return k8s.rbac.v1.RoleBinding(
            self.named(suffix),
            metadata=raw(metadata),
            role_ref=raw({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": metadata["name"]}),
            subjects=raw([subject]),
            opts=self.child(role, account),
        )

    def named(self, suffix: str) -> str:
        """A child's logical name, unique in the stack."""
        return f"{self._name}-{suffix}"
