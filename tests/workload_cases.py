"""AgentWorkloads good and bad, field by field and edge by edge, with the fields they break.

One table for two judges: ``api.validate()`` (tests/operator/test_api.py) and the real API
server with the CRD installed (tests/cluster/test_crd.py). Each bad case names the fields
``validate()`` names; ``server`` says where the server's verdict differs in form, and why:
it cannot decode NaN or infinities at all (:data:`UNDECODABLE`), it stores U+FFFD for a
lone surrogate (so accepts), and a CEL rule that cannot read an integral float names the
object the rule is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from testkit.factories import workload

UNDECODABLE = "(the request body)"  # the server's JSON decoder refuses it: no field named


@dataclass(frozen=True)
class Case:
    id: str
    spec: dict[str, Any] = field(default_factory=dict)  # overrides of the factory's spec
    fields: tuple[str, ...] = ()  # what validate() names; () for a good workload
    server: tuple[str, ...] | None = None  # what the server names, when not ``fields``
    name: str = "demo"

    @property
    def good(self) -> bool:
        return not self.fields

    @property
    def server_fields(self) -> tuple[str, ...]:
        return self.fields if self.server is None else self.server

    def workload(self) -> dict[str, Any]:
        return workload(self.name, **self.spec)


def _bad(id: str, field_: str, server: tuple[str, ...] | None = None, name: str = "demo", **spec: Any) -> Case:
    return Case(id, spec, (field_,), server, name)


def _good(id: str, name: str = "demo", **spec: Any) -> Case:
    return Case(id, spec, name=name)


URL = "https://example.com/"
LONG_URL = "https://example.com/" + "a" * (2048 - 20)
DIGEST = "@sha256:" + "a" * 64
TRICKY_SPACES = {  # whitespace Python's \s knows and RE2's does not, and a few look-alikes
    "nbsp": "\u00a0",
    "ideographic-space": "\u3000",
    "line-separator": "\u2028",
    "next-line": "\u0085",
    "zero-width-space": "\u200b",
    "vertical-tab": "\v",
}

GOOD: list[Case] = [
    _good("minimal"),
    _good("job-id", jobId="job-1"),
    _good("job-id-one-character", jobId="0"),
    _good("job-id-63", jobId="a" * 63),
    _good("name-63-is-the-job-id", name="a" * 63),
    _good("dotted-name-with-a-job-id", name="has.dots", jobId="explicit"),
    _good("fifty-urls", targetUrls=[f"https://site{i}.example/p?q=1#x" for i in range(50)]),
    _good("http-url", targetUrls=["http://example.com"]),
    _good("url-port-path-query-fragment", targetUrls=["https://example.com:8443/a/b;c?d=e&f=%20#g"]),
    _good("url-2048", targetUrls=[LONG_URL]),
    _good("objective-4096", objective="x" * 4096),
    _good("objective-4096-astral", objective="\U0001f600" * 4096),  # characters, not bytes
    _good("objective-free-text", objective="Find\tthe\nprices\u00a0\u3000in \u20ac, {a: 1}, ends with {"),
    _good("template-dotted", workflowTemplateRef={"name": "team.visual-analysis"}),
    _good("template-253", workflowTemplateRef={"name": ".".join(["a" * 63] * 4)[:253]}),
    _good("template-ref-empty", workflowTemplateRef={}),
    _good("image-registry-port-tag", agentImage="registry.example.com:5000/team/agent:1.2.3"),
    _good("image-digest", agentImage="ghcr.io/agentic-dev/agent" + DIGEST),
    _good("image-tag-128", agentImage="ghcr.io/a/b:" + "t" * 128),
    _good("bucket-3", minioBucket="abc"),
    _good("bucket-63", minioBucket="a" * 63),
    _good("threshold-0", autoApproveThreshold=0),
    _good("threshold-1", autoApproveThreshold=1),
    _good("threshold-denormal", autoApproveThreshold=5e-324),
    _good("threshold-negative-zero", autoApproveThreshold=-0.0),
    _good("timeouts-600-300", timeouts={"executionSeconds": 600, "approvalSeconds": 300}),
    _good("timeouts-least", timeouts={"executionSeconds": 60, "approvalSeconds": 30}),
    _good("timeouts-most", timeouts={"executionSeconds": 604800, "approvalSeconds": 604799}),
    # Nulls in fields that are not nullable are pruned before defaulting.
    _good("nulls-pruned", timeouts=None, agentImage=None, workflowTemplateRef=None, resources={"requests": None}),
    _good(
        "resources",
        resources={
            "requests": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "1Gi"},
            "limits": {"cpu": 2, "memory": "1.5Gi", "ephemeral-storage": "64Ti"},
        },
    ),
    _good("cpu-least", resources={"requests": {"cpu": "1m"}, "limits": {"cpu": "1e-3"}}),
    _good("cpu-most", resources={"limits": {"cpu": "1024"}}),
    _good("cpu-spellings", resources={"requests": {"cpu": ".5"}, "limits": {"cpu": "+1"}}),
    _good("cpu-rounds-up-to-a-nano", resources={"requests": {"cpu": "0.0009999999999"}}),
    _good("memory-least-most", resources={"requests": {"memory": "1"}, "limits": {"memory": "16Ti"}}),
    _good("memory-exponent", resources={"requests": {"memory": "1E3"}, "limits": {"memory": "1e3"}}),
    _good("requests-equal-limits", resources={"requests": {"memory": "1Gi"}, "limits": {"memory": "1024Mi"}}),
]

_T = "spec.targetUrls[0]"
_CPU, _MEMORY = "spec.resources.requests.cpu", "spec.resources.requests.memory"
_EXECUTION, _APPROVAL = "spec.timeouts.executionSeconds", "spec.timeouts.approvalSeconds"

BAD: list[Case] = [
    _bad("urls-empty", "spec.targetUrls", targetUrls=[]),
    _bad("fifty-one-urls", "spec.targetUrls", targetUrls=[f"https://e{i}.example" for i in range(51)]),
    _bad("url-not-a-list", "spec.targetUrls", targetUrls=URL),
    _bad("url-null-item", _T, targetUrls=[None]),
    _bad("url-ftp", _T, targetUrls=["ftp://example.com/file"]),
    _bad("url-second", "spec.targetUrls[1]", targetUrls=[URL, "not a url"]),
    _bad("url-no-host", _T, targetUrls=["https://"]),
    _bad("url-trailing-newline", _T, targetUrls=[URL + "\n"]),
    _bad("url-braces", _T, targetUrls=["https://example.com/{{workflow.uid}}"]),
    _bad("url-2049", _T, targetUrls=[LONG_URL + "a"]),
    _bad("url-userinfo", _T, targetUrls=["https://user@example.com/"]),
    _bad("url-fullwidth-host", _T, targetUrls=["http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/"]),
    *(_bad(f"url-{n}-in-host", _T, targetUrls=[f"https://exa{c}mple.com/"]) for n, c in TRICKY_SPACES.items()),
    *(_bad(f"url-{n}-in-path", _T, targetUrls=[f"https://example.com/a{c}b"]) for n, c in TRICKY_SPACES.items()),
    _bad("objective-empty", "spec.objective", objective=""),
    _bad("objective-4097", "spec.objective", objective="x" * 4097),
    _bad("objective-4097-astral", "spec.objective", objective="\U0001f600" * 4097),
    _bad("objective-templating", "spec.objective", objective="Report {{workflow.name}}"),
    _bad("objective-ends-in-templating", "spec.objective", objective="abc {{"),
    _bad("objective-not-a-string", "spec.objective", objective=42),
    # The server stores U+FFFD for a lone surrogate: it accepts; validate() refuses what is not text.
    _bad("objective-lone-surrogate", "spec.objective", server=(), objective="abc\ud800"),
    _bad("job-id-upper-underscore", "spec.jobId", jobId="Bad_Job"),
    _bad("job-id-64", "spec.jobId", jobId="a" * 64),
    _bad("job-id-leading-dash", "spec.jobId", jobId="-leading"),
    _bad("job-id-trailing-dash", "spec.jobId", jobId="trailing-"),
    _bad("job-id-trailing-newline", "spec.jobId", jobId="abc\n"),
    _bad("job-id-empty", "spec.jobId", jobId=""),
    _bad("job-id-dotted", "spec.jobId", jobId="a.b"),
    _bad("name-dotted-without-job-id", "spec.jobId", name="has.dots"),
    _bad("name-64-without-job-id", "spec.jobId", name="a" * 64),
    _bad("threshold-above-1", "spec.autoApproveThreshold", autoApproveThreshold=1.5),
    _bad("threshold-below-0", "spec.autoApproveThreshold", autoApproveThreshold=-0.1),
    _bad("threshold-negative-denormal", "spec.autoApproveThreshold", autoApproveThreshold=-5e-324),
    _bad("threshold-string", "spec.autoApproveThreshold", autoApproveThreshold="high"),
    _bad("threshold-bool", "spec.autoApproveThreshold", autoApproveThreshold=True),
    _bad("threshold-nan", "spec.autoApproveThreshold", server=(UNDECODABLE,), autoApproveThreshold=float("nan")),
    _bad("threshold-inf", "spec.autoApproveThreshold", server=(UNDECODABLE,), autoApproveThreshold=float("inf")),
    _bad("bucket-upper", "spec.minioBucket", minioBucket="UPPER"),
    _bad("bucket-dotted", "spec.minioBucket", minioBucket="my.bucket-1"),  # no dots: see api.BUCKET_PATTERN
    _bad("bucket-2", "spec.minioBucket", minioBucket="ab"),
    _bad("bucket-64", "spec.minioBucket", minioBucket="a" * 64),
    _bad("bucket-trailing-newline", "spec.minioBucket", minioBucket="abc\n"),
    _bad("image-space", "spec.agentImage", agentImage="has space:1"),
    _bad("image-trailing-newline", "spec.agentImage", agentImage="ghcr.io/a/b:1.0.0\n"),
    _bad("image-tag-129", "spec.agentImage", agentImage="ghcr.io/a/b:" + "t" * 129),
    _bad("image-513", "spec.agentImage", agentImage="ghcr.io/" + "a" * 499 + ":1.0.0"),
    _bad("template-underscore", "spec.workflowTemplateRef.name", workflowTemplateRef={"name": "Not_Valid"}),
    _bad("template-trailing-newline", "spec.workflowTemplateRef.name", workflowTemplateRef={"name": "a.b\n"}),
    _bad("template-254", "spec.workflowTemplateRef.name", workflowTemplateRef={"name": "a" * 254}),
    _bad("template-ref-string", "spec.workflowTemplateRef", workflowTemplateRef="visual-analysis-template"),
    # A minimum is not a blocking error: the CEL rules run, and the default approval is too long.
    Case("execution-below-60", {"timeouts": {"executionSeconds": 10}}, (_EXECUTION, _APPROVAL)),
    _bad("execution-above-a-week", _EXECUTION, timeouts={"executionSeconds": 604801}),
    _bad("execution-string", _EXECUTION, timeouts={"executionSeconds": "600"}),
    _bad("execution-beyond-int64", _EXECUTION, timeouts={"executionSeconds": 2**63}),
    _bad("approval-below-30", _APPROVAL, timeouts={"approvalSeconds": 29}),
    _bad("approval-fraction", _APPROVAL, timeouts={"approvalSeconds": 1.5}),
    # An integral float passes the server's schema; its CEL rule (on spec) cannot read it.
    _bad("execution-integral-float", _EXECUTION, server=("spec",), timeouts={"executionSeconds": 120.0}),
    _bad("approval-integral-float", _APPROVAL, server=("spec",), timeouts={"approvalSeconds": 60.0}),
    _bad("approval-equals-execution", _APPROVAL, timeouts={"executionSeconds": 600, "approvalSeconds": 600}),
    _bad("approval-default-above-execution", _APPROVAL, timeouts={"executionSeconds": 600}),
    _bad("requests-not-a-map", "spec.resources.requests", resources={"requests": "lots"}),
    _bad("limits-a-list", "spec.resources.limits", resources={"limits": ["1"]}),
    _bad("resources-a-string", "spec.resources", resources="big"),
    _bad("quantity-words", "spec.resources.limits.cpu", resources={"limits": {"cpu": "lots"}}),
    _bad("quantity-trailing-newline", _MEMORY, resources={"requests": {"memory": "1Gi\n"}}),
    _bad("quantity-leading-space", _CPU, resources={"requests": {"cpu": " 1"}}),
    _bad("quantity-exponent-fraction", _CPU, resources={"requests": {"cpu": "1e1.5"}}),
    _bad("memory-negative", _MEMORY, resources={"requests": {"memory": "-1Gi"}}),
    _bad("cpu-negative-integer", _CPU, resources={"requests": {"cpu": -1}}),
    _bad("cpu-absurd", _CPU, resources={"requests": {"cpu": "1e400"}}),
    _bad("cpu-above-most", _CPU, resources={"requests": {"cpu": "1025"}}),
    _bad("cpu-exa", _CPU, resources={"requests": {"cpu": "1E"}}),
    _bad("cpu-sub-milli", _CPU, resources={"requests": {"cpu": "0.0001"}}),
    _bad("cpu-zero", _CPU, resources={"requests": {"cpu": 0}}),
    _bad("cpu-integral-float", _CPU, resources={"requests": {"cpu": 2.0}}),
    _bad("cpu-fraction-number", _CPU, resources={"requests": {"cpu": 2.5}}),
    _bad("cpu-bool", _CPU, resources={"requests": {"cpu": True}}),
    _bad("memory-half-a-byte", _MEMORY, resources={"requests": {"memory": "500m"}}),
    _bad("memory-above-most", _MEMORY, resources={"requests": {"memory": "17Ti"}}),
    _bad(
        "storage-above-most",
        "spec.resources.limits.ephemeral-storage",
        resources={"limits": {"ephemeral-storage": "65Ti"}},
    ),
    _bad(
        "memory-request-above-limit", _MEMORY, resources={"requests": {"memory": "2Gi"}, "limits": {"memory": "1500Mi"}}
    ),
    _bad("cpu-request-above-limit", _CPU, resources={"requests": {"cpu": "1500m"}, "limits": {"cpu": 1}}),
    _bad(
        "storage-request-above-limit",
        "spec.resources.requests.ephemeral-storage",
        resources={"requests": {"ephemeral-storage": "2Gi"}, "limits": {"ephemeral-storage": "1Gi"}},
    ),
    _bad("unknown-resource", "spec.resources.requests.gpu", resources={"requests": {"gpu": "1"}}),
    _bad("unknown-field", "spec.targetURLs", targetURLs=[URL]),
]

CASES = GOOD + BAD
