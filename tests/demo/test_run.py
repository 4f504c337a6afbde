"""The end-to-end demo (signbridge.demo.run_demo) at tiny sizes: every stage runs and leaves its outputs."""

import json
from pathlib import Path

import pytest
import torch

from signbridge.demo import DemoSettings, run_demo
from signbridge.demo.settings import translator_model_config
from signbridge.evaluation.production import (
    GROUND_TRUTH,
    MEAN,
    NAR_WITH_KD,
    NAR_WITHOUT_KD,
    RANDOM,
    TABLE_COLUMNS,
)


def tiny_settings() -> DemoSettings:
    return DemoSettings(
        train_size=40,
        dev_size=6,
        test_size=6,
        cvslt_epochs=1,
        backtranslator_epochs=1,
        num_beams=1,
        cvslt_model_config=translator_model_config(64, d_model=16, layers=1),
        backtranslator_model_config=translator_model_config(200, d_model=16, layers=1),
        vae_epochs=1,
        vae_hidden_sizes=(32, 16),
        vae_latent_dim=8,
        tae_epochs=1,
        tae_window_stride=34,
        tae_config={
            "d_model": 16,
            "encoder_layers": 1,
            "decoder_layers": 1,
            "num_attention_heads": 2,
            "ffn_dim": 32,
            "latent_dim": 4,
            "dropout": 0.0,
        },
        nar_epochs=1,
        nar_tokenizer_vocab_size=300,
        nar_text_encoder_config={
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 32,
            "max_position_embeddings": 64,
        },
        nar_producer_config={
            "d_model": 16,
            "decoder_layers": 1,
            "decoder_attention_heads": 2,
            "decoder_ffn_dim": 32,
            "dropout": 0.0,
            "max_frames": 256,
        },
        num_translations_shown=2,
        sentences=("am dienstag regnet es im norden .",),
        workers=1,
    )


