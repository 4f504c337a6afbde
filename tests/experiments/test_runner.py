"""scripts/reproduce.py's runner: every experiment end to end at smoke sizes (signbridge.experiments.runner)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from signbridge.experiments.registry import EXPERIMENTS, MINILM_PACKAGE, RunSizes
from signbridge.experiments.runner import plan_jobs, run_experiment

REPO = Path(__file__).resolve().parents[2]


def _variants(name: str) -> list[str]:
    """Every variant; the MiniLM one only where its package is installed (the README's test command installs it)."""
    variants = list(EXPERIMENTS[name].variants)
    if importlib.util.find_spec(MINILM_PACKAGE) is None:
        variants = [v for v in variants if "pretrained_text_encoder" not in EXPERIMENTS[name].variants[v]]
    return variants


def _smoke(name: str, tmp_path: Path) -> dict:
    pytest.importorskip("matplotlib", reason="the figures need matplotlib (pip install 'signbridge[plots]')")
    threads = torch.get_num_threads()
    try:
        return run_experiment(
            name,
            smoke=True,
            variants=_variants(name),
            workers=1,
            results_dir=tmp_path / "results",
            work_dir=tmp_path / "work",
            report=None,
        )
    finally:
        torch.set_num_threads(threads)


def _check_outputs(name: str, out: dict, tmp_path: Path) -> None:
    experiment = EXPERIMENTS[name]
    seeds = RunSizes.smoke().seeds
    folder = tmp_path / "results" / name
    assert sorted(out["ran"]) == sorted(f"{v}-seed{s}" for v in _variants(name) for s in seeds)
    for variant in _variants(name):
        for seed in seeds:
            data = json.loads((folder / f"{variant}-seed{seed}.json").read_text(encoding="utf-8"))
            assert data["variant"] == variant and data["seed"] == seed and data["smoke"] is True
            assert data["metrics"] and all(math.isfinite(v) for v in data["metrics"].values())
            for key in experiment.metrics:
                assert key in data["metrics"]
    table = out["table"].read_text(encoding="utf-8")
    for variant in _variants(name):
        assert f"| {variant}" in table
    assert "nan" not in table.lower() and "inf" not in table.lower().replace("info", "")
    assert out["figures"]
    for figure in out["figures"]:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "work" / name).exists() or not any((tmp_path / "work" / name).iterdir())


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_smoke_experiment_end_to_end(name, tmp_path):
    out = _smoke(name, tmp_path)
    _check_outputs(name, out, tmp_path)
    if name == "cvslt_lambda":
        data = json.loads((tmp_path / "results" / name / "lambda3-seed0.json").read_text(encoding="utf-8"))
        assert "dev_posterior_bleu4" in data["metrics"]
    if name == "nar_slp_tables":
        data = json.loads(
            (tmp_path / "results" / name / "scratch_bert-seed0.json").read_text(encoding="utf-8")
        )
        assert sum(data["length_interval_counts"].values()) == RunSizes.smoke().demo_settings["test_size"]
        assert any(k.startswith("test FGD x10 per ground-truth length interval") for k in data["metrics"])
        assert "test FGD x10 of the first N frames::NAR-SLP w/ KD|40" in data["metrics"]
        for row in ("Ground Truth", "Mean", "Random", "NAR-SLP w/o KD", "NAR-SLP w/ KD"):
            assert f"test: {row}|fgd_x10" in data["metrics"]
    if name == "nar_slp_backtranslation":
        data = json.loads(
            (tmp_path / "results" / name / "scratch_bert-seed0.json").read_text(encoding="utf-8")
        )
        # the experiment's own demo settings (the Sign2Gloss stage) are applied and recorded with the results
        assert data["demo_settings"] == EXPERIMENTS[name].demo_settings == {"sign2gloss_epochs": 20.0}
        assert "test: Ground Truth|bleu4" in data["metrics"] and "test: Mean|bleu4" in data["metrics"]
    if name == "cvslt_modality_gap":
        data = json.loads((tmp_path / "results" / name / "cvslt-seed0.json").read_text(encoding="utf-8"))
        assert len(data["series"]["gap"]) >= 2  # at the start and after training
        assert len(data["projection"]["sign"]) == RunSizes.smoke().gap_sentences


