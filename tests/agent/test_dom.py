"""The DOM extractor on pages the real scraper fetched: what it finds and the confidence it reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentic_agent.__main__ import main
from agentic_agent.dom import confidence
from agentic_contract import pipeline
from testkit.agent.peers import Site, static
from tests.agent.conftest import scrape

OBJECTIVE = pipeline.PARAMETER_ENV[pipeline.PARAM_OBJECTIVE]


def _dom(env: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    out = Path(env[pipeline.ENV_OUTPUT_ARTIFACTS]) / pipeline.ARTIFACT_DOM
    params = {p.name: p.read_text() for p in Path(env[pipeline.ENV_OUTPUT_PARAMETERS]).iterdir()}
    return json.loads((out / "index.json").read_text()), params


def test_the_pricing_page_yields_its_table_prices_and_lists(site: Site, step_env: dict[str, str]) -> None:
    """Tables with header and rows, prices with currency, period and their row, visible text only."""
    scrape(step_env, site.url("/pricing.html"))
    assert main([pipeline.STEP_DOM], step_env) == 0
    index, params = _dom(step_env)
    page = json.loads((Path(step_env[pipeline.ENV_OUTPUT_ARTIFACTS]) / "dom" / "p1.json").read_text())
    assert page["title"] == "Acme Cloud: Pricing"
    (table,) = page["tables"]
    assert table["caption"] == "Monthly plans" and table["header"] == ["Plan", "Price", "Storage", "Seats"]
    assert table["rows"][1] == ["Team", "$29/month", "100 GB", "10"]
    assert [(p["currency"], p["amount"], p["period"]) for p in page["prices"]] == [
        ("$", 9.0, "month"),
        ("$", 29.0, "month"),
        ("$", 99.0, "month"),
        ("€", 1200.0, "month"),
    ]
    assert page["prices"][1]["context"] == "Team | $29/month | 100 GB | 10"
    assert {"text": "99.9%", "context": "99.9% uptime commitment"} in page["numbers"]
    assert page["links"][0] == {"href": site.url("/"), "text": "Home"}
    assert "$999.99" not in json.dumps(page) and "coupon" not in json.dumps(page)  # script and hidden text
    counts = sum(len(page[k]) for k in ("headings", "tables", "lists", "prices", "numbers", "links"))
    assert params == {"confidence": "1.00", "elements": str(counts)} and index["elements"] == counts
    assert index["method"]["kindsAsked"] == ["lists", "prices"] and index["method"]["termsMissing"] == []


def test_confidence_falls_with_what_the_objective_asks_and_the_pages_lack(site: Site, step_env: dict[str, str]) -> None:
    """A page without prices, asked for prices: terms and kinds both fall short, deterministically."""
    site.routes["/about.html"] = static(200, "text/html", b"<h1>About us</h1><p>We host websites since 2009.</p>")
    scrape(step_env, site.url("/about.html"))
    step_env[OBJECTIVE] = "What are the monthly prices of the hosting plans?"
    assert main([pipeline.STEP_DOM], step_env) == 0
    index, params = _dom(step_env)
    method = index["method"]
    # "host" is on the page but "hosting" is not: only plurals fold to their singular.
    assert method["termsFound"] == [] and method["kindsAsked"] == ["prices"] and method["kindsFound"] == []
    assert params["confidence"] == "0.00"


def test_the_confidence_formula_is_the_documented_one() -> None:
    """pages * (terms + kinds) / 2, with each part visible."""
    page = {
        "title": "Plans",
        "description": None,
        "text": "Team plan",
        "headings": [],
        "tables": [],
        "lists": [],
        "prices": [{"amount": 1}],
        "numbers": [],
        "links": [],
    }
    empty = {**page, "text": "", "title": None, "prices": []}
    value, method = confidence("Compare the plans and their prices", [page, empty], fetched=2)
    # terms: compare (missing), plans (found), prices (missing) -> 1/3; kinds: prices found, tables not -> 1/2
    assert (method["terms"], method["kinds"], method["pages"]) == (0.3333, 0.5, 0.5)
    assert value == round(0.5 * (1 / 3 + 1 / 2) / 2, 2) == 0.21


def test_no_fetched_page_fails_without_output(step_env: dict[str, str], tmp_path: Path) -> None:
    """An empty or missing pages artifact is EXIT_FAILED and publishes nothing."""
    assert main([pipeline.STEP_DOM], step_env) == pipeline.EXIT_FAILED
    assert "no readable index.json" in Path(step_env["AGENT_TERMINATION_LOG"]).read_text()
    assert not Path(step_env[pipeline.ENV_OUTPUT_ARTIFACTS], "dom").exists()
    assert not Path(step_env[pipeline.ENV_OUTPUT_PARAMETERS]).exists()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Only 9,99 € a month</p>", ("€", 9.99, "month")),
        ("<p>From USD 1,299.00 per year</p>", ("USD", 1299.0, "year")),
        ("<p>£5 per user</p>", ("£", 5.0, "user")),
    ],
)
def test_price_formats(html: str, expected: tuple[str, float, str]) -> None:
    """Currency before or after, thousands separators, decimal commas and the period that follows."""
    from agentic_agent.extract import extract

    (price,) = extract(html, "http://x.example/")["prices"]
    assert (price["currency"], price["amount"], price["period"]) == expected
