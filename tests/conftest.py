"""Shared fixtures: the real-data samples in ../shared/data, skipped with a reason when absent."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real-data sample {path} is absent (it lives in ../shared beside the checkout)")
    return path


@pytest.fixture
def phoenix_dir() -> Path:
    return _shared("phoenix-2014t")


@pytest.fixture
def csl_dir() -> Path:
    return _shared("csl-daily")


@pytest.fixture
def skels_dir() -> Path:
    return _shared("phoenix14t-skels-sample")


@pytest.fixture
def pose_samples_dir() -> Path:
    return _shared("pose-samples")
