"""The resources the emulated cluster serves, and the ones the platform needs.

kmock serves discovery only for declared resources and guesses what is not declared (kind
from the plural, namespaced unknown); kopf skips a resource whose verbs lack list, watch or
patch, and needs ``v1/namespaces``, ``v1/events`` and the CRD resource to start at all. So
every resource is declared here in full. AgentWorkload comes from the operator's own CRD
(``agentic_operator.api.crd()``) so the harness cannot drift from it; Argo's resources
mirror Argo's CRDs, which declare ``subresources: {}`` (no status subresource).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agentic_operator import api, argo_names

VERBS = frozenset({"create", "get", "list", "watch", "update", "patch", "delete"})


@dataclass(frozen=True)
class ResourceSpec:
    """One served resource: where it lives in the API and how it behaves."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    subresources: frozenset[str] = frozenset()
    verbs: frozenset[str] = VERBS
    shortnames: frozenset[str] = frozenset()

    @classmethod
    def from_crd(cls, crd: Mapping[str, Any]) -> ResourceSpec:
        """The storage version of a CustomResourceDefinition manifest."""
        spec = crd["spec"]
        (version,) = [v for v in spec["versions"] if v.get("storage")]
        return cls(
            group=spec["group"],
            version=version["name"],
            plural=spec["names"]["plural"],
            kind=spec["names"]["kind"],
            namespaced=spec["scope"] == "Namespaced",
            subresources=frozenset(version.get("subresources") or {}),
            shortnames=frozenset(spec["names"].get("shortNames") or ()),
        )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """kubectl's ``plural.group`` (just the plural in the core group), as error messages say."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def custom(self) -> bool:
        """Custom resources (anything outside the core group) track ``metadata.generation``."""
        return self.group != ""

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The URL path of the collection, an object, or an object's subresource."""
        parts = ["api", self.version] if not self.group else ["apis", self.group, self.version]
        if self.namespaced and namespace is not None:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/" + "/".join(parts)


PLATFORM_RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec("", "v1", "namespaces", "Namespace", namespaced=False, subresources=frozenset({"status"})),
    ResourceSpec("", "v1", "events", "Event"),
    ResourceSpec("events.k8s.io", "v1", "events", "Event"),
    ResourceSpec(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        subresources=frozenset({"status"}),
        shortnames=frozenset({"crd", "crds"}),
    ),
    ResourceSpec.from_crd(api.crd()),
    ResourceSpec(argo_names.GROUP, argo_names.VERSION, argo_names.WORKFLOWS, "Workflow", shortnames=frozenset({"wf"})),
    ResourceSpec(
        argo_names.GROUP,
        argo_names.VERSION,
        argo_names.WORKFLOW_TEMPLATES,
        "WorkflowTemplate",
        shortnames=frozenset({"wftmpl"}),
    ),
)


def find(resources: Iterable[ResourceSpec], name: str) -> ResourceSpec:
    """Resolve ``plural`` or kubectl's ``plural.group``; a bare plural prefers the core group."""
    plural, _, group = name.partition(".")
    matches = [r for r in resources if r.plural == plural and (r.group == group or not group)]
    matches.sort(key=lambda r: r.group != "")
    if not matches:
        raise KeyError(f"no such resource: {name!r}")
    return matches[0]
