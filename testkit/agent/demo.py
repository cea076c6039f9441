"""``make demo``: the pipeline on this machine, from an AgentWorkload to the report.

1. serves ``testkit/agent/site/`` on loopback and takes ``examples/pricing-check.yaml``
   with its target pointed at that page;
2. admission and the gate are decided by the real policies (``policies/``, served by the
   real OPA as the operator's sidecar serves them: :class:`testkit.opa.OpaServer`), with the demo's stack override that lets
   loopback through (``blocked_networks: {"127.0.0.0/8": null}``, ``localhost`` no longer
   internal), as a stack's ``policy.data`` would;
3. runs scraper, screenshot-extractor and dom-extractor as the rendered WorkflowTemplate
   declares them (:mod:`testkit.agent.chain`), with Debian's headless Chromium as the
   browser, then asks the gate policy with those outputs, then runs synthesis;
4. prints the path of ``report.md``.

The model is ``LITELLM_URL`` (with ``LITELLM_API_KEY``, ``AGENT_LLM_MODEL``) when set;
otherwise a stand-in on loopback that answers with the prices the extraction found
(:func:`testkit.agent.peers.extractive_answer`), so the demo needs no network.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from agentic_contract import pipeline
from agentic_operator import api, argo, reconcile
from agentic_operator.decision import ADMISSION, GATE
from agentic_operator.settings import Settings
from components import bundle, config, template
from testkit.agent.chain import TemplateRun, lay_out, workload_arguments
from testkit.agent.peers import ChatServer, Chromium, Site, chromium_binary, extractive_answer
from testkit.opa import OpaServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pricing-check.yaml"
BEFORE_GATE = (pipeline.STEP_SCRAPER, pipeline.STEP_SCREENSHOTS, pipeline.STEP_DOM)
DEMO_POLICY = {
    "blocked_networks": {"127.0.0.0/8": None},
    "internal_host_suffixes": ["svc", "cluster.local", "internal"],
}


def _say(line: str) -> None:
    print(line, flush=True)


def _policies(directory: Path) -> Path:
    """policies/ with the demo's override merged into data.json, as the operator's ConfigMap gets it."""
    files = bundle.policies(bundle.POLICY_DIR, DEMO_POLICY)
    for item in files.items:
        (directory / item["path"]).write_text(files.data[item["key"]])
    return directory


def bundled_run(work: Path, arguments: dict[str, str], platform: dict[str, str]) -> TemplateRun:
    """The default stack's template running its bundled agent (the source ConfigMap laid
    out under ``work``), with the demo's policy data: what a fresh platform's pods run."""
    policy_dir = work / "policies"
    policy_dir.mkdir()
    _policies(policy_dir)
    template_settings = config.template_settings("agentic-system")  # the default: bundled agent
    source = template_settings.agent_bundle
    assert source is not None
    return TemplateRun(
        template.workflow_template(template_settings),
        work / "pods",
        arguments,
        platform,
        policy_dir / bundle.DATA_FILE,
        launcher=lay_out(source, work / "agent-source"),
    )


def main() -> int:
    binary = chromium_binary()
    if binary is None:
        _say("demo: chromium is not installed (apt-get install -y chromium)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="agentic-demo-"))
    site, browser, llm, opa = Site(), Chromium(binary), None, OpaServer(DEMO_POLICY, workdir=work / "opa")
    try:
        url = site.url("/pricing.html")
        workload: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
        workload["metadata"].setdefault("namespace", "demo")
        workload["spec"]["targetUrls"] = [url]
        spec = api.parse(workload)
        settings = Settings(default_agent_image=config.DEFAULT_AGENT_IMAGE, default_bucket=config.DEFAULT_BUCKET)
        policy = opa.start().client()
        admission = policy.evaluate(ADMISSION, reconcile.admission_input(workload, spec, settings))
        _say(f"admission ({ADMISSION}): {'allowed' if admission.allowed else 'denied'} {'; '.join(admission.reasons)}")
        if not admission.allowed:
            return 1

        browser.start()
        if os.environ.get(pipeline.ENV_LITELLM_URL):
            platform = {pipeline.ENV_LITELLM_URL: os.environ[pipeline.ENV_LITELLM_URL]}
            for name in (pipeline.ENV_LITELLM_API_KEY, pipeline.ENV_LLM_MODEL):
                if os.environ.get(name):
                    platform[name] = os.environ[name]
        else:
            llm = ChatServer(extractive_answer)
            platform = {pipeline.ENV_LITELLM_URL: llm.url}
        platform[pipeline.ENV_BROWSERLESS_URL] = browser.endpoint
        run = bundled_run(work, workload_arguments(spec.job_id, list(spec.target_urls), spec.objective), platform)
        outputs: dict[str, dict[str, str]] = {}
        for step in BEFORE_GATE:
            result = run.run(step)
            shown = ", ".join(f"{k}={v}" for k, v in result.parameters.items())
            _say(
                f"{step}: exit {result.code}{' ' + shown if shown else ''}{' (' + result.reason + ')' if result.code else ''}"
            )
            if result.code:
                return result.code
            outputs[step] = result.parameters
        # What the operator reads off the Workflow at the gate: four of six nodes done.
        at_gate = argo.WorkflowStatus(progress="4/6", nodes_total=6, nodes_succeeded=4, step_outputs=outputs)
        gate = policy.evaluate(GATE, reconcile.gate_input(workload, spec, at_gate, settings))
        _say(f"gate ({GATE}): {'approved' if gate.allowed else 'a human must decide'}: {'; '.join(gate.reasons)}")
        if not gate.allowed:
            return 2
        result = run.run(pipeline.STEP_SYNTHESIS)
        _say(f"{pipeline.STEP_SYNTHESIS}: exit {result.code}{' (' + result.reason + ')' if result.code else ''}")
        if result.code:
            return result.code
        report = run.local(pipeline.STEP_SYNTHESIS, pipeline.output_artifact_path(pipeline.ARTIFACT_REPORT))
        summary = json.loads((report / "report.json").read_text())
        _say(f"report: {len(summary['statements'])} statements citing {len(summary['pages'])} page(s)")
        _say(str(report / "report.md"))
        return 0
    finally:
        site.close()
        browser.stop()
        opa.stop()
        if llm is not None:
            llm.close()


if __name__ == "__main__":
    sys.exit(main())
