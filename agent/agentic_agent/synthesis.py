"""The ``synthesis`` step (after approval): a report that answers the objective, citing its pages.

The model is the platform's LiteLLM (``LITELLM_URL``), spoken to with the ``openai``
client through the OpenAI-compatible API: ``<LITELLM_URL>/v1/chat/completions`` (``/v1``
is added unless the URL ends with it). Model, timeout and retries come from the
environment (``AGENT_LLM_MODEL``, ``AGENT_LLM_TIMEOUT_SECONDS``, ``AGENT_LLM_MAX_RETRIES``);
the key, if the proxy wants one, from ``LITELLM_API_KEY`` (a secretKeyRef).

The model gets the objective and what the extraction found on each page (capped), each
under its page id, and must answer with JSON: a summary and statements, each citing the
ids of the pages it comes from. Screenshots are attached only with ``AGENT_LLM_IMAGES=true``
(for a model that accepts images). Citations of pages that do not exist are dropped and
the statement is marked uncited: the report never cites what the agent did not fetch.

Writes the ``report`` artifact: ``report.md`` for people, ``report.json`` for machines.
Neither holds the key or the prompt.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from pathlib import Path
from typing import Any

import openai

from agentic_agent import config, pages
from agentic_agent.errors import ConfigError, Retryable, StepError
from agentic_agent.outputs import Outputs
from agentic_contract import pipeline

STEP = pipeline.AGENT_STEPS[pipeline.STEP_SYNTHESIS]
MAX_DATA_CHARS = 60_000
MAX_PAGE_TEXT = 4_000
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 2**20
SYSTEM = (
    "You write short, factual reports from data extracted from web pages. Use only the data given. "
    "Answer with one JSON object and nothing else: "
    '{"summary": "<two or three sentences answering the objective>", '
    '"statements": [{"text": "<one fact that answers the objective>", "sources": ["<page id>", ...]}]}. '
    "Every statement cites the ids of the pages it comes from. If the data does not answer the objective, say so in the summary."
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise StepError(f"input {path}: not readable JSON ({error})") from None


def page_data(dom_dir: Path, page_id: str) -> dict[str, Any]:
    """What the model is shown of one page: the structured parts first, text last and capped."""
    data = _read_json(dom_dir / f"{page_id}.json")
    return {
        "id": page_id,
        "url": data["finalUrl"],
        "title": data["title"],
        "headings": [h["text"] for h in data["headings"]][:30],
        "tables": [{**t, "rows": t["rows"][:30]} for t in data["tables"][:5]],
        "prices": data["prices"][:50],
        "numbers": data["numbers"][:50],
        "lists": [lst["items"][:20] for lst in data["lists"][:10]],
        "text": data["text"][:MAX_PAGE_TEXT],
    }


def prompt(objective: str, shown: list[dict[str, Any]], images: list[Path]) -> list[dict[str, Any]]:
    """The chat messages: instructions, then the objective and the data (and images)."""
    data = json.dumps({"pages": shown}, ensure_ascii=False)
    while len(data) > MAX_DATA_CHARS and any(p["text"] for p in shown):
        longest = max(shown, key=lambda p: len(p["text"]))
        longest["text"] = longest["text"][: len(longest["text"]) // 2]
        data = json.dumps({"pages": shown}, ensure_ascii=False)
    text = f"Objective: {objective}\n\n<data>\n{data}\n</data>"
    user: str | list[dict[str, Any]] = text
    if images:
        user = [{"type": "text", "text": text}] + [
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()},
            }
            for p in images
        ]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_answer(content: str, known: set[str]) -> dict[str, Any]:
    """The model's JSON, with citations kept only to pages that exist."""
    body = re.sub(r"^```(?:json)?\s*|\s*```$", "", content.strip())
    try:
        answer = json.loads(body)
    except ValueError:
        raise Retryable("the model's answer is not the JSON object asked for") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("statements", []), list):
        raise Retryable("the model's answer lacks a list of statements")
    statements = []
    for item in answer.get("statements", []):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        sources = [s for s in item.get("sources", []) if isinstance(s, str) and s in known]
        statements.append({"text": item["text"].strip(), "sources": list(dict.fromkeys(sources))})
    return {"summary": str(answer.get("summary", "")).strip(), "statements": statements}


