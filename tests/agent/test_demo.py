"""`make demo` does what the README says: the four steps, the real gate, a report path last."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import require_chromium

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_prints_the_path_of_the_report_it_wrote() -> None:
    require_chromium()
    out = subprocess.run(
        [sys.executable, "-m", "testkit.agent.demo"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "admission (agentic.admission): allowed "
    assert lines[4].startswith("gate (agentic.gate): approved: ")
    report = Path(lines[-1])
    assert report.name == "report.md" and "$29/month" in report.read_text()
    assert (report.parent / "report.json").is_file()
