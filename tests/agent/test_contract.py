"""The template and the agent agree: each step produces exactly what the template declares.

The steps run as processes from the rendered WorkflowTemplate's own command, environment,
input artifacts and paths (testkit/agent/chain.py), against real peers on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_contract import pipeline
from components import bundle, config, template
from testkit.agent.chain import TemplateRun, lay_out, workload_arguments
from testkit.agent.peers import ChatServer, Chromium, Site, extractive_answer
from tests.agent.conftest import LOOPBACK, policy_data, require_chromium


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    browser = Chromium(require_chromium()).start()
    yield browser
    browser.stop()


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


@pytest.mark.parametrize("bundled", [True, False], ids=["bundled", "image"])
def test_every_step_produces_exactly_its_declared_outputs(
    site: Site, chromium: Chromium, tmp_path: Path, bundled: bool
) -> None:
    """Declared output parameters and artifacts exist at the declared paths, and nothing else."""
    settings = config.template_settings("agentic-system", agent_image=None if bundled else "registry.example/agent:1")
    source = settings.agent_bundle
    manifest = template.workflow_template(settings)
    llm = ChatServer(extractive_answer)
    try:
        run = TemplateRun(
            manifest,
            tmp_path,
            workload_arguments("job-c", [site.url("/pricing.html")], "List the plans and their monthly prices"),
            {
                pipeline.ENV_BROWSERLESS_URL: chromium.endpoint,
                pipeline.ENV_LITELLM_URL: llm.url,
            },
            policy_data(tmp_path, blocked_networks={LOOPBACK: None}),
            launcher=lay_out(source, tmp_path / "agent-source") if source else None,
        )
        agent_steps = [s for s in pipeline.STEPS if s in pipeline.AGENT_STEPS]
        assert set(agent_steps) == {t for t, spec in run.templates.items() if "container" in spec}
        for step in agent_steps:
            result = run.run(step)
            assert result.code == 0, (step, result.reason, result.stderr[-2000:])
            artifacts, parameters = run.declared_outputs(step)
            assert [Path(p).name for p in artifacts] == [pipeline.AGENT_STEPS[step].artifact]
            for path in artifacts:
                local = run.local(step, path)
                assert local.is_dir() and any(local.iterdir()), (step, path)
            # Nothing beside the declared outputs: no stray artifact or parameter file.
            assert _files(run.local(step, pipeline.OUTPUT_ARTIFACTS_DIR)) == {Path(p).name for p in artifacts}
            assert _files(run.local(step, pipeline.OUTPUT_PARAMETERS_DIR)) == {Path(p).name for p in parameters}
            assert tuple(result.parameters) == pipeline.STEP_OUTPUTS.get(step, ())
            assert all(float(v) >= 0 for v in result.parameters.values())  # what the gate reads as numbers
        report = run.local(pipeline.STEP_SYNTHESIS, pipeline.output_artifact_path(pipeline.ARTIFACT_REPORT))
        assert _files(report) == {"report.md", "report.json"}
        assert json.loads((report / "report.json").read_text())["statements"]
    finally:
        llm.close()


def test_the_bundle_launcher_runs_the_bundled_source(tmp_path: Path) -> None:
    """bin/agent imports agentic_agent and agentic_contract from the ConfigMap's files."""
    import subprocess
    import sys

    launcher = lay_out(bundle.agent_source(), tmp_path)
    probe = "import agentic_agent.scraper, agentic_contract; print(agentic_agent.__file__, agentic_contract.__file__)"
    shim = tmp_path / "agentic_agent" / "__main__.py"
    original = shim.read_text()
    shim.write_text(probe)
    try:
        out = subprocess.run([sys.executable, str(launcher)], capture_output=True, text=True, timeout=60, check=True)
    finally:
        shim.write_text(original)
    assert out.stdout.split() == [
        str(tmp_path / "agentic_agent" / "__init__.py"),
        str(tmp_path / "agentic_contract" / "__init__.py"),
    ]
    assert launcher.stat().st_mode & 0o777 == 0o555
