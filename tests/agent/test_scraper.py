"""The scraper against a real HTTP server on loopback: what it fetches, refuses and reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentic_agent import scraper
from agentic_agent.__main__ import main
from agentic_agent.config import Env
from agentic_agent.errors import StepError
from agentic_agent.fetch import USER_AGENT
from agentic_contract import pipeline
from testkit.agent.peers import Site, huge, redirect, slow, static
from tests.agent.conftest import policy_data

URLS = pipeline.PARAMETER_ENV[pipeline.PARAM_TARGET_URLS]


def _run(env: dict[str, str], *urls: str, **extra: str) -> int:
    return main([pipeline.STEP_SCRAPER], {**env, URLS: json.dumps(list(urls)), **extra})


def _outputs(env: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    artifacts = Path(env[pipeline.ENV_OUTPUT_ARTIFACTS]) / pipeline.ARTIFACT_PAGES
    parameters = Path(env[pipeline.ENV_OUTPUT_PARAMETERS])
    index = json.loads((artifacts / "index.json").read_text())
    return index, {p.name: p.read_text() for p in parameters.iterdir()}


def _resolver(table: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def test_fetches_a_page_with_its_metadata_and_an_honest_user_agent(site: Site, step_env: dict[str, str]) -> None:
    """The page body is kept byte for byte, with status, final URL, headers and timing."""
    assert _run(step_env, site.url("/pricing.html")) == 0
    index, params = _outputs(step_env)
    assert params == {"pages-fetched": "1", "pages-failed": "0"}
    (page,) = index["pages"]
    assert page["ok"] and page["status"] == 200 and page["finalUrl"] == site.url("/pricing.html")
    assert page["headers"]["content-type"].startswith("text/html") and page["seconds"] >= 0
    body = (Path(step_env[pipeline.ENV_OUTPUT_ARTIFACTS]) / "pages" / page["file"]).read_bytes()
    assert body == (site.root / "pricing.html").read_bytes()
    assert [r.path for r in site.requests] == ["/robots.txt", "/pricing.html"]
    assert {r.headers["user-agent"] for r in site.requests} == {USER_AGENT}


def test_a_name_resolving_to_loopback_connects_to_the_checked_address(site: Site, step_env: dict[str, str]) -> None:
    """The agent resolves the name itself and connects to that address, keeping the Host header."""
    resolve = _resolver({"pages.example.test": ["127.0.0.1"]})
    step_env[URLS] = json.dumps([site.url("/pricing.html", host="pages.example.test")])
    assert scraper.run(Env(step_env), resolve) == {"pages-fetched": "1", "pages-failed": "0"}
    assert resolve.calls and site.requests[-1].headers["host"] == f"pages.example.test:{site.port}"


def test_loopback_is_refused_at_connect_time_with_the_real_policy_data(
    site: Site, step_env: dict[str, str], tmp_path: Path
) -> None:
    """With policies/data.json as shipped, a name resolving to 127.0.0.1 never gets a request."""
    step_env[pipeline.ENV_POLICY_DATA] = str(policy_data(tmp_path))
    resolve = _resolver({"rebound.example.test": ["127.0.0.1"]})
    step_env[URLS] = json.dumps([site.url("/pricing.html", host="rebound.example.test")])
    with pytest.raises(StepError, match=r"resolves to 127\.0\.0\.1 is a blocked address: loopback \(127\.0\.0\.0/8\)"):
        scraper.run(Env(step_env), resolve)
    assert site.requests == []


def test_a_name_with_any_blocked_address_is_refused(site: Site, step_env: dict[str, str]) -> None:
    """A resolver answer mixing an allowed and a private address is refused whole."""
    resolve = _resolver({"mixed.example.test": ["127.0.0.1", "10.0.0.7"]})
    step_env[URLS] = json.dumps([site.url("/pricing.html", host="mixed.example.test")])
    with pytest.raises(StepError, match=r"10\.0\.0\.7 is a blocked address: private"):
        scraper.run(Env(step_env), resolve)
    assert site.requests == []


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.1.2.3/admin", r"10\.1\.2\.3 is a blocked address: private \(10\.0\.0\.0/8\)"),
        ("http://169.254.169.254/latest/meta-data/", r"169\.254\.169\.254 is a blocked address"),
        ("http://[::ffff:192.168.0.1]/", r"::ffff:c0a8:1 is a blocked address"),  # the mapped range is blocked whole
        ("http://db.internal/", r"cluster-internal \(matches 'internal'\)"),
        ("http://minio:9000/", r"single-label name"),
        ("file:///etc/passwd", r"scheme 'file' is not allowed"),
    ],
)
def test_redirects_to_private_places_are_refused(
    site: Site, step_env: dict[str, str], location: str, reason: str
) -> None:
    """Each hop is re-checked: a redirect cannot lead where admission would not have let the URL go."""
    site.routes["/go"] = redirect(location)
    assert _run(step_env, site.url("/go"), site.url("/pricing.html")) == 0
    index, params = _outputs(step_env)
    assert params == {"pages-fetched": "1", "pages-failed": "1"}
    failed = index["pages"][0]
    assert not failed["ok"] and not failed["retryable"]
    assert failed["error"].startswith("refused: ") and __import__("re").search(reason, failed["error"])


def test_a_redirect_to_another_name_is_resolved_and_checked_again(site: Site, step_env: dict[str, str]) -> None:
    """The second host's addresses are looked up for its own connection, and refused."""
    resolve = _resolver({"a.example.test": ["127.0.0.1"], "b.example.test": ["192.168.1.5"]})
    site.routes["/hop"] = redirect(site.url("/pricing.html", host="b.example.test"))
    step_env[URLS] = json.dumps([site.url("/hop", host="a.example.test")])
    with pytest.raises(StepError, match=r"b\.example\.test' resolves to 192\.168\.1\.5"):
        scraper.run(Env(step_env), resolve)
    assert resolve.calls[-1] == "b.example.test"


