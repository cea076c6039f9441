"""The ``scraper`` step: fetch every target URL, keep what was answered and how.

Writes the ``pages`` artifact (:mod:`agentic_agent.pages`) and the output parameters
``pages-fetched`` (HTML pages answered 2xx) and ``pages-failed`` (everything else: refused
by the guard or robots.txt, 4xx/5xx, not HTML, too large, too slow). The gate policy
weighs the two. When no page at all could be fetched the step fails instead, with
``EXIT_RETRYABLE`` if any failure was the kind a retry can cure (timeouts, 5xx, 429,
unreachable) and ``EXIT_FAILED`` otherwise.
"""

from __future__ import annotations

import datetime
import hashlib
import logging

from agentic_agent import config, pages
from agentic_agent.errors import Retryable, StepError
from agentic_agent.fetch import USER_AGENT, Fetched, Fetcher
from agentic_agent.netguard import Guard, Resolver, load_policy_config, system_resolver
from agentic_agent.outputs import Outputs
from agentic_contract import pipeline

log = logging.getLogger(__name__)
STEP = pipeline.AGENT_STEPS[pipeline.STEP_SCRAPER]


def to_page(index: int, fetched: Fetched, at: str) -> pages.Page:
    """A fetch outcome as a page record; only 2xx HTML counts as fetched."""
    page = pages.Page(
        id=f"p{index}",
        url=fetched.url,
        final_url=fetched.final_url,
        ok=False,
        status=fetched.status,
        content_type=fetched.content_type,
        headers=fetched.headers,
        redirects=fetched.redirects,
        seconds=fetched.seconds,
        fetched_at=at,
        error=fetched.error,
        retryable=fetched.retryable,
    )
    if fetched.error is None and fetched.status is not None:
        if fetched.status >= 400:
            page.error = f"HTTP {fetched.status}"
            page.retryable = fetched.status >= 500 or fetched.status == 429
        elif fetched.content_type not in pages.HTML_TYPES:
            page.error = f"content type {fetched.content_type or 'unknown'!r} is not HTML"
        else:
            page.ok = True
    return page


def run(env: config.Env, resolver: Resolver = system_resolver) -> dict[str, str]:
    common = config.Common.from_env(env)
    urls = config.target_urls(env)
    guard = Guard.from_config(load_policy_config(common.policy_data), resolver)
    obey = env.choice(config.ENV_ROBOTS, "obey", ("obey", "ignore")) == "obey"
    results: list[pages.Page] = []
    outputs = Outputs(common.artifacts_dir, common.parameters_dir, STEP.artifact)
    with outputs as staging, Fetcher(guard, config.fetch_limits(env), obey_robots=obey) as fetcher:
        for index, url in enumerate(urls, start=1):
            at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            fetched = fetcher.fetch(url)
            page = to_page(index, fetched, at)
            if page.ok:
                page.file = f"{page.id}.html"
                page.bytes = len(fetched.body)
                page.sha256 = hashlib.sha256(fetched.body).hexdigest()
                (staging / page.file).write_bytes(fetched.body)
            log.info("%s %s: %s", page.id, url, "fetched" if page.ok else page.error)
            results.append(page)
        fetched_count = sum(p.ok for p in results)
        if fetched_count == 0:
            reasons = "; ".join(f"{p.id}: {p.error}" for p in results)
            if any(p.retryable for p in results):
                raise Retryable(f"no page fetched ({reasons})")
            raise StepError(f"no page fetched ({reasons})")
        pages.write_index(staging, common.job_id, USER_AGENT, results)
        parameters = {
            pipeline.OUT_PAGES_FETCHED: str(fetched_count),
            pipeline.OUT_PAGES_FAILED: str(len(results) - fetched_count),
        }
        outputs.publish(parameters)
    return parameters
