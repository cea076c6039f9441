"""Screenshots through Debian's real headless Chromium over CDP, the peer Browserless also is."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_agent.__main__ import main
from agentic_agent.fetch import USER_AGENT
from agentic_agent.screenshots import endpoint
from agentic_contract import pipeline
from testkit.agent.peers import Chromium, Site, static
from tests.agent.conftest import require_chromium, scrape

# A 1x1 red PNG, for the page's one image.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
PAGE = b"""<!doctype html><html><head><title>Logo</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>Acme</h1><img src="/logo.png" width="200" height="100"><img src="http://10.0.0.9/track.png">
<div style="height: 2000px">tall</div></body></html>"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    browser = Chromium(require_chromium()).start()
    yield browser
    browser.stop()


def _images(env: dict[str, str]) -> tuple[dict, dict[str, str]]:  # type: ignore[type-arg]
    out = Path(env[pipeline.ENV_OUTPUT_ARTIFACTS]) / pipeline.ARTIFACT_IMAGES
    params = {p.name: p.read_text() for p in Path(env[pipeline.ENV_OUTPUT_PARAMETERS]).iterdir()}
    return json.loads((out / "index.json").read_text()), params


def test_full_page_screenshots_with_every_request_through_the_guard(
    site: Site, step_env: dict[str, str], chromium: Chromium
) -> None:
    """The document comes from the pages artifact; the image is fetched by the agent; 10.0.0.9 is refused."""
    site.routes["/logo.html"] = static(200, "text/html", PAGE)
    site.routes["/logo.png"] = static(200, "image/png", PIXEL)
    site.routes["/style.css"] = static(200, "text/css", b"body { background: #fff }")
    scrape(step_env, site.url("/pricing.html"), site.url("/logo.html"))
    scraped = len(site.requests)
    step_env[pipeline.ENV_BROWSERLESS_URL] = chromium.endpoint
    assert main([pipeline.STEP_SCREENSHOTS], step_env) == 0, Path(step_env["AGENT_TERMINATION_LOG"]).read_text()
    index, params = _images(step_env)
    assert params == {"screenshots": "2"}
    pricing, logo = index["images"]
    folder = Path(step_env[pipeline.ENV_OUTPUT_ARTIFACTS]) / "images"
    for image in (pricing, logo):
        assert (folder / image["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert 1200 <= image["width"] <= 1280 and image["error"] is None  # less a scrollbar, if any
    assert logo["height"] >= 2000  # the full page, not the 800px viewport
    # The browser asked for nothing itself: the documents were not fetched again, and what
    # was (the stylesheet and image) came through the agent, with its User-Agent.
    later = site.requests[scraped:]
    assert sorted(r.path for r in later) == ["/logo.png", "/style.css"]
    assert {r.headers["user-agent"] for r in later} == {USER_AGENT}
    assert logo["requests"]["fetched"] >= 3
    assert any("10.0.0.9 is a blocked address: private" in r for r in logo["requests"]["refused"])


def test_an_unreachable_browser_is_retryable(site: Site, step_env: dict[str, str]) -> None:
    """No CDP peer at the URL: EXIT_RETRYABLE, no output, and the token never in the message."""
    scrape(step_env, site.url("/pricing.html"))
    step_env[pipeline.ENV_BROWSERLESS_URL] = "http://127.0.0.1:9"
    step_env[pipeline.ENV_BROWSERLESS_TOKEN] = "tok-s3cr3t"
    step_env["AGENT_SCREENSHOT_TIMEOUT_SECONDS"] = "5"
    assert main([pipeline.STEP_SCREENSHOTS], step_env) == pipeline.EXIT_RETRYABLE
    reason = Path(step_env["AGENT_TERMINATION_LOG"]).read_text()
    assert reason.startswith("cannot reach the browser at http://127.0.0.1:9") and "s3cr3t" not in reason
    assert not Path(step_env[pipeline.ENV_OUTPUT_ARTIFACTS], "images").exists()


def test_the_browserless_token_is_a_query_parameter() -> None:
    """Browserless takes ?token=; other query parameters stay."""
    assert endpoint("ws://b:3000?stealth=true", "t/1") == "ws://b:3000?stealth=true&token=t%2F1"
    assert endpoint("http://b:3000", None) == "http://b:3000"
