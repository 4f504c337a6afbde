"""The phoenix14t_synthetic and csl_daily_synthetic corpora (real annotations, synthesised signal)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from signbridge.data import load_sign_dataset
from signbridge.data.annotated_builders import (
    SCORE_LEVELS,
    CSLDailySyntheticBuilder,
    Phoenix14TSyntheticBuilder,
)
from signbridge.data.slrt import read_slrt_annotations
from signbridge.data.synthetic import write_corpus


def test_phoenix14t_synthetic_full_counts_and_real_text(phoenix_dir, tmp_path):
    cache = tmp_path / "cache"
    try:
        ds = load_sign_dataset("phoenix14t_synthetic", data_dir=phoenix_dir, cache_dir=cache, feature_dim=8)
        assert {k: ds[k].num_rows for k in ds} == {"train": 7096, "dev": 519, "test": 642}
        for split in ("dev", "test"):
            records = read_slrt_annotations(phoenix_dir / f"phoenix-2014t_cleaned.{split}")
            for key in ("name", "signer", "gloss", "text", "num_frames"):
                assert ds[split][key] == [r[key] for r in records]
        rows = ds["dev"].with_format("numpy")
        for i in (0, 100, 518):
            row = rows[i]
            t = int(row["num_frames"])
            assert row["poses"].shape == (t, 50, 3)
            assert row["features"].shape == (math.ceil(t / 4), 8)
            assert np.isfinite(row["poses"]).all() and np.isfinite(row["features"]).all()
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # about 0.6 GB


def test_phoenix14t_synthetic_deterministic_per_seed(phoenix_dir, tmp_path):
    opts = {"max_samples": 6, "feature_dim": 16}
    first = load_sign_dataset("phoenix14t_synthetic", data_dir=phoenix_dir, cache_dir=tmp_path / "a", **opts)
    again = load_sign_dataset("phoenix14t_synthetic", data_dir=phoenix_dir, cache_dir=tmp_path / "b", **opts)
    other = load_sign_dataset(
        "phoenix14t_synthetic", data_dir=phoenix_dir, cache_dir=tmp_path / "a", seed=1, **opts
    )
    a, b, c = (d["train"].with_format("numpy") for d in (first, again, other))
    assert first["train"]["text"] == other["train"]["text"]  # the language is the real one whatever the seed
    for i in range(6):
        np.testing.assert_array_equal(a[i]["poses"], b[i]["poses"])
        np.testing.assert_array_equal(a[i]["features"], b[i]["features"])
        assert not np.array_equal(a[i]["poses"], c[i]["poses"])


def test_csl_daily_synthetic_char_level(csl_dir, tmp_path):
    ds = load_sign_dataset("csl_daily_synthetic", data_dir=csl_dir, cache_dir=tmp_path, max_samples=4)
    records = read_slrt_annotations(csl_dir / "csl-daily.dev")[:4]
    assert ds["dev"]["text"] == [r["text"] for r in records]
    assert ds["dev"]["signer"] == [str(r["signer"]) for r in records]
    row = ds["dev"].with_format("numpy")[0]
    assert row["poses"].shape == (records[0]["num_frames"], 50, 3)
    assert row["features"].shape == (math.ceil(records[0]["num_frames"] / 4), 832)
    assert SCORE_LEVELS["csl_daily_synthetic"] == CSLDailySyntheticBuilder.SCORE_LEVEL == "char"
    assert SCORE_LEVELS["phoenix14t_synthetic"] == Phoenix14TSyntheticBuilder.SCORE_LEVEL == "word"


def test_written_in_the_real_formats_reads_back(phoenix_dir, tmp_path):
    ds = load_sign_dataset(
        "phoenix14t_synthetic", data_dir=phoenix_dir, cache_dir=tmp_path / "c", max_samples=3, feature_dim=12
    )
    corpus = {s: list(ds[s].with_format("numpy")) for s in ds}
    write_corpus(corpus, tmp_path / "slrt", format="slrt")
    back = load_sign_dataset(
        "phoenix14t",
        data_dir=tmp_path / "slrt",
        cache_dir=tmp_path / "c2",
        annotation_prefix="synthetic",
        features_dir=tmp_path / "slrt",
        feature_dim=12,
    )
    assert back["dev"]["text"] == ds["dev"]["text"]
    np.testing.assert_allclose(
        back["dev"].with_format("numpy")[1]["features"], ds["dev"].with_format("numpy")[1]["features"]
    )


def test_bad_options(tmp_path, phoenix_dir):
    with pytest.raises(ValueError, match="data_dir is required"):
        load_sign_dataset("phoenix14t_synthetic")
    with pytest.raises(ValueError, match="unknown options"):
        load_sign_dataset("phoenix14t_synthetic", data_dir=phoenix_dir, train_size=3)
    with pytest.raises(ValueError, match="max_samples"):
        load_sign_dataset("phoenix14t_synthetic", data_dir=phoenix_dir, max_samples=0)
    with pytest.raises(FileNotFoundError, match="phoenix-2014t_cleaned.train"):
        load_sign_dataset("phoenix14t_synthetic", data_dir=tmp_path, cache_dir=tmp_path / "c")


def test_csl_written_as_pose_files_names_its_languages(csl_dir, tmp_path):
    pytest.importorskip("pose_format")
    import csv

    ds = load_sign_dataset(
        "csl_daily_synthetic", data_dir=csl_dir, cache_dir=tmp_path / "c", max_samples=2, feature_dim=8
    )
    corpus = {"dev": list(ds["dev"].with_format("numpy"))}
    out = write_corpus(corpus, tmp_path / "pose", format="pose", spoken_language="zh", signed_language="csl")
    with open(out / "index.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["words"] for r in rows] == ds["dev"]["text"]
    assert {(r["spoken_language"], r["signed_language"]) for r in rows} == {("zh", "csl")}
