"""The ``screenshot-extractor`` step: a full-page screenshot of every fetched page.

The browser is the platform's Browserless (``BROWSERLESS_URL``, token in
``BROWSERLESS_TOKEN``), driven over the Chrome DevTools Protocol with Playwright's
``connect_over_cdp``: Browserless and a plain ``chromium --remote-debugging-port`` are
the same peer, and the tests use the second.

The browser does not fetch anything by itself. Every HTTP request of the page is routed
back to the agent (``BrowserContext.route``):

- the page's own document is answered with the body the scraper fetched, so the picture
  shows exactly what the DOM extractor reads (and the site is not asked twice);
- everything else (stylesheets, images, frames, scripts' requests) is fetched by the
  agent's guarded :class:`~agentic_agent.fetch.Fetcher`, with the same blocked networks,
  size cap and timeouts, or aborted when the guard refuses it;
- WebSockets are closed and service workers blocked.

So a page cannot use the browser to reach what the scraper may not. What stays the
browser's own is traffic Playwright cannot route (DNS prefetching, WebRTC): the
Browserless deployment's network policy must hold those.

Writes the ``images`` artifact (``images/index.json`` and ``images/<page id>.png``) and
``screenshots``, the number of pictures taken.

Ref: https://playwright.dev/python/docs/api/class-browsertype#browser-type-connect-over-cdp
Ref: https://playwright.dev/python/docs/network#modify-requests
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route, sync_playwright

from agentic_agent import config, pages
from agentic_agent.errors import ConfigError, Retryable
from agentic_agent.fetch import Fetcher, Limits
from agentic_agent.netguard import Guard, load_policy_config
from agentic_agent.outputs import Outputs
from agentic_contract import pipeline

log = logging.getLogger(__name__)
STEP = pipeline.AGENT_STEPS[pipeline.STEP_SCREENSHOTS]
INDEX = "index.json"
VIEWPORT = {"width": 1280, "height": 800}
MAX_HEIGHT = 16_384  # pixels: taller pages are cut there (Chromium's own texture limit is near)
MAX_SUBRESOURCES = 200  # requests per page the agent fetches for the browser
SUBRESOURCE_BYTES = 2 * 2**20


@dataclass
class _Router:
    """Answers one page's requests: its document from the artifact, the rest through the guard."""

    page: pages.Page
    document: bytes
    fetcher: Fetcher
    fetched: int = 0
    refused: list[str] = field(default_factory=list)

    def __call__(self, route: Route) -> None:
        request = route.request
        if (
            request.is_navigation_request()
            and request.frame.parent_frame is None
            and request.url == self.page.final_url
        ):
            content_type = self.page.headers.get("content-type", "text/html")
            route.fulfill(status=200, headers={"content-type": content_type}, body=self.document)
            return
        if self.fetched >= MAX_SUBRESOURCES:
            self.refused.append(f"{request.url}: more than {MAX_SUBRESOURCES} requests")
            route.abort("blockedbyclient")
            return
        self.fetched += 1
        answer = self.fetcher.fetch(request.url, max_bytes=SUBRESOURCE_BYTES, robots=False)
        if answer.error is not None or answer.status is None:
            self.refused.append(f"{request.url}: {answer.error}")
            route.abort("blockedbyclient" if answer.refused else "failed")
            return
        headers = {k: v for k, v in answer.headers.items() if k in ("content-type", "cache-control", "last-modified")}
        route.fulfill(status=answer.status, headers=headers, body=answer.body)


def endpoint(url: str, token: str | None) -> str:
    """The CDP endpoint: ``BROWSERLESS_URL`` with the token as Browserless's ``token`` query parameter."""
    if not token:
        return url
    parts = urllib.parse.urlsplit(url)
    query = [*urllib.parse.parse_qsl(parts.query), ("token", token)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _where(url: str) -> str:
    """The endpoint without its query (the token) or user info, for messages."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]  # the IHDR chunk follows the 8-byte signature
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def run(env: config.Env) -> dict[str, str]:
    common = config.Common.from_env(env)
    source = common.input(pipeline.ARTIFACT_PAGES)
    fetched = pages.fetched_pages(source, "take a picture of")
    browser_url = env.text(pipeline.ENV_BROWSERLESS_URL)
    if urllib.parse.urlsplit(browser_url).scheme not in ("http", "https", "ws", "wss"):
        raise ConfigError(f"{pipeline.ENV_BROWSERLESS_URL}: not an http(s) or ws(s) URL")
    timeout_ms = env.number(config.ENV_SCREENSHOT_TIMEOUT, 30.0, float, 1, 600) * 1000
    guard = Guard.from_config(load_policy_config(common.policy_data))
    limits = Limits(total_timeout=timeout_ms / 1000)
    outputs = Outputs(common.artifacts_dir, common.parameters_dir, STEP.artifact)
    records: list[dict[str, Any]] = []
    with outputs as staging, Fetcher(guard, limits) as fetcher, sync_playwright() as playwright:
        try:
            browser = playwright.chromium.connect_over_cdp(
                endpoint(browser_url, env.optional(pipeline.ENV_BROWSERLESS_TOKEN)), timeout=timeout_ms
            )
        except PlaywrightError as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise Retryable(f"cannot reach the browser at {_where(browser_url)}: {first[:200]}") from None
        try:
            for page in fetched:
                records.append(_shoot(browser, page, pages.body(source, page), fetcher, staging, timeout_ms))
        finally:
            browser.close()
        taken = sum(1 for r in records if r["file"])
        if taken == 0:
            raise Retryable("no screenshot taken (" + "; ".join(f"{r['id']}: {r['error']}" for r in records) + ")")
        index = {"jobId": common.job_id, "viewport": VIEWPORT, "images": records}
        (staging / INDEX).write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
        parameters = {pipeline.OUT_SCREENSHOTS: str(taken)}
        outputs.publish(parameters)
    return parameters


def _shoot(
    browser: Any, page: pages.Page, document: bytes, fetcher: Fetcher, staging: Path, timeout_ms: float
) -> dict[str, Any]:
    """One page in a fresh context (no cookies or storage shared between pages)."""
    router = _Router(page, document, fetcher)
    record: dict[str, Any] = {"id": page.id, "url": page.url, "file": None, "error": None}
    context = browser.new_context(viewport=VIEWPORT, service_workers="block", java_script_enabled=True)
    try:
        context.route("**/*", router)
        context.route_web_socket("**/*", lambda ws: ws.close())
        tab = context.new_page()
        tab.goto(page.final_url, wait_until="load", timeout=timeout_ms)
        height = int(
            tab.evaluate(
                "Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)"
            )
        )
        path = staging / f"{page.id}.png"
        if height > MAX_HEIGHT:
            tab.screenshot(
                path=str(path),
                clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": MAX_HEIGHT},
                full_page=True,
                timeout=timeout_ms,
            )
        else:
            tab.screenshot(path=str(path), full_page=True, timeout=timeout_ms)
        width, png_height = _png_size(path)
        record.update(
            file=path.name, width=width, height=png_height, bytes=path.stat().st_size, cut=height > MAX_HEIGHT
        )
    except PlaywrightError as error:
        record["error"] = (str(error).splitlines() or [type(error).__name__])[0][:300]
    finally:
        context.close()
    record["requests"] = {"fetched": router.fetched, "refused": router.refused[:50]}
    log.info("%s %s: %s", page.id, page.url, record["file"] or record["error"])
    return record
