"""A step's outputs appear all at once, or not at all.

The artifact is built in a staging directory beside its final place and renamed into
``<output artifacts>/<artifact>`` only when the step succeeds; the output parameter
files are written after it. A step that fails leaves neither, so Argo fails the node
("path does not exist") instead of uploading half a result, and the gate never weighs
numbers from an unfinished step.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType


class Outputs:
    """``with Outputs(...) as staging:`` write files under ``staging``; then :meth:`publish`."""

    def __init__(self, artifacts_dir: Path, parameters_dir: Path, artifact: str) -> None:
        self.final = artifacts_dir / artifact
        self.parameters_dir = parameters_dir
        self._staging: Path | None = None
        self._published = False

    def __enter__(self) -> Path:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        if self.final.exists():
            shutil.rmtree(self.final)  # a previous attempt's leftovers are not this result
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.final.name}-", dir=self.final.parent))
        return self._staging

    def publish(self, parameters: Mapping[str, str]) -> None:
        """Move the staged artifact into place, then write each output parameter file."""
        assert self._staging is not None, "publish() inside the with block"
        os.replace(self._staging, self.final)
        if parameters:
            self.parameters_dir.mkdir(parents=True, exist_ok=True)
        for name, value in parameters.items():
            (self.parameters_dir / name).write_text(value)
        self._published = True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._staging is not None and self._staging.exists():
            shutil.rmtree(self._staging, ignore_errors=True)
