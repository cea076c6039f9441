"""The ``pages`` artifact: what the scraper fetched, as the later steps read it.

Layout (one directory, tarred by Argo)::

    pages/index.json   {"jobId", "userAgent", "pages": [Page, ...]}   every target, in order
    pages/p1.html      the body of page p1, as received (only for fetched pages)

Each page has an id (``p1``, ``p2``, ... in target order) that every later artifact and
the report's citations use. ``ok`` pages are HTML answered with a 2xx status; the others
say why not (``error``) and whether a retry could help.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentic_agent.errors import StepError

INDEX = "index.json"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass
class Page:
    id: str
    url: str
    final_url: str
    ok: bool
    status: int | None = None
    content_type: str = ""
    bytes: int = 0
    sha256: str = ""
    file: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    redirects: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    fetched_at: str = ""
    error: str | None = None
    retryable: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {_camel(k): v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Page:
        names = {_camel(k): k for k in cls.__dataclass_fields__}
        return cls(**{names[k]: v for k, v in data.items() if k in names})


def write_index(directory: Path, job_id: str, user_agent: str, pages: list[Page]) -> None:
    document = {"jobId": job_id, "userAgent": user_agent, "pages": [p.to_json() for p in pages]}
    (directory / INDEX).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def read_pages(directory: Path) -> list[Page]:
    """Every page of a ``pages`` artifact; a :class:`StepError` if it is not one."""
    path = directory / INDEX
    try:
        document = json.loads(path.read_text())
        return [Page.from_json(item) for item in document["pages"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StepError(f"input artifact {directory}: no readable {INDEX} ({error})") from None


def fetched_pages(directory: Path, purpose: str) -> list[Page]:
    """The ``ok`` pages of a ``pages`` artifact; a :class:`StepError` when none is left to ``purpose``."""
    fetched = [page for page in read_pages(directory) if page.ok]
    if not fetched:
        raise StepError(f"input artifact {directory}: no fetched page to {purpose}")
    return fetched


def body(directory: Path, page: Page) -> bytes:
    if page.file is None:
        raise StepError(f"page {page.id} has no body")
    return (directory / page.file).read_bytes()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
