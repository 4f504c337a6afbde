"""Results tables from job JSON files (signbridge.experiments.report), checked against hand computations."""

from __future__ import annotations

import json
import math

import pytest

from signbridge.experiments.registry import EXPERIMENTS
from signbridge.experiments.report import load_results, mean_std, results_table


def _write(folder, variant, seed, metrics):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{variant}-seed{seed}.json").write_text(json.dumps({"metrics": metrics}), encoding="utf-8")


def test_mean_std_by_hand():
    assert mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))  # sample std: sqrt((1 + 0 + 1) / 2)
    assert mean_std([4.0]) == (4.0, 0.0)


def test_table_mean_std_per_seed_and_claims(tmp_path):
    folder = tmp_path / "cvslt_modality_gap"
    _write(folder, "cvslt", 0, {"final_gap": 0.5, "initial_gap": 1.0, "dev_bleu4": 10.0})
    _write(folder, "cvslt", 1, {"final_gap": 0.7, "initial_gap": 1.2, "dev_bleu4": 12.0})
    _write(folder, "plain_mbart", 0, {"final_gap": 0.9, "initial_gap": 1.0, "dev_bleu4": 9.0})
    _write(folder, "plain_mbart", 1, {"final_gap": 1.3, "initial_gap": 1.1, "dev_bleu4": 8.0})
    (folder / "notes.json").write_text("{}", encoding="utf-8")  # not a job file: ignored
    results = load_results(folder)
    assert sorted(results) == ["cvslt", "plain_mbart"] and sorted(results["cvslt"]) == [0, 1]
    table = results_table(EXPERIMENTS["cvslt_modality_gap"], results)
    # cvslt: final gap mean 0.6, sample std sqrt(0.02) = 0.141; BLEU 11 ± 1.41
    assert "| cvslt | 2 | 0.6 ± 0.141 | 1.10 ± 0.141 | 11.00 ± 1.41 |" in table
    assert "| plain_mbart | 1 | 1.30 | 1.10 | 8.00 |" in table
    assert "| plain_mbart | 2 | 1.10 ± 0.283 | 1.05 ± 0.0707 | 8.50 ± 0.707 |" in table
    # the claim "CV-SLT's final gap is smaller": plain - cvslt = 0.4 and 0.6 -> 0.5 ± 0.141, both positive
    assert "| 0.5 ± 0.141 (n=2) | yes |" in table


def test_broken_job_file_is_named(tmp_path):
    (tmp_path / "full-seed0.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="full-seed0.json: not valid JSON"):
        load_results(tmp_path)


def test_every_experiment_has_variants_and_finite_defaults():
    for experiment in EXPERIMENTS.values():
        assert experiment.variants
        for _, a, b, _ in experiment.claims:
            assert a in experiment.variants and b in experiment.variants
    assert math.isfinite(mean_std([1.0, 1.0])[1])


def test_sub_tables_interval_order_and_partial_seeds(tmp_path):
    folder = tmp_path / "nar_slp_tables"
    title = "test FGD x10 per ground-truth length interval (frames)"
    _write(folder, "scratch_bert", 0, {"test: Mean|fgd_x10": 2.0, f"{title}::NAR-SLP w/ KD|100-150": 0.5})
    _write(
        folder,
        "scratch_bert",
        1,
        {
            "test: Mean|fgd_x10": 4.0,
            f"{title}::NAR-SLP w/ KD|100-150": 0.7,
            f"{title}::NAR-SLP w/ KD|50-100": 0.2,
        },
    )
    table = results_table(EXPERIMENTS["nar_slp_tables"], load_results(folder))
    assert "| scratch_bert test: Mean | 2 | 3.00 ± 1.41 |" in table
    assert f"#### {title}" in table
    # intervals in numeric order; a value present for one seed only says so
    assert "| variant | seeds | 50-100 | 100-150 |" in table
    assert "| scratch_bert NAR-SLP w/ KD | 2 | 0.2 ± 0.00 (n=1) | 0.6 ± 0.141 |" in table


def test_claims_between_two_rows_of_the_same_jobs(tmp_path):
    """A claim with a pair of metrics compares two rows of each job (NAR-SLP w/o KD vs w/ KD of one run)."""
    folder = tmp_path / "nar_slp_tables"
    _write(
        folder, "scratch_bert", 0, {"test: NAR-SLP w/o KD|fgd_x10": 5.0, "test: NAR-SLP w/ KD|fgd_x10": 4.0}
    )
    _write(
        folder, "scratch_bert", 1, {"test: NAR-SLP w/o KD|fgd_x10": 6.0, "test: NAR-SLP w/ KD|fgd_x10": 6.5}
    )
    table = results_table(EXPERIMENTS["nar_slp_tables"], load_results(folder))
    # w/o KD - w/ KD = 1.0 and -0.5: mean 0.25, sample std 1.06; positive on average only
    row = next(line for line in table.splitlines() if line.startswith("| KD lowers test FGD (scratch_bert)"))
    assert "scratch_bert: test: NAR-SLP w/o KD|fgd_x10 - test: NAR-SLP w/ KD|fgd_x10" in row
    assert row.endswith("| 0.25 ± 1.06 (n=2) | partly |")
    assert "minilm_bert)" not in table  # no results for that variant: its claims are left out
