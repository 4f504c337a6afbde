"""A CV-SLT folder saved under one transformers release loads through remote code (signbridge blocked) and
generates identically under another.

The other environment is named by ``SIGNBRIDGE_OTHER_PYTHON`` (a Python executable with signbridge installed and a
different transformers release). `.ci/run` sets it when it runs the suite in its lowest-versions environment, pointing
at the newest-versions one, so both directions (lowest -> newest, newest -> lowest) are checked there. Without it the
test skips with that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("cross_version_script.py")
OTHER = os.environ.get("SIGNBRIDGE_OTHER_PYTHON")


def _run(python: str, mode: str, folder: Path, tmp_path: Path) -> dict:
    env = {
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PATH": "/usr/bin:/bin",
        "HF_MODULES_CACHE": str(tmp_path / f"modules-{mode}"),
        "HF_HOME": str(tmp_path / "hf"),
    }
    run = subprocess.run(
        [python, str(SCRIPT), mode, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, f"{python} {mode}:\n{run.stderr[-3000:]}"
    return json.loads((folder / {"save": "saved.json", "load": "loaded.json"}[mode]).read_text())


@pytest.mark.skipif(
    not OTHER,
    reason="SIGNBRIDGE_OTHER_PYTHON (a second environment with another transformers "
    "release) is not set; .ci/run sets it in its lowest-versions job",
)
@pytest.mark.parametrize("direction", ["this_to_other", "other_to_this"])
def test_folder_saved_under_one_release_generates_identically_under_another(direction, tmp_path):
    saver, loader = (sys.executable, OTHER) if direction == "this_to_other" else (OTHER, sys.executable)
    folder = tmp_path / "model"
    folder.mkdir()
    saved = _run(saver, "save", folder, tmp_path)
    loaded = _run(loader, "load", folder, tmp_path)
    assert saved["transformers"] != loaded["transformers"], "both sides ran the same transformers release"
    assert not loaded["module"].startswith("signbridge")
    assert loaded["generated"] == saved["generated"]
    assert max(abs(a - b) for a, b in zip(loaded["logits"], saved["logits"], strict=True)) < 1e-5