def test_redirects_are_followed_up_to_the_limit(site: Site, step_env: dict[str, str]) -> None:
    """Relative Locations resolve against their hop; one hop too many fails the page."""
    site.routes["/r1"] = redirect("/r2")
    site.routes["/r2"] = redirect("/pricing.html", 301)
    site.routes["/loop"] = redirect("/loop")
    assert _run(step_env, site.url("/r1"), site.url("/loop"), AGENT_FETCH_MAX_REDIRECTS="2") == 0
    index, _ = _outputs(step_env)
    ok, loop = index["pages"]
    assert ok["finalUrl"] == site.url("/pricing.html") and [h["status"] for h in ok["redirects"]] == [302, 301]
    assert loop["error"] == "refused: more than 2 redirects"


def test_huge_slow_non_html_and_error_pages_fail_each_for_its_reason(site: Site, step_env: dict[str, str]) -> None:
    """Size cap while streaming, a total deadline, HTML only, 4xx permanent and 5xx retryable."""
    site.routes["/huge"] = huge(8 * 2**20)
    site.routes["/slow"] = slow(chunks=100, pause=0.05)
    site.routes["/report.pdf"] = static(200, "application/pdf", b"%PDF-1.7")
    site.routes["/gone"] = static(404, "text/html", b"gone")
    site.routes["/busy"] = static(503, "text/html", b"busy")
    urls = [site.url(p) for p in ("/pricing.html", "/huge", "/slow", "/report.pdf", "/gone", "/busy")]
    limits = {"AGENT_FETCH_MAX_BYTES": str(2**20), "AGENT_FETCH_TIMEOUT_SECONDS": "1"}
    assert _run(step_env, *urls, **limits) == 0
    index, params = _outputs(step_env)
    assert params == {"pages-fetched": "1", "pages-failed": "5"}
    outcome = {p["url"].rsplit("/", 1)[1]: (p["error"], p["retryable"]) for p in index["pages"]}
    assert outcome == {
        "pricing.html": (None, False),
        "huge": (f"larger than {2**20} bytes", False),
        "slow": ("no complete answer within 1s", True),
        "report.pdf": ("content type 'application/pdf' is not HTML", False),
        "gone": ("HTTP 404", False),
        "busy": ("HTTP 503", True),
    }
    assert not any("file" in p and p["file"] for p in index["pages"][1:])