def test_finished_jobs_are_skipped(tmp_path):
    pytest.importorskip("matplotlib", reason="the figures need matplotlib")
    folder = tmp_path / "results" / "cvslt_modality_gap"
    folder.mkdir(parents=True)
    for variant in ("cvslt", "plain_mbart"):
        for seed in (0, 1):
            (folder / f"{variant}-seed{seed}.json").write_text(
                json.dumps({"metrics": {"final_gap": 0.5, "initial_gap": 1.0, "dev_bleu4": 1.0}}),
                encoding="utf-8",
            )
    to_run, done = plan_jobs("cvslt_modality_gap", [0, 1, 2], tmp_path / "results")
    assert to_run == [("cvslt", 2), ("plain_mbart", 2)] and len(done) == 4
    out = run_experiment(
        "cvslt_modality_gap", smoke=True, seeds=[0, 1], results_dir=tmp_path / "results", report=None
    )
    assert out["ran"] == [] and len(out["skipped"]) == 4 and out["jobs"] == 4


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment 'table4'"):
        run_experiment("table4", smoke=True, results_dir=tmp_path)
    with pytest.raises(ValueError, match="give --data_dir"):
        run_experiment("cvslt_table4", results_dir=tmp_path, report=None)
    with pytest.raises(ValueError, match="seeds must be non-negative integers"):
        run_experiment("cvslt_table4", smoke=True, seeds=[-1], results_dir=tmp_path)
    with pytest.raises(ValueError, match=r"has no variant\(s\) \['fast'\]"):
        run_experiment("cvslt_table4", smoke=True, variants=["fast"], results_dir=tmp_path)


def test_script_help_lists_the_experiments():
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "reproduce.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    for name in EXPERIMENTS:
        assert name in done.stdout


def test_full_path_on_a_phoenix14t_synthetic_slice(phoenix_dir, tmp_path):
    """The real grids' path (phoenix14t_synthetic, posterior decoding) with tiny sizes set by overrides."""
    pytest.importorskip("matplotlib", reason="the figures need matplotlib")
    overrides = {
        "corpus_options": {"max_samples": 12, "feature_dim": 32},
        "d_model": 16,
        "layers": 1,
        "epochs": 1.0,
        "batch_size": 12,
        "num_beams": 1,
    }
    threads = torch.get_num_threads()
    try:
        out = run_experiment(
            "cvslt_lambda",
            data_dir=phoenix_dir,
            variants=["lambda3"],
            seeds=[0],
            workers=1,
            results_dir=tmp_path / "results",
            work_dir=tmp_path / "work",
            overrides=overrides,
            report=None,
        )
    finally:
        torch.set_num_threads(threads)
    data = json.loads(
        (tmp_path / "results" / "cvslt_lambda" / "lambda3-seed0.json").read_text(encoding="utf-8")
    )
    assert data["smoke"] is False and data["sizes"]["corpus"] == "phoenix14t_synthetic"
    assert data["sizes"]["d_model"] == 16 and data["sizes"]["max_target_length"] == 64
    assert (
        all(math.isfinite(v) for v in data["metrics"].values()) and "dev_posterior_bleu4" in data["metrics"]
    )
    assert out["ran"] == ["lambda3-seed0"]
    # results made under other sizes are flagged in the table
    other = dict(data, sizes={**data["sizes"], "d_model": 32})
    (tmp_path / "results" / "cvslt_lambda" / "lambda3-seed1.json").write_text(
        json.dumps(other), encoding="utf-8"
    )
    from signbridge.experiments.report import assemble_results

    table = assemble_results("cvslt_lambda", tmp_path / "results")["table"].read_text(encoding="utf-8")
    assert "2 different configurations" in table
    with pytest.raises(ValueError, match=r"unknown RunSizes field\(s\) \['dmodel'\]"):
        run_experiment("cvslt_lambda", data_dir=phoenix_dir, overrides={"dmodel": 8}, results_dir=tmp_path)


