"""The AgentWorkload CRD on the real API server, which judges ``api.validate()``.

Every case of tests/workload_cases.py goes to the server as kubectl sends it (strict field
validation; server-side dry run: every admission step, nothing stored), and the server's
verdict (accepted, or the fields its causes name) must be the table's, and so must
validate()'s: the two agree field by field. What the server stores is what the operator
then reads: valid, with the server's defaults equal to ``api.apply_defaults``. The server
is also the oracle for RE2 (each pattern the CRD carries, on strings with every tricky
character class, against ``api.python_pattern``) and for quantities (CEL's quantity
library parses with ``resource.ParseQuantity``, against ``api.quantity``), and shows the
CEL transition rule (an immutable spec) and the descriptions ``kubectl explain`` reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from agentic_operator import api, quantities
from agentic_operator.re2 import UnsharedPattern
from tests.cluster import crds
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Answer, Kube
from tests.workload_cases import CASES, UNDECODABLE, Case

NAMESPACE = "crd-check"
COLLECTION = f"/apis/{api.GROUP}/{api.VERSION}/namespaces/{NAMESPACE}/{api.PLURAL}"
DRY_RUN = {"fieldValidation": "Strict", "dryRun": "All"}


@pytest.fixture(scope="module")
def kube(cluster: ControlPlane, agentworkload_crd: str) -> Kube:
    kube = cluster.kube()
    kube.namespace(NAMESPACE)
    return kube


def _body(obj: Any) -> bytes:
    """As Python's json writes it: NaN and Infinity as such (which is not JSON)."""
    return json.dumps(obj).encode()


