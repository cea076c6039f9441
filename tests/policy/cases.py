"""Policy cases shared by the evaluator tests: inputs as the operator builds them.

Each case names the decision and the reasons that must be among its reasons, so a case
fails if the rule it is about stops firing (or starts firing on a near miss). A case's
``config`` is a stack's ``policy.data``: deep-merged over data.json's agentic.config, as
the Pulumi program merges it (components.bundle.policies).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, reconcile
from agentic_operator.decision import ADMISSION, GATE
from agentic_operator.settings import Settings
from testkit import factories
from testkit.factories import workload

GOOD_OUTPUTS = {
    pipeline.STEP_SCRAPER: {"pages-fetched": "10", "pages-failed": "1"},
    pipeline.STEP_SCREENSHOTS: {"screenshots": "10"},
    pipeline.STEP_DOM: {"confidence": "0.97", "elements": "42"},
}


@dataclass(frozen=True)
class Case:
    id: str
    query: str
    input: Mapping[str, Any]
    allowed: bool
    reasons: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)


def admission_input(settings: Settings | None = None, **spec: Any) -> dict[str, Any]:
    """The admission input the operator sends for a workload with ``spec``.

    A spec the schema refuses never reaches the policy; the policies check some of the same
    rules again (defence in depth), so such a spec goes in as the operator would send it.
    """
    wl = workload(**spec)
    try:
        parsed = api.parse(wl)
    except api.InvalidWorkload:
        parsed = dataclasses.replace(api.parse(workload()), defaulted=api.apply_defaults(wl["spec"]))
    return reconcile.admission_input(wl, parsed, settings or factories.SETTINGS)


SETTINGS = admission_input()["settings"]


def gate_input(
    outputs: Mapping[str, Any] | None = None,
    *,
    threshold: Any = 0.95,
    failed: Any = 0,
    changed: Mapping[tuple[str, str], Any] | None = None,
) -> dict[str, Any]:
    """The gate input: ``outputs`` (default a good run) with ``(step, parameter)`` values changed."""
    steps = {step: dict(params) for step, params in (GOOD_OUTPUTS if outputs is None else outputs).items()}
    for (step, param), value in (changed or {}).items():
        steps.setdefault(step, {})[param] = value
    return {
        **admission_input(),
        "threshold": threshold,
        "progress": {"progress": "3/5", "total": 5, "succeeded": 3, "failed": failed},
        "outputs": steps,
    }


def _url(url: str, allowed: bool, *reasons: str, **config: Any) -> Case:
    return Case(f"url {url}", ADMISSION, admission_input(targetUrls=[url]), allowed, reasons, config)


def _host(url: str, host: str, problem: str) -> Case:
    return _url(url, False, f'spec.targetUrls[0]: host "{host}" {problem}')


def _blocked(url: str, host: str, label: str, cidr: str) -> Case:
    return _host(url, host, f"is a blocked address: {label} ({cidr})")


_INVALID_HOST = "is not a valid host (letters, digits, dots and hyphens, or [IPv6])"
_NOT_CANONICAL = "is not a canonical IPv4 address (four decimal numbers 0-255)"

ADMISSION_CASES = [
    Case("a default workload", ADMISSION, admission_input(), True),
    # spec.targetUrls as a whole
    Case(
        "targets not a list",
        ADMISSION,
        {"workload": {"spec": {"targetUrls": "https://example.com/"}}, "settings": SETTINGS},
        False,
        ("spec.targetUrls: must be a list of URLs",),
    ),
    Case(
        "no targets",
        ADMISSION,
        admission_input(targetUrls=[]),
        False,
        ("spec.targetUrls: at least one URL is required",),
    ),
    Case(
        "max_targets targets",
        ADMISSION,
        admission_input(targetUrls=[f"https://e{i}.example.com/" for i in range(20)]),
        True,
    ),
    Case(
        "one target too many",
        ADMISSION,
        admission_input(targetUrls=[f"https://e{i}.example.com/" for i in range(21)]),
        False,
        ("spec.targetUrls: 21 URLs, more than max_targets (20)",),
    ),
    # URL syntax and scheme
    _url("https://example.com/a?b=c#d", True),
    _url("example.com/x", False, 'spec.targetUrls[0]: "example.com/x" is not an absolute URL (scheme://host/...)'),
    _url("ftp://example.com/", False, 'spec.targetUrls[0]: scheme "ftp" is not allowed (allowed: https, http)'),
    _url("HTTP://example.com/", True),
    # hosts that are not plain names
    _host("http://user:pw@example.com/", "user:pw@example.com", "has user info (user@host), which is not allowed"),
    _host("http://ex%61mple.com/", "ex%61mple.com", _INVALID_HOST),
    _host("https://exämple.com/", "exämple.com", _INVALID_HOST),
    _host('http://a"b\\c/', 'a"b\\c', _INVALID_HOST),
    _host("http://-bad-.example/", "-bad-.example", "is not a valid host name"),
    _host("http://[fe80::1%25eth0]/", "fe80::1%25eth0", "is not a valid IPv6 address"),
    _host("http://[1::2::3]/", "1::2::3", "is not a valid IPv6 address"),
    _host("http://127.1/", "127.1", _NOT_CANONICAL),
    _host("http://2130706433/", "2130706433", _NOT_CANONICAL),
    _host("http://0x7f.0.0.1/", "0x7f.0.0.1", _NOT_CANONICAL),
    _host("http://010.0.0.1/", "010.0.0.1", _NOT_CANONICAL),
    # blocked addresses, IPv4 and IPv6, with ports and brackets
    _blocked("http://10.0.0.1:8080/", "10.0.0.1", "private", "10.0.0.0/8"),
    _blocked("http://172.31.255.255/", "172.31.255.255", "private", "172.16.0.0/12"),
    _blocked("http://192.168.1.1/", "192.168.1.1", "private", "192.168.0.0/16"),
    _blocked("http://100.64.0.1/", "100.64.0.1", "shared (CGNAT)", "100.64.0.0/10"),
    _blocked("http://127.0.0.1/", "127.0.0.1", "loopback", "127.0.0.0/8"),
    _blocked("http://0.0.0.0/", "0.0.0.0", "unspecified", "0.0.0.0/8"),
    _blocked("http://169.254.169.254/latest/", "169.254.169.254", "cloud metadata", "169.254.169.254/32"),
    _blocked("http://169.254.169.254/latest/", "169.254.169.254", "link-local", "169.254.0.0/16"),
    _blocked("http://[::1]:8080/", "::1", "loopback", "::1/128"),
    _blocked("http://[FE80::1]/", "fe80::1", "link-local", "fe80::/10"),
    _blocked("http://[fd00:ec2::254]/", "fd00:ec2::254", "private (unique local)", "fc00::/7"),
    _blocked("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1", "private", "10.0.0.0/8"),
    _blocked("http://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe", "cloud metadata", "169.254.169.254/32"),
    _url("http://8.8.8.8/", True),
    _url("http://172.32.0.1/", True),
    _url("http://100.128.0.1/", True),
    _url("http://[2001:4860:4860::8888]:443/", True),
    _blocked("http://[fec0::1]/", "fec0::1", "site-local (deprecated)", "fec0::/10"),
    _url("http://10.0.0.1/", True, blocked_networks={"10.0.0.0/8": None, "127.0.0.0/8": "loopback"}),
    _url(
        "http://127.0.0.1/",
        False,
        'spec.targetUrls[0]: host "127.0.0.1" is a blocked address: loopback (127.0.0.0/8)',
        blocked_networks={"10.0.0.0/8": None, "127.0.0.0/8": "loopback"},
    ),
    # A prefix length with a leading zero is one parse_cidr (and Python's ipaddress) reads.
    # Once OPA could not answer at all: "08" went into the answer as a JSON number.
    _url(
        "http://10.1.2.3/",
        False,
        'spec.targetUrls[0]: host "10.1.2.3" is a blocked address: private (10.0.0.0/08)',
        blocked_networks={"10.0.0.0/8": None, "10.0.0.0/08": "private"},
    ),
    # cluster-internal names
    _host("http://LOCALHOST./", "localhost", 'is cluster-internal (matches "localhost")'),
    _host("http://minio.platform.svc:9000/", "minio.platform.svc", 'is cluster-internal (matches "svc")'),
    _host("http://argo.svc.cluster.local/", "argo.svc.cluster.local", 'is cluster-internal (matches "cluster.local")'),
    _host("http://metadata.google.internal/", "metadata.google.internal", 'is cluster-internal (matches "internal")'),
    _host("http://minio/", "minio", "is a single-label name, which resolves to a cluster Service"),
    _host("http://kubernetes:443/", "kubernetes", "is a single-label name, which resolves to a cluster Service"),
    _url("https://internal.example.com./", True),
    # host lists from the configuration
    _url(
        "https://a.tracker.example.com/",
        False,
        'spec.targetUrls[0]: host "a.tracker.example.com" is in denied_hosts (tracker.example.com)',
        denied_hosts=["tracker.example.com"],
    ),
    _url("https://nottracker.example.com/", True, denied_hosts=["tracker.example.com"]),
    _url(
        "https://other.org/",
        False,
        'spec.targetUrls[0]: host "other.org" is not in allowed_hosts',
        allowed_hosts=["*.example.com"],
    ),
    _url("https://docs.example.com/", True, allowed_hosts=["*.example.com"]),
    _url(
        "http://10.0.0.1/",
        False,
        'spec.targetUrls[0]: host "10.0.0.1" is a blocked address: private (10.0.0.0/8)',
        allowed_hosts=["10.0.0.1"],
    ),
    # agent image
    Case(
        "image from another registry",
        ADMISSION,
        admission_input(agentImage="docker.io/someone/agent:1"),
        False,
        (
            'spec.agentImage: image "docker.io/someone/agent:1" is not from an allowed registry (ghcr.io/agentic-dev, docker.io/library/python)',
        ),
    ),
    Case(
        "docker hub shorthand",
        ADMISSION,
        admission_input(agentImage="nginx"),
        False,
        ('spec.agentImage: image "nginx" is not from an allowed registry (docker.io/library/busybox)',),
        {"allowed_registries": ["docker.io/library/busybox"]},
    ),
    Case(
        "docker hub shorthand allowed",
        ADMISSION,
        admission_input(agentImage="busybox:1.36"),
        True,
        config={"allowed_registries": ["docker.io/library/busybox"]},
    ),
    Case(
        "image by digest", ADMISSION, admission_input(agentImage="ghcr.io/agentic-dev/agent@sha256:" + "a" * 64), True
    ),
    Case(
        "default image from another registry",
        ADMISSION,
        admission_input(dataclasses.replace(factories.SETTINGS, default_agent_image="quay.io/x/agent:1")),
        False,
        (
            'settings.defaultAgentImage: image "quay.io/x/agent:1" is not from an allowed registry (ghcr.io/agentic-dev, docker.io/library/python)',
        ),
    ),
    # bucket
    Case(
        "bucket with dots",
        ADMISSION,
        admission_input(minioBucket="my.bucket"),
        False,
        ('spec.minioBucket: bucket "my.bucket" does not match bucket_pattern ^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$',),
    ),
    Case("bucket", ADMISSION, admission_input(minioBucket="team-a-results"), True),
    Case(
        "bucket not listed",
        ADMISSION,
        admission_input(minioBucket="team-a-results"),
        False,
        ('spec.minioBucket: bucket "team-a-results" is not in allowed_buckets',),
        {"allowed_buckets": ["agentic-artifacts"]},
    ),
    Case(
        "default bucket listed", ADMISSION, admission_input(), True, config={"allowed_buckets": ["agentic-artifacts"]}
    ),
    # configuration mistakes deny rather than switch a check off
    Case(
        "max_targets not a number",
        ADMISSION,
        admission_input(),
        False,
        ("data.agentic.config.max_targets: expected number, found string",),
        {"max_targets": "20"},
    ),
    Case(
        "bad CIDR",
        ADMISSION,
        admission_input(),
        False,
        ('data.agentic.config.blocked_networks: "10.0.0.0/33" is not an IPv4 or IPv6 CIDR',),
        {"blocked_networks": {"10.0.0.0/33": "private"}},
    ),
]

CONFIDENCE = (pipeline.STEP_DOM, "confidence")
CONFIDENCE_FIELD = "outputs.dom-extractor.confidence"

GATE_CASES = [
    Case(
        "a good run",
        GATE,
        gate_input(),
        True,
        (
            f'{CONFIDENCE_FIELD}: "0.97" meets the auto-approve threshold 0.95',
            'outputs.scraper.pages-failed: "1" failed and "10" fetched, within max_failed_page_ratio (0.2)',
            "progress.failed: 0 step(s) failed, at most max_failed_steps (0)",
        ),
    ),
    Case("confidence at the threshold", GATE, gate_input(changed={CONFIDENCE: "0.95"}), True),
    Case(
        "confidence below the threshold",
        GATE,
        gate_input(changed={CONFIDENCE: "0.9"}),
        False,
        (f'{CONFIDENCE_FIELD}: "0.9" is below the auto-approve threshold 0.95',),
    ),
    Case(
        "a stricter threshold",
        GATE,
        gate_input(threshold=0.99),
        False,
        (f'{CONFIDENCE_FIELD}: "0.97" is below the auto-approve threshold 0.99',),
    ),
    Case(
        "confidence above 1",
        GATE,
        gate_input(changed={CONFIDENCE: "1.2"}),
        False,
        (f'{CONFIDENCE_FIELD}: "1.2" is above 1',),
    ),
    Case(
        "confidence not a number",
        GATE,
        gate_input(changed={CONFIDENCE: "high"}),
        False,
        (f'{CONFIDENCE_FIELD}: "high" is not a non-negative number',),
    ),
    Case(
        "confidence with a newline",
        GATE,
        gate_input(changed={CONFIDENCE: "0.97\n"}),
        False,
        (f'{CONFIDENCE_FIELD}: "0.97\n" is not a non-negative number',),
    ),
    Case(
        "missing screenshots",
        GATE,
        gate_input({k: v for k, v in GOOD_OUTPUTS.items() if k != pipeline.STEP_SCREENSHOTS}),
        False,
        ("outputs.screenshot-extractor.screenshots: missing (the step did not report it)",),
    ),
    Case(
        "threshold missing",
        GATE,
        gate_input(threshold=None),
        False,
        ("threshold: missing or not a number between 0 and 1",),
    ),
    Case(
        "no pages fetched",
        GATE,
        gate_input(
            changed={(pipeline.STEP_SCRAPER, "pages-fetched"): "0", (pipeline.STEP_SCRAPER, "pages-failed"): "0"}
        ),
        False,
        ('outputs.scraper.pages-fetched: "0" is below min_pages_fetched (1)',),
    ),
    Case(
        "too many failed pages",
        GATE,
        gate_input(changed={(pipeline.STEP_SCRAPER, "pages-failed"): "3"}),
        False,
        (
            'outputs.scraper.pages-failed: "3" failed and "10" fetched, more than max_failed_page_ratio (0.2) of the pages',
        ),
    ),
    Case(
        "failed pages within the ratio", GATE, gate_input(changed={(pipeline.STEP_SCRAPER, "pages-failed"): "2"}), True
    ),
    Case(
        "no screenshots",
        GATE,
        gate_input(changed={(pipeline.STEP_SCREENSHOTS, "screenshots"): "0"}),
        False,
        ('outputs.screenshot-extractor.screenshots: "0" is below min_screenshots (1)',),
    ),
    Case(
        "a failed step",
        GATE,
        gate_input(failed=1),
        False,
        ("progress.failed: 1 step(s) failed, more than max_failed_steps (0)",),
    ),
    Case(
        "JSON numbers",
        GATE,
        gate_input({s: {p: float(v) for p, v in ps.items()} for s, ps in GOOD_OUTPUTS.items()}),
        True,
    ),
    Case(
        "a stricter minimum",
        GATE,
        gate_input(),
        False,
        ('outputs.dom-extractor.elements: "42" is below min_elements (100)',),
        {"min_elements": 100},
    ),
    Case(
        "a gate key missing",
        GATE,
        gate_input(),
        False,
        ("data.agentic.config.max_failed_page_ratio: expected number, found null",),
        {"max_failed_page_ratio": None},
    ),
]

CASES = ADMISSION_CASES + GATE_CASES