def test_run_demo_tiny(tmp_path):
    threads = torch.get_num_threads()
    lines: list[str] = []
    try:
        results = run_demo(tmp_path / "demo", settings=tiny_settings(), report=lines.append, progress=False)
    finally:
        torch.set_num_threads(threads)
    text = "\n".join(lines)
    # both tables were shown: translation scores and the production table on dev and test
    assert "CV-SLT dev: BLEU1" in text and "CV-SLT test: BLEU1" in text
    assert "[DEV]" in text and "[TEST]" in text
    for _, header in TABLE_COLUMNS:
        assert header in text
    assert len(results["examples"]) == 2 and all(
        "REF: " + e["reference"] in text for e in results["examples"]
    )
    for split in ("dev", "test"):
        rows = results["production"][split]
        assert list(rows) == [GROUND_TRUTH, MEAN, RANDOM, NAR_WITHOUT_KD, NAR_WITH_KD]
        assert rows[GROUND_TRUTH]["fgd"] == pytest.approx(0.0, abs=1e-6)
        assert rows[GROUND_TRUTH]["dur_acc"] == 1.0 and rows[MEAN]["dur_acc"] == 1.0
        assert 0.0 <= rows[NAR_WITH_KD]["dur_acc"] <= 1.0
    checks = {"kd_fgd_below_mean", "kd_fgd_below_random", "kd_fgd_below_no_kd", "kd_duracc_at_least_0.76"}
    assert set(results["acceptance"]) == checks and set(results["acceptance_spread"]) == checks
    # each check comes with its spread (paired bootstrap over the test sentences), and its boolean is the
    # interval's verdict, not the single run's
    test_rows = results["production"]["test"]
    for key, row in (
        ("kd_fgd_below_mean", MEAN),
        ("kd_fgd_below_random", RANDOM),
        ("kd_fgd_below_no_kd", NAR_WITHOUT_KD),
    ):
        record = results["acceptance_spread"][key]
        assert (record["a"], record["b"], record["metric"]) == (NAR_WITH_KD, row, "fgd_x10")
        assert record["a_value"] == pytest.approx(test_rows[NAR_WITH_KD]["fgd_x10"], rel=1e-5, abs=1e-9)
        assert record["b_value"] == pytest.approx(test_rows[row]["fgd_x10"], rel=1e-5, abs=1e-9)
        assert record["num_resamples"] == 1000 and record["num_sentences"] == 6
        assert results["acceptance"][key] == (record["interval"][1] < 0)
        assert 0.0 <= record["p_a_below_b"] <= 1.0
        assert f"{key}: fgd_x10 {NAR_WITH_KD} vs {row}: " in text
    duracc = results["acceptance_spread"]["kd_duracc_at_least_0.76"]
    assert duracc["value"] == pytest.approx(test_rows[NAR_WITH_KD]["dur_acc"])
    assert results["acceptance"]["kd_duracc_at_least_0.76"] == (duracc["interval"][0] >= 0.76)
    assert "an FGD check is True when the 95% interval of FGD(A)-FGD(B) lies below 0" in text
    assert "P(A<B)" in text and "P(DurACC>=0.76)" in text
    assert set(results["comparisons"]) == {"dev", "test"}
    assert f"{NAR_WITH_KD} vs {NAR_WITHOUT_KD}" in results["comparisons"]["test"]
    assert (
        json.loads((tmp_path / "demo" / "production_comparisons.json").read_text()) == results["comparisons"]
    )
    # files: tables, .pose, GIF, every saved model with its config, the reload line
    out = tmp_path / "demo"
    assert json.loads((out / "production_table.json").read_text())["test"][NAR_WITH_KD]["dur_acc"] >= 0
    assert "FGD x10" in (out / "production_table.txt").read_text()
    assert [p.endswith(".pose") for p in results["files"]["pose"]] == [True]
    from signbridge.data.pose_files import read_pose_file

    pose = read_pose_file(results["files"]["pose"][0])
    assert pose.data.shape[1:] == (50, 3) and pose.data.shape[0] >= 1
    assert all((out / "poses" / p).exists() for p in ["sentence_1.gif"]) or results["files"]["gif"] == []
    models = {p.split("/")[-1] if not p.endswith("model") else p.split("/")[-2] for p in results["models"]}
    assert {"cvslt", "backtranslator", "pose_vae", "pose_autoencoder", "nar_slp", "nar_slp_no_kd"} <= models
    assert "reloaded NARSignProducer with AutoModel (same length: True)" in text
    # every saved folder is Hub-ready: a model card; the translators hold their processor, the back-translator's
    # feature extractor keeps every n-th frame as its training input did (no backtranslation.json any more)
    for folder in results["models"]:
        assert (Path(folder) / "README.md").read_text().startswith("---\n"), folder
    backtranslator = next(Path(p) for p in results["models"] if "backtranslator" in p)
    extractor = json.loads((backtranslator / "preprocessor_config.json").read_text())
    assert extractor["frame_stride"] == tiny_settings().backtranslator_frame_stride
    assert not (backtranslator / "backtranslation.json").exists()
    assert set(results["timings"]) >= {
        "corpus",
        "pose_vae",
        "training",
        "evaluation",
        "cvslt",
        "backtranslator",
        "pose_autoencoder",
        "nar_slp",
        "nar_slp_no_kd",
    }
    # every job's own time is inside the training stage's wall time (one after another here)
    jobs = ("cvslt", "backtranslator", "pose_autoencoder", "nar_slp", "nar_slp_no_kd")
    assert sum(results["timings"][j]["wall_s"] for j in jobs) <= results["timings"]["training"]["wall_s"] + 1


def test_run_demo_parallel_workers_match_one_process(tmp_path):
    """Two worker processes train the same models as one process: same seeds, same production table."""
    threads = torch.get_num_threads()
    lines: list[str] = []
    try:
        serial = run_demo(tmp_path / "serial", settings=tiny_settings(), report=None, progress=False)
        settings = tiny_settings()
        settings.workers = 2
        settings.job_order = ("cvslt", "pose_autoencoder")  # started first: the order changes no result
        parallel = run_demo(tmp_path / "parallel", settings=settings, report=lines.append, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert parallel["workers"] == 2
    assert "2 at a time" in "\n".join(lines)
    # the job lines came back from the workers
    assert sum("trained in" in line for line in lines) == 5
    for split in ("dev", "test"):
        for row in (NAR_WITHOUT_KD, NAR_WITH_KD):
            for key in ("fgd", "dur_acc", "bleu4"):
                assert parallel["production"][split][row][key] == pytest.approx(
                    serial["production"][split][row][key], rel=1e-4, abs=1e-9
                ), (split, row, key)
    for split, scores in serial["translation"].items():
        assert parallel["translation"][split] == pytest.approx(scores, rel=1e-4, abs=1e-9)


def test_run_demo_worker_error_is_raised_here(tmp_path):
    """A job failing in a worker process stops the demo with that job's error."""
    settings = tiny_settings()
    settings.workers = 2
    settings.tae_config = dict(settings.tae_config, d_model=15)  # not a multiple of the 2 heads
    threads = torch.get_num_threads()
    try:
        with pytest.raises(ValueError, match="d_model"):
            run_demo(tmp_path / "bad", settings=settings, report=None, progress=False)
    finally:
        torch.set_num_threads(threads)
