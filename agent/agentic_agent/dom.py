"""The ``dom-extractor`` step: structured data from every fetched page, and how well it covers the objective.

Writes the ``dom`` artifact::

    dom/index.json   {"jobId", "objective", "confidence", "elements", "method": {...}, "pages": [...]}
    dom/p1.json      the extraction of page p1 (:func:`agentic_agent.extract.extract`)

and the output parameters ``elements`` and ``confidence``.

``elements`` is the number of structured items found over all pages: headings, tables,
lists, prices, other numbers and links.

``confidence`` (0 to 1, two decimals) is computed by :func:`confidence`, deterministically
from the objective and the extraction, so the gate weighs the same number for the same
pages every time:

1. *Terms*: the objective's words, lower-cased, without stop words and words under 3
   letters. ``terms`` = the share of them found as words in the extracted text (a plural
   also matches its singular).
2. *Kinds*: what the objective asks for, from its words: prices (price, cost, plan, fee,
   $, ...), tables (table, compare, ...), lists (list, items, ...), numbers (how many,
   number, percent, ...), links (link, url, ...). ``kinds`` = the share of the asked kinds
   with at least one item found; when it asks for none, 1 if any item was found, else 0.
3. *Pages*: ``pages`` = the share of fetched pages with any visible text (a page that
   only renders with JavaScript gives nothing to extract).

``confidence = pages * (terms + kinds) / 2``. ``method`` in the index shows each part,
the terms found and missing, and the kinds asked and found, so a human at the gate can
see why. No model is asked: a model's rating could refine this, but the gate's floor is
this number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from agentic_agent import config, pages
from agentic_agent.extract import extract
from agentic_agent.outputs import Outputs
from agentic_contract import pipeline

STEP = pipeline.AGENT_STEPS[pipeline.STEP_DOM]
INDEX = "index.json"
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "list",
        "me",
        "of",
        "on",
        "or",
        "our",
        "show",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "them",
        "these",
        "they",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "find",
        "out",
        "give",
        "about",
        "all",
        "any",
        "each",
        "every",
    ]
)
KINDS = {
    "prices": {
        "price",
        "prices",
        "pricing",
        "cost",
        "costs",
        "fee",
        "fees",
        "plan",
        "plans",
        "cheap",
        "cheapest",
        "expensive",
        "monthly",
        "subscription",
        "$",
        "€",
        "£",
        "tariff",
        "rate",
        "rates",
    },
    "tables": {"table", "tables", "compare", "comparison", "matrix", "tabular"},
    "lists": {"list", "lists", "items", "enumerate", "features", "bullet"},
    "numbers": {"number", "numbers", "count", "many", "percent", "percentage", "statistics", "total", "amount"},
    "links": {"link", "links", "url", "urls", "href"},
}
_WORD = re.compile(r"[$€£]|[^\W_]+", re.UNICODE)
ELEMENT_KINDS = ("headings", "tables", "lists", "prices", "numbers", "links")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _vocabulary(extractions: Iterable[dict[str, Any]]) -> set[str]:
    words: set[str] = set()
    for data in extractions:
        words.update(_words(" ".join([data.get("title") or "", data.get("description") or "", data["text"]])))
    return words | {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}


def confidence(objective: str, extractions: list[dict[str, Any]], fetched: int) -> tuple[float, dict[str, Any]]:
    """The documented floor (module docstring): ``pages * (terms + kinds) / 2``, and its parts."""
    words = _words(objective)
    terms = sorted({w for w in words if len(w) >= 3 and w not in STOP_WORDS and w.isalnum()})
    vocabulary = _vocabulary(extractions)
    found = [t for t in terms if t in vocabulary or (t.endswith("s") and t[:-1] in vocabulary)]
    term_share = len(found) / len(terms) if terms else (1.0 if extractions else 0.0)
    asked = sorted(kind for kind, cues in KINDS.items() if cues & set(words))
    counts = {kind: sum(len(d[kind]) for d in extractions) for kind in ELEMENT_KINDS}
    present = [kind for kind in asked if counts[kind] > 0]
    kind_share = len(present) / len(asked) if asked else (1.0 if sum(counts.values()) else 0.0)
    page_share = sum(1 for d in extractions if d["text"]) / fetched if fetched else 0.0
    value = round(page_share * (term_share + kind_share) / 2, 2)
    method = {
        "formula": "pages * (terms + kinds) / 2",
        "pages": round(page_share, 4),
        "terms": round(term_share, 4),
        "kinds": round(kind_share, 4),
        "termsFound": found,
        "termsMissing": [t for t in terms if t not in found],
        "kindsAsked": asked,
        "kindsFound": present,
    }
    return value, method


def run(env: config.Env) -> dict[str, str]:
    common = config.Common.from_env(env)
    source = common.input(pipeline.ARTIFACT_PAGES)
    fetched = pages.fetched_pages(source, "extract from")
    outputs = Outputs(common.artifacts_dir, common.parameters_dir, STEP.artifact)
    with outputs as staging:
        extractions: list[dict[str, Any]] = []
        summary = []
        for page in fetched:
            html = pages.body(source, page).decode("utf-8", errors="replace")
            data = {"id": page.id, "url": page.url, "finalUrl": page.final_url, **extract(html, page.final_url)}
            (staging / f"{page.id}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            extractions.append(data)
            counts = {kind: len(data[kind]) for kind in ELEMENT_KINDS}
            summary.append(
                {"id": page.id, "url": page.url, "title": data["title"], "file": f"{page.id}.json", **counts}
            )
        elements = sum(len(d[kind]) for d in extractions for kind in ELEMENT_KINDS)
        value, method = confidence(common.objective, extractions, len(fetched))
        index = {
            "jobId": common.job_id,
            "objective": common.objective,
            "confidence": value,
            "elements": elements,
            "method": method,
            "pages": summary,
        }
        (staging / INDEX).write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
        parameters = {pipeline.OUT_CONFIDENCE: f"{value:.2f}", pipeline.OUT_ELEMENTS: str(elements)}
        outputs.publish(parameters)
    return parameters