def _submitted(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as a user writes it: a name and a namespace, nothing the server sets."""
    return {**obj, "metadata": {"name": obj["metadata"]["name"], "namespace": NAMESPACE}}


def server_fields(answer: Answer) -> tuple[str, ...]:
    """The fields the server names in refusing; () when it accepts."""
    if answer.status in (200, 201):
        return ()
    if answer.status == 422:
        causes = answer.body["details"]["causes"]
        # "<nil>": "some validation rules were not checked because the object was invalid"
        return tuple(sorted({c["field"] for c in causes if c["field"] != "<nil>"}))
    if answer.status == 400:
        unknown = re.findall(r'unknown field "([^"]+)"', answer.body.get("message", ""))
        return tuple(sorted(set(unknown))) if unknown else (UNDECODABLE,)
    raise AssertionError(f"unexpected answer {answer.status}: {answer.body}")


def validate_fields(obj: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted({error.split(": ", 1)[0] for error in api.validate(obj)}))


def test_the_crd_is_established_and_structural(kube: Kube) -> None:
    conditions = {
        c["type"]: c["status"] for c in kube.get(*crds.CRD, api.crd()["metadata"]["name"])["status"]["conditions"]
    }
    assert conditions["Established"] == conditions["NamesAccepted"] == "True"
    assert conditions.get("NonStructuralSchema", "False") == "False"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_server_judges_each_case_as_validate_does(kube: Kube, case: Case) -> None:
    """Accepted or refused alike, the same fields named; what is stored reads as valid."""
    answer = kube.send("POST", COLLECTION, _body(_submitted(case.workload())), query=DRY_RUN)
    assert server_fields(answer) == tuple(sorted(set(case.server_fields))), answer.body.get("message")
    assert validate_fields(case.workload()) == tuple(sorted(set(case.fields)))
    if answer.status == 201:
        stored = answer.body
        assert api.validate(stored) == []
        if case.good:  # the server's defaults are the operator's
            assert stored["spec"] == api.apply_defaults(case.workload()["spec"])
            assert api.parse(stored) == api.parse(case.workload())


def test_a_lone_surrogate_is_stored_as_a_replacement_character(kube: Kube) -> None:
    """So the operator never reads one from the server; validate() refuses one given directly."""
    sent = _submitted(Case("surrogate", {"objective": "abc\ud800"}).workload())
    answer = kube.send("POST", COLLECTION, _body(sent), query=DRY_RUN)
    assert answer.status == 201 and answer.body["spec"]["objective"] == "abc\ufffd"


def test_the_spec_is_immutable_and_approval_and_status_are_not(kube: Kube) -> None:
    """The CEL transition rule ``self == oldSelf``: a changed spec is a 422 on update."""
    created = kube.create(_submitted(Case("immutable", name="immutable").workload()))
    where = {"namespace": NAMESPACE}
    changed = {**created, "spec": {**created["spec"], "objective": "something else"}}
    with pytest.raises(ApiException) as replaced:
        kube.replace(changed)
    with pytest.raises(ApiException) as patched:
        kube.patch(api.API_VERSION, api.KIND, "immutable", {"spec": {"jobId": "other"}}, **where)
    for refused in (replaced.value, patched.value):
        body = json.loads(refused.body or "{}")
        assert refused.status == 422 and "spec is immutable" in body["message"]
        assert [c["field"] for c in body["details"]["causes"]] == ["spec"]
    kube.replace(kube.get(api.API_VERSION, api.KIND, "immutable", **where))  # the same spec is fine
    kube.patch(
        api.API_VERSION, api.KIND, "immutable", {"metadata": {"annotations": {api.APPROVAL: "approved"}}}, **where
    )
    kube.patch(api.API_VERSION, api.KIND, "immutable", {"status": {"phase": "Pending"}}, subresource="status", **where)
    assert kube.get(api.API_VERSION, api.KIND, "immutable", **where)["status"]["phase"] == "Pending"


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


def test_the_published_openapi_describes_every_field(kube: Kube) -> None:
    """What ``kubectl explain agentworkload.<field>`` shows, for every field of spec and status."""
    key = ".".join([*reversed(api.GROUP.split(".")), api.VERSION, api.KIND])

    def published() -> dict[str, Any]:
        answer = kube.send("GET", f"/openapi/v3/apis/{api.GROUP}/{api.VERSION}")
        schema: dict[str, Any] = answer.body.get("components", {}).get("schemas", {}).get(key, {})
        return schema

    schema = wait_for(published, timeout=60, what=f"{key} in the published OpenAPI")
    assert set(schema["properties"]["spec"]["properties"]) == set(api.SPEC_SCHEMA["properties"])
    assert set(schema["properties"]["status"]["properties"]) == set(api.STATUS_SCHEMA["properties"])
    undescribed = [path or "(root)" for path, node in _nodes(schema) if not node.get("description")]
    assert undescribed == []


# ---------------------------------------------------------------------------------------
# The server as the oracle for RE2 and for quantities.

# A string each pattern accepts, by where the CRD carries it: the tricky characters go in
# around it and inside it, so each variant tests one character in context.
BASES = {
    ".spec.jobId": "abc",
    ".spec.targetUrls[]": "https://example.com/p",
    ".spec.objective": "some text",
    ".spec.workflowTemplateRef.name": "a.b",
    ".spec.agentImage": "ghcr.io/a/b:1.0.0",
    ".spec.minioBucket": "abcd",
    ".spec.resources.requests.cpu": "500m",
}
TRICKY = [
    *"\n\r\t\v\f \x00\x1f\x7f\x85\xa0\u1680\u2000\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff\ufffd",
    "\r\n",
    *"\u00e9\uff4c\u0130\u212a\u00df\U0001f600\u0661",  # é, fullwidth l, İ, Kelvin K, ß, emoji, Arabic-Indic 1
    "e\u0301",  # a combining accent
    *"{}$^\\.-_@/?#:%+*()[]|A0",
    "{{",
    "..",
    "--",
]
# Patterns python_pattern() refuses, each with a string on which plain Python re and the
# server's RE2 disagree: the reason for the refusal, shown on the real server.
DIFFERENT = [
    (r"^a\s$", "a\u00a0"),  # \s: Unicode in Python, ASCII in RE2
    (r"^\d$", "\u0661"),  # \d
    (r"^\w$", "\u00e9"),  # \w
    (r"^a\b", "a\u00e9"),  # \b
    (r"^a{,2}$", "a{,2}"),  # {,n}: a quantifier in Python, a literal in RE2
]


def _patterns() -> dict[str, str]:
    """Every pattern api.crd() carries -> where it first appears."""
    spec = api.crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    found: dict[str, str] = {}
    for path, node in _nodes(spec, ".spec"):
        if "pattern" in node:
            found.setdefault(node["pattern"], path)
    return found


def _probe_crd() -> dict[str, Any]:
    """Fields with nothing but a pattern (p*), a refused pattern (d*), or a quantity's CEL bounds (q*)."""
    properties: dict[str, Any] = {f"p{i}": {"type": "string", "pattern": p} for i, p in enumerate(_patterns())}
    properties |= {f"d{i}": {"type": "string", "pattern": p} for i, (p, _) in enumerate(DIFFERENT)}
    quantity = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True, "maxLength": 64}
    properties |= {
        f"q{i}": {**quantity, "x-kubernetes-validations": [{"rule": quantities.cel_bounds(r)}]}
        for i, r in enumerate(quantities.BOUNDS)
    }
    names = {"kind": "Probe", "listKind": "ProbeList", "plural": "probes", "singular": "probe"}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": properties}}}
    version = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "probes.re2.agentic.test"},
        "spec": {"group": "re2.agentic.test", "scope": "Namespaced", "names": names, "versions": [version]},
    }