def base_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def ask(env: config.Env, messages: list[dict[str, Any]], model: str) -> str:
    client = openai.OpenAI(
        base_url=base_url(env.text(pipeline.ENV_LITELLM_URL)),
        api_key=env.optional(pipeline.ENV_LITELLM_API_KEY)
        or "unset",  # the client needs one; a keyless proxy ignores it
        timeout=env.number(config.ENV_LLM_TIMEOUT, 120.0, float, 1, 1800),
        max_retries=env.number(config.ENV_LLM_MAX_RETRIES, 2, int, 0, 10),
    )
    try:
        completion = client.chat.completions.create(model=model, messages=messages, temperature=0)  # type: ignore[arg-type]
    except (openai.APITimeoutError, openai.APIConnectionError) as error:
        raise Retryable(f"the model endpoint did not answer: {type(error).__name__}") from None
    except (openai.RateLimitError, openai.InternalServerError) as error:
        raise Retryable(f"the model endpoint is busy or failing: HTTP {error.status_code}") from None
    except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as error:
        raise ConfigError(
            f"the model endpoint refused: HTTP {error.status_code} (check {pipeline.ENV_LITELLM_API_KEY} and {pipeline.ENV_LLM_MODEL}={model})"
        ) from None
    except openai.APIStatusError as error:
        raise StepError(f"the model endpoint refused the request: HTTP {error.status_code}") from None
    if not completion.choices or not completion.choices[0].message.content:
        raise Retryable("the model gave an empty answer")
    return completion.choices[0].message.content


def markdown(report: dict[str, Any]) -> str:
    numbers = {p["id"]: i for i, p in enumerate(report["pages"], start=1)}
    lines = [f"# {report['objective']}", "", report["summary"] or "_The model gave no summary._", ""]
    if report["statements"]:
        lines += ["## Findings", ""]
        for statement in report["statements"]:
            cites = "".join(f"[{numbers[s['id']]}]" for s in statement["sources"]) or "_(no source given)_"
            lines.append(f"- {statement['text']} {cites}")
        lines.append("")
    lines += ["## Sources", ""]
    for page in report["pages"]:
        shot = f" (screenshot: `{page['screenshot']}`)" if page["screenshot"] else ""
        lines.append(f"{numbers[page['id']]}. [{page['title'] or page['url']}]({page['finalUrl']}){shot}")
    lines += [
        "",
        f"_Job {report['jobId']}, model `{report['model']}`, {report['generatedAt']}; extraction confidence {report['confidence']}._",
        "",
    ]
    return "\n".join(lines)


def run(env: config.Env) -> dict[str, str]:
    common = config.Common.from_env(env)
    # The platform's choice (stack config template.llmModel, set on the step by the template).
    model = env.text(pipeline.ENV_LLM_MODEL)
    send_images = env.choice(config.ENV_LLM_IMAGES, "false", ("true", "false")) == "true"
    pages_dir, dom_dir = common.input(pipeline.ARTIFACT_PAGES), common.input(pipeline.ARTIFACT_DOM)
    images_dir = common.input(pipeline.ARTIFACT_IMAGES)
    fetched = {p.id: p for p in pages.read_pages(pages_dir) if p.ok}
    dom = _read_json(dom_dir / "index.json")
    shots = {i["id"]: i["file"] for i in _read_json(images_dir / "index.json")["images"] if i.get("file")}
    ids = [p["id"] for p in dom["pages"] if p["id"] in fetched]
    if not ids:
        raise StepError(f"input {dom_dir}: no extracted page to report on")
    images = [
        images_dir / shots[i] for i in ids if i in shots and (images_dir / shots[i]).stat().st_size <= MAX_IMAGE_BYTES
    ]
    messages = prompt(
        common.objective, [page_data(dom_dir, i) for i in ids], images[:MAX_IMAGES] if send_images else []
    )
    answer = parse_answer(ask(env, messages, model), set(ids))
    titles = {p["id"]: p["title"] for p in dom["pages"]}
    report = {
        "jobId": common.job_id,
        "objective": common.objective,
        "model": model,
        "generatedAt": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "confidence": dom.get("confidence"),
        "summary": answer["summary"],
        "statements": [
            {"text": s["text"], "sources": [{"id": i, "url": fetched[i].final_url} for i in s["sources"]]}
            for s in answer["statements"]
        ],
        "uncited": sum(1 for s in answer["statements"] if not s["sources"]),
        "pages": [
            {
                "id": i,
                "url": fetched[i].url,
                "finalUrl": fetched[i].final_url,
                "title": titles.get(i),
                "screenshot": shots.get(i),
            }
            for i in ids
        ],
    }
    outputs = Outputs(common.artifacts_dir, common.parameters_dir, STEP.artifact)
    with outputs as staging:
        (staging / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        (staging / "report.md").write_text(markdown(report))
        outputs.publish({})
    return {
        "statements": str(len(report["statements"])),
        "report": str(common.artifacts_dir / STEP.artifact / "report.md"),
    }
