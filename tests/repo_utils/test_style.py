"""The style the project keeps, enforced by the test command: `ruff format` (every file formatted) and `ruff check`
with the rule sets of pyproject.toml (E, F, W, I, B, UP, SIM, C4). ruff is pinned in the dev extra, so a new ruff
release cannot change the verdict between sessions."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PATHS = ["src", "tests", "scripts", "benchmarks", "examples", "utils"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [sys.executable, "-m", "ruff", *args, *PATHS],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except FileNotFoundError as error:  # pragma: no cover - ruff is in the dev extra
        pytest.fail(f"ruff is not installed ({error}); install the dev extra")


def test_every_file_is_ruff_formatted():
    run = _ruff("format", "--check")
    assert run.returncode == 0, f"run `ruff format {' '.join(PATHS)}`:\n{run.stdout}{run.stderr}"


def test_ruff_check_passes():
    run = _ruff("check")
    assert run.returncode == 0, f"ruff check found problems:\n{run.stdout}{run.stderr}"
