"""Delivery files, checked offline: GitHub workflows, the operator Dockerfile, the stacks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import config
from tests.infra.conftest import run_main
from tests.infra.harness import Harness

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DOCKERFILE = ROOT / "operator" / "Dockerfile"


def workflow(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return document


def steps(name: str, job: str) -> list[dict[str, Any]]:
    return list(workflow(name)["jobs"][job]["steps"])


def pinned_cli() -> str:
    match = re.search(r'"pulumi\|v([0-9.]+)\|', (ROOT / "hack" / "tools.sh").read_text())
    assert match
    return match.group(1)


def test_the_workflows_match_githubs_schema() -> None:
    """check-jsonschema's built-in GitHub workflow schema, offline."""
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in WORKFLOWS} == {"test.yml", "preview.yml", "deploy.yml", "up.yml", "operator-image.yml"}


def test_tests_run_on_push_and_pull_request_with_the_readme_command() -> None:
    document = workflow("test.yml")
    assert set(document[True]) == {"push", "pull_request"}  # YAML reads the key `on` as True
    assert {"name": "make test", "run": "make test"} in steps("test.yml", "test")


def test_pull_requests_get_a_preview_commented_without_pulumi_cloud() -> None:
    document = workflow("preview.yml")
    assert set(document[True]) == {"pull_request"}
    assert document["permissions"]["pull-requests"] == "write"
    assert "PULUMI_ACCESS_TOKEN" not in str(document)
    assert document["env"]["PULUMI_BACKEND_URL"] and document["env"]["PULUMI_CONFIG_PASSPHRASE"]
    (preview,) = [s for s in steps("preview.yml", "preview") if s.get("with", {}).get("command") == "preview"]
    assert preview["uses"].startswith("pulumi/actions@")
    assert preview["with"]["comment-on-pr"] is True and preview["with"]["diff"] is True
    assert preview["with"]["policyPacks"] == "crossguard"


def test_every_workflow_installs_the_cli_the_tools_pin() -> None:
    for name in ("preview.yml", "up.yml"):
        job = next(iter(workflow(name)["jobs"]))
        (install,) = [s for s in steps(name, job) if "pulumi-version" in s.get("with", {})]
        assert str(install["with"]["pulumi-version"]) == pinned_cli(), name


def test_main_deploys_dev_then_later_stacks_behind_their_environment() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert set(workflow("deploy.yml")[True]) == {"push"}
    assert jobs["dev"]["with"] == {"stack": "dev"} and jobs["prod"]["with"] == {"stack": "prod"}
    assert jobs["prod"]["needs"] == "dev"
    assert workflow("up.yml")["jobs"]["up"]["environment"] == "${{ inputs.stack }}"
    (up,) = [s for s in steps("up.yml", "up") if s.get("with", {}).get("command") == "up"]
    assert up["with"]["stack-name"] == "${{ inputs.stack }}"


def test_the_operator_image_is_built_and_pushed_from_main() -> None:
    (build,) = [
        s for s in steps("operator-image.yml", "image") if s.get("uses", "").startswith("docker/build-push-action")
    ]
    assert build["with"]["push"] is True and build["with"]["file"] == "operator/Dockerfile"


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_pinned_non_root_hash_checked_and_runs_the_operator() -> None:
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert set(bases) == {config.PYTHON_IMAGE}  # bundled mode's Python
    assert config.image_problem(config.PYTHON_IMAGE) is None
    assert "--require-hashes" in text and "requirements.hashes" in text
    (user,) = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    assert 'ENTRYPOINT ["python", "-m", "agentic_operator"]' in text


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_example_stack_is_valid_and_names_its_cluster(stack: str) -> None:
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    values = {key.split(":", 1)[1]: value for key, value in values.items()}
    assert values["kubernetes.context"]
    run = run_main(Harness(values))
    assert run.exports["kubeContext"] == values["kubernetes.context"]


def test_make_preview_without_any_cli_names_both_ways_to_get_one(tmp_path: Path) -> None:
    """No `pulumi` on PATH and none built: a message, not a failing download."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AGENTIC_TOOLS_CACHE": str(tmp_path / "tools")}
    done = subprocess.run(["make", "-s", "pulumi-cli"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "no Pulumi CLI" in done.stderr
    assert "install the official CLI" in done.stderr and "make tools" in done.stderr
    assert "curl: (6)" not in done.stderr
