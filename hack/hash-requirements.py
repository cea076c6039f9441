"""Writes operator/requirements.hashes: operator/requirements.lock with every wheel's hash.

    .venv/bin/python hack/hash-requirements.py      (make hashes)

The operator image installs its dependencies with ``pip install --require-hashes``
(operator/Dockerfile). This downloads, with pip itself, the wheels of every pin for
CPython 3.11 on Linux amd64 and arm64 (the image's platforms) and records their sha256;
tests/test_layout.py checks that both files pin the same versions. Rerun after any change
to operator/requirements.lock.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "operator" / "requirements.lock"
OUT = ROOT / "operator" / "requirements.hashes"
PLATFORMS = (
    ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"),
    ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64"),
)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    pins = {
        normalized(line.split("==")[0]): line.strip()
        for line in LOCK.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    hashes: dict[str, set[str]] = defaultdict(set)
    with tempfile.TemporaryDirectory() as folder:
        for platforms in PLATFORMS:
            target = Path(folder) / platforms[0]
            flags = [arg for p in platforms for arg in ("--platform", p)]
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                 "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", *flags,
                 "--dest", str(target), "--requirement", str(LOCK)],
                check=True,
            )  # fmt: skip
            for wheel in target.glob("*.whl"):
                name = normalized(wheel.name.split("-")[0])
                hashes[name].add(hashlib.sha256(wheel.read_bytes()).hexdigest())
    missing = sorted(set(pins) - set(hashes))
    if missing:
        raise SystemExit(f"no wheel found for {missing}")
    lines = [
        "# operator/requirements.lock with the sha256 of every wheel for CPython 3.11 on Linux",
        "# amd64 and arm64: written by hack/hash-requirements.py (make hashes); do not edit.",
    ]
    for name in sorted(pins):
        lines.append(" \\\n    ".join([pins[name], *(f"--hash=sha256:{h}" for h in sorted(hashes[name]))]))
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(pins)} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