@pytest.mark.parametrize(("status", "code"), [(503, pipeline.EXIT_RETRYABLE), (404, pipeline.EXIT_FAILED)])
def test_no_page_fetched_fails_the_step_with_no_output_and_a_reason(
    site: Site, step_env: dict[str, str], status: int, code: int
) -> None:
    """Nothing fetched is a failure Argo can act on, not an empty result passed on."""
    site.routes["/down"] = static(status, "text/html", b"")
    assert _run(step_env, site.url("/down")) == code
    assert not Path(step_env[pipeline.ENV_OUTPUT_ARTIFACTS], "pages").exists()
    assert not Path(step_env[pipeline.ENV_OUTPUT_PARAMETERS]).exists()
    reason = Path(step_env["AGENT_TERMINATION_LOG"]).read_text()
    assert reason == f"no page fetched (p1: HTTP {status})"


def test_robots_txt_is_obeyed_unless_the_platform_says_otherwise(site: Site, step_env: dict[str, str]) -> None:
    """Disallowed paths are refused; a robots.txt that errors means disallow all (RFC 9309)."""
    site.routes["/private/plan.html"] = static(200, "text/html", b"<h1>private</h1>")
    assert _run(step_env, site.url("/private/plan.html"), site.url("/pricing.html")) == 0
    index, _ = _outputs(step_env)
    assert (
        index["pages"][0]["error"] == "refused: robots.txt of 127.0.0.1 disallows /private/plan.html for agentic-agent"
    )
    assert "/private/plan.html" not in [r.path for r in site.requests]

    assert _run(step_env, site.url("/private/plan.html"), AGENT_ROBOTS_TXT="ignore") == 0
    assert site.requests[-1].path == "/private/plan.html"

    site.routes["/robots.txt"] = static(500, "text/plain", b"")
    assert _run(step_env, site.url("/pricing.html")) == pipeline.EXIT_FAILED


def test_cookies_the_site_sets_are_not_kept(site: Site, step_env: dict[str, str]) -> None:
    """A page's metadata keeps its headers but not its Set-Cookie."""
    site.routes["/cookie"] = lambda _: (200, {"Content-Type": "text/html", "Set-Cookie": "sid=s3cr3t"}, b"<p>x</p>")
    assert _run(step_env, site.url("/cookie")) == 0
    index, _ = _outputs(step_env)
    assert "set-cookie" not in index["pages"][0]["headers"]
    assert "s3cr3t" not in json.dumps(index)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({URLS: ""}, "AGENT_TARGET_URLS: not set"),
        ({URLS: '"https://example.com"'}, "AGENT_TARGET_URLS: must be a non-empty JSON array of URL strings"),
        ({"AGENT_FETCH_MAX_BYTES": "lots"}, "AGENT_FETCH_MAX_BYTES: 'lots' is not a number"),
        ({pipeline.ENV_POLICY_DATA: "/nonexistent/data.json"}, "policy data /nonexistent/data.json: cannot read it"),
    ],
)
def test_misconfiguration_exits_78_naming_the_variable(
    step_env: dict[str, str], change: dict[str, str], reason: str
) -> None:
    """EXIT_CONFIG, so Argo does not retry a step that cannot work as configured."""
    env = {**step_env, URLS: '["http://127.0.0.1:9/"]', **change}
    assert main([pipeline.STEP_SCRAPER], env) == pipeline.EXIT_CONFIG
    assert Path(step_env["AGENT_TERMINATION_LOG"]).read_text().startswith(reason)