@pytest.fixture(scope="module")
def probe(kube: Kube) -> Iterator[str]:
    """The probes' collection path."""
    crds.install(kube, _probe_crd())
    yield f"/apis/re2.agentic.test/v1/namespaces/{NAMESPACE}/probes"
    kube.delete(*crds.CRD, "probes.re2.agentic.test")


def _refused(kube: Kube, collection: str, spec: dict[str, Any]) -> set[str]:
    """The probe fields the server refuses in ``spec``."""
    body = {"apiVersion": "re2.agentic.test/v1", "kind": "Probe", "metadata": {"name": "p"}, "spec": spec}
    return {f.removeprefix("spec.") for f in server_fields(kube.send("POST", collection, _body(body), query=DRY_RUN))}


def _variants(base: str) -> Iterator[str]:
    for char in TRICKY:
        yield from (char, base + char, char + base, base[:1] + char + base[1:], base + char + base)


def test_every_pattern_has_a_base_string() -> None:
    """A new pattern in the CRD gets its place in the RE2 oracle below."""
    assert set(_patterns().values()) <= set(BASES), set(_patterns().values()) - set(BASES)


def test_python_reads_every_crd_pattern_as_the_servers_re2_does(kube: Kube, probe: str) -> None:
    patterns = list(_patterns().items())
    bases = [BASES[where] for _, where in patterns]
    disagreements = []
    for variant in zip(*(list(_variants(base)) for base in bases), strict=True):
        spec = {f"p{i}": text for i, text in enumerate(variant)}
        refused = _refused(kube, probe, spec)
        for i, ((pattern, where), text) in enumerate(zip(patterns, variant, strict=True)):
            python = api.python_pattern(pattern).search(text) is not None
            if python == (f"p{i}" in refused):
                disagreements.append((where, text, "python accepts" if python else "python refuses"))
    assert disagreements == []


def test_the_patterns_python_pattern_refuses_read_differently_on_the_server(kube: Kube, probe: str) -> None:
    """The reason for each refusal, on the real server: plain ``re`` would disagree with RE2."""
    for i, (pattern, text) in enumerate(DIFFERENT):
        with pytest.raises(UnsharedPattern):
            api.python_pattern(pattern)
        server = f"d{i}" not in _refused(kube, probe, {f"d{i}": text})
        assert server != (re.search(pattern, text) is not None), (pattern, text)
    # and the one construct it translates: $ before a final newline
    assert re.search(r"^a$", "a\n") and not api.python_pattern(r"^a$").search("a\n")
    where = next(iter(_patterns().values()))
    assert "p0" in _refused(kube, probe, {"p0": BASES[where] + "\n"})


# fmt: off
QUANTITIES: list[str | int] = [
    0, 1, 1024, 1025, -1, 2**62, 2**63 - 1, 17592186044416, 17592186044417, 70368744177664, 70368744177665,
    "1m", "1e-3", "0.001", ".001", "1.", ".5", "+1", "1", "1024", "1Ki", "1k", "1K", "1ki", "1E3", "1E", "1e",
    "1e+3", "1e-4", "0.0009999999999", "0.0010000000001m", "1024.000000001", "1024.0000000000000001",
    "1023.9999999999999999", "0.5Gi", "1.5Gi", "16Ti", "16384Gi", "17592186044416", "17592186044417", "64Ti",
    "65536Gi", "70368744177664", "70368744177665", "1e400", "1e-400", "-0", "+0", "-1", "0", "00001", "1_000",
    "0x10", "9223372036854775807", "9223372036854775808", "1e19", "1Ei", "8Ei", "500m", "1500m", "0.5", "1e1.5",
    "1.2.3", "Ki", "m", " 1", "1 ", "1\n", "",
    "\uff11",  # a fullwidth digit
    "\u0661",  # an Arabic-Indic digit
]
# fmt: on


def test_python_reads_quantities_as_the_server_does(kube: Kube, probe: str) -> None:
    """Bounds at both ends, rounding up to a nano, the int64 cap, and spellings of every kind."""
    disagreements = []
    for text in QUANTITIES:
        refused = _refused(kube, probe, {f"q{i}": text for i in range(len(quantities.BOUNDS))})
        for i, resource in enumerate(quantities.BOUNDS):
            python = quantities.out_of_bounds(resource, text) is None
            if python == (f"q{i}" in refused):
                disagreements.append((resource, text, "python accepts" if python else "python refuses"))
    assert disagreements == []
