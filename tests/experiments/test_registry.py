"""The experiments and the sizes their variants share (signbridge.experiments.registry)."""

from __future__ import annotations

import json

import pytest

from signbridge.experiments.registry import EXPERIMENTS, LAMBDAS, RunSizes, run_sizes
from signbridge.models.cvslt import CVSLTConfig

MEASUREMENTS = {"posterior", "track_gap", "pretrained_text_encoder"}


def test_sizes_round_trip_through_json():
    for sizes in (RunSizes.full(), RunSizes.smoke()):
        again = RunSizes.from_dict(json.loads(json.dumps(sizes.to_dict())))
        assert again.to_dict() == sizes.to_dict()
        assert again.seeds == sizes.seeds


def test_overrides():
    sizes = run_sizes(True, {"epochs": 3.0, "d_model": 32})
    assert sizes.epochs == 3.0 and sizes.d_model == 32 and sizes.corpus == "synthetic"
    assert run_sizes(False).corpus == "phoenix14t_synthetic" and run_sizes(False).seeds == (0, 1, 2)
    with pytest.raises(ValueError, match="unknown RunSizes field"):
        run_sizes(True, {"epoch": 3})


def test_cvslt_switches_are_config_fields_and_one_per_variant():
    fields = set(CVSLTConfig().to_dict())
    for experiment in EXPERIMENTS.values():
        if experiment.kind != "cvslt":
            continue
        for variant, switches in experiment.variants.items():
            config_switches = set(switches) - MEASUREMENTS
            assert config_switches <= fields, (variant, config_switches - fields)
            assert len(config_switches) <= 1, f"{variant} flips more than one switch: {config_switches}"
    assert [EXPERIMENTS["cvslt_lambda"].variants[f"lambda{lam}"]["sd_weight"] for lam in LAMBDAS] == [
        0,
        1,
        3,
        5,
        10,
    ]