def test_nar_slp_full_path_on_phoenix_annotations(phoenix_dir, tmp_path):
    """nar_slp_tables' real path: the end-to-end pipeline on PHOENIX14T's annotations (tiny demo sizes)."""
    pytest.importorskip("matplotlib", reason="the figures need matplotlib")
    from signbridge.data.slrt import read_slrt_annotations
    from signbridge.experiments.registry import LENGTH_INTERVALS

    threads = torch.get_num_threads()
    try:
        run_experiment(
            "nar_slp_tables",
            data_dir=phoenix_dir,
            variants=["scratch_bert"],
            seeds=[0],
            workers=1,
            results_dir=tmp_path / "results",
            work_dir=tmp_path / "work",
            overrides={"demo_settings": dict(RunSizes.smoke().demo_settings)},
            report=None,
        )
    finally:
        torch.set_num_threads(threads)
    data = json.loads(
        (tmp_path / "results" / "nar_slp_tables" / "scratch_bert-seed0.json").read_text(encoding="utf-8")
    )
    assert data["corpus"].startswith("phoenix14t_synthetic")
    # the test split is PHOENIX14T's: its ground-truth lengths fall into the intervals as the annotations say
    test = read_slrt_annotations(phoenix_dir / "phoenix-2014t_cleaned.test")[
        : RunSizes.smoke().demo_settings["test_size"]
    ]
    expected = {}
    for low, high in LENGTH_INTERVALS:
        label = f"{low}-{high}" if high is not None else f"{low}+"
        expected[label] = sum(low <= r["num_frames"] < (high or 10**9) for r in test)
    assert data["length_interval_counts"] == expected
    assert all(math.isfinite(v) for v in data["metrics"].values())


def test_modality_gap_takes_the_same_jobs_of_table4(tmp_path):
    """cvslt_modality_gap's two variants are cvslt_table4's full and plain_mbart jobs: taken from their files."""
    pytest.importorskip("matplotlib", reason="the figures need matplotlib")
    table4 = tmp_path / "results" / "cvslt_table4"
    table4.mkdir(parents=True)
    for variant in ("full", "plain_mbart"):
        data = {
            "experiment": "cvslt_table4",
            "variant": variant,
            "seed": 0,
            "switches": EXPERIMENTS["cvslt_table4"].variants[variant],
            "metrics": {"final_gap": 0.5, "initial_gap": 1.0, "dev_bleu4": 3.0, "dev_distinct_pct": 90.0},
            "series": {"gap": [[0, 1.0], [1, 0.5]]},
            "projection": {"sign": [[0.0, 1.0], [1.0, 0.0]], "text": [[0.5, 0.5], [1.0, 1.0]], "layer": 1},
        }
        (table4 / f"{variant}-seed0.json").write_text(json.dumps(data), encoding="utf-8")
    out = run_experiment(
        "cvslt_modality_gap", smoke=True, seeds=[0], results_dir=tmp_path / "results", report=None
    )
    assert out["ran"] == [] and out["jobs"] == 2
    taken = json.loads((tmp_path / "results" / "cvslt_modality_gap" / "cvslt-seed0.json").read_text("utf-8"))
    assert taken["variant"] == "cvslt" and taken["same_job_as"] == "cvslt_table4/full-seed0"
    assert taken["metrics"]["final_gap"] == 0.5
    # a file whose switches are not the declared same job's is refused, not silently taken
    data["switches"] = {"use_latent": False}
    (table4 / "plain_mbart-seed1.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="their switches differ"):
        run_experiment(
            "cvslt_modality_gap",
            smoke=True,
            seeds=[1],
            variants=["plain_mbart"],
            results_dir=tmp_path / "results",
            report=None,
        )
