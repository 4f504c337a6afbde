"""Model code as an older commit had it, importable in the test process: to build genuinely old saved folders.

``old_model_package(commit, "src/signbridge/models/pose_vae", files, tmp_path)`` writes the named files of that
folder at ``commit`` (``git show``) into a fresh package under ``tmp_path`` and imports it under a unique name; the
files must import nothing of signbridge (true of model folders, which load by remote code). The test is skipped
when git or the commit is not available.
"""

import importlib
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
_counter = itertools.count()


def git_show(commit: str, path: str) -> str:
    """The text of ``path`` (relative to the repository root) at ``commit``; skips the test when unavailable."""
    try:
        run = subprocess.run(
            ["git", "show", f"{commit}:{path}"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
        )
    except OSError as error:
        pytest.skip(f"git is not available ({error}): cannot read {path} at {commit}")
    if run.returncode != 0:
        pytest.skip(f"{path} at commit {commit} is not in this checkout: {run.stderr.strip()[:200]}")
    return run.stdout


def old_model_package(commit: str, folder: str, files: tuple[str, ...], tmp_path: Path):
    """Import ``files`` (module file names) of ``folder`` at ``commit`` as one package; returns the package, whose
    modules are its attributes (``package.modeling_pose_vae``)."""
    name = f"old_{Path(folder).name}_{commit}_{next(_counter)}"
    package_dir = tmp_path / name
    package_dir.mkdir(parents=True)
    (package_dir / "__init__.py").write_text("")
    for file in files:
        (package_dir / file).write_text(git_show(commit, f"{folder}/{file}"))
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(name)
        for file in files:
            importlib.import_module(f"{name}.{Path(file).stem}")
    finally:
        sys.path.remove(str(tmp_path))
    return package
