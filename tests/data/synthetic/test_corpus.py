"""The embedded corpus' examples: schema, determinism, streaming, settings, statistics, writers."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from signbridge.data.synthetic import (
    NUM_JOINTS,
    SPLITS,
    SyntheticCorpusConfig,
    corpus_statistics,
    generate_corpus,
    iter_split,
    write_corpus,
)

SMALL = {"train_size": 24, "dev_size": 6, "test_size": 6}  # the size of the small_corpus fixture


def _same(a: dict, b: dict) -> bool:
    return (
        all(np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k] for k in a)
        and a.keys() == b.keys()
    )


def test_example_schema(small_corpus):
    assert [len(small_corpus[s]) for s in SPLITS] == [24, 6, 6]
    for split in SPLITS:
        for i, ex in enumerate(small_corpus[split]):
            assert ex["name"] == f"{split}/synthetic-{i + 1:06d}"
            t = ex["num_frames"]
            assert ex["poses"].dtype == np.float32 and ex["poses"].shape == (t, NUM_JOINTS, 3)
            assert ex["features"].dtype == np.float32 and ex["features"].shape == (math.ceil(t / 4), 832)
            assert np.isfinite(ex["poses"]).all() and np.isfinite(ex["features"]).all()
            assert ex["text"].endswith(" .") and ex["text"] == ex["text"].lower()
            assert ex["gloss"] == ex["gloss"].upper() and ex["gloss"].split()
            assert np.all(ex["poses"][:, 1] == 0.0), "the neck is the origin"


def test_same_seed_identical_other_seed_different(small_corpus):
    again = generate_corpus(**SMALL)
    for split in SPLITS:
        assert all(_same(a, b) for a, b in zip(small_corpus[split], again[split], strict=True))
    other = generate_corpus(seed=1, **SMALL)
    texts = [e["text"] for e in small_corpus["train"]]
    other_texts = [e["text"] for e in other["train"]]
    assert texts != other_texts
    # same text by chance would still get other motion noise
    assert not np.array_equal(small_corpus["train"][0]["poses"][:10], other["train"][0]["poses"][:10])


def test_iter_split_matches_generate_and_text_only_mode(small_corpus):
    streamed = list(iter_split("dev", SyntheticCorpusConfig(**SMALL)))
    assert all(_same(a, b) for a, b in zip(streamed, small_corpus["dev"], strict=True))
    # each split depends only on (seed, split): a bigger train split does not change dev
    bigger = list(iter_split("dev", SyntheticCorpusConfig(train_size=300, dev_size=6, test_size=0)))
    assert all(_same(a, b) for a, b in zip(bigger, small_corpus["dev"], strict=True))
    light = list(iter_split("train", SyntheticCorpusConfig(**SMALL), include_motion=False))
    assert [(e["text"], e["gloss"], e["signer"]) for e in light] == [
        (e["text"], e["gloss"], e["signer"]) for e in small_corpus["train"]
    ]
    assert "poses" not in light[0]


def test_config_validation():
    with pytest.raises(ValueError, match="train_size"):
        SyntheticCorpusConfig(train_size=-1)
    with pytest.raises(ValueError, match="num_signers"):
        SyntheticCorpusConfig(num_signers=0)
    with pytest.raises(ValueError, match="unknown SyntheticCorpusConfig fields"):
        generate_corpus(trian_size=3)
    with pytest.raises(ValueError, match="unknown split"):
        next(iter_split("validation"))
    with pytest.raises(ValueError, match="unknown corpus format"):
        write_corpus({"train": []}, "/tmp/unused-signbridge", format="csv")


def test_sizes_configurable():
    corpus = generate_corpus(
        train_size=3, dev_size=0, test_size=2, feature_dim=64, frames_per_feature=2, num_signers=5
    )
    assert [len(corpus[s]) for s in SPLITS] == [3, 0, 2]
    ex = corpus["train"][0]
    assert ex["features"].shape == (math.ceil(ex["num_frames"] / 2), 64)
    assert {e["signer"] for s in SPLITS for e in corpus[s]} <= {f"Signer{k:02d}" for k in range(1, 6)}


def test_corpus_statistics(small_corpus):
    stats = corpus_statistics(small_corpus)
    assert stats["splits"]["train"]["sequences"] == 24
    frames = [e["num_frames"] for s in SPLITS for e in small_corpus[s]]
    assert stats["frames"]["min"] == min(frames) and stats["frames"]["max"] == max(frames)
    assert stats["frames"]["total"] == sum(frames)
    words = {w for s in SPLITS for e in small_corpus[s] for w in e["text"].split()}
    assert stats["word_types"] == len(words)
    assert stats["num_signers"] == len(stats["signers"])


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(not _has("signbridge.data.slrt"), reason="signbridge.data.slrt not available")
def test_write_slrt_round_trip(small_corpus, tmp_path):
    from signbridge.data.slrt import read_slrt_annotations, read_slrt_features

    out = write_corpus(small_corpus, tmp_path, format="slrt")
    for split in SPLITS:
        annotations = read_slrt_annotations(out / f"synthetic.{split}")
        features = read_slrt_features(out / f"synthetic.{split}.features")
        assert [a["name"] for a in annotations] == [e["name"] for e in small_corpus[split]]
        for a, e in zip(annotations, small_corpus[split], strict=True):
            assert (a["gloss"], a["text"], a["signer"], a["num_frames"]) == (
                e["gloss"],
                e["text"],
                e["signer"],
                e["num_frames"],
            )
            np.testing.assert_array_equal(np.asarray(features[e["name"]]), e["features"])


@pytest.mark.skipif(not _has("signbridge.data.skels"), reason="signbridge.data.skels not available")
def test_write_skels_round_trip(small_corpus, tmp_path):
    from signbridge.data.skels import read_skels

    out = write_corpus(small_corpus, tmp_path, format="skels")
    for split in SPLITS:
        back = read_skels(out, split)
        assert [b["name"] for b in back] == [e["name"] for e in small_corpus[split]]
        for b, e in zip(back, small_corpus[split], strict=True):
            assert (b["gloss"], b["text"], b["num_frames"]) == (e["gloss"], e["text"], e["num_frames"])
            # .skels stores values / 3 as text: equal up to the printed precision
            np.testing.assert_allclose(b["poses"], e["poses"], atol=1e-4)


@pytest.mark.skipif(not _has("signbridge.data.pose_files"), reason="signbridge.data.pose_files not available")
def test_write_pose_round_trip(small_corpus, tmp_path):
    import csv

    from signbridge.data.pose_files import read_pose_file

    out = write_corpus({"dev": small_corpus["dev"]}, tmp_path, format="pose")
    with open(out / "index.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["words"] for r in rows] == [e["text"] for e in small_corpus["dev"]]
    assert [r["glosses"] for r in rows] == [e["gloss"] for e in small_corpus["dev"]]
    assert {r["split"] for r in rows} == {"dev"}
    for row, e in zip(rows, small_corpus["dev"], strict=True):
        pose = read_pose_file(out / row["path"])
        assert pose.fps == 25
        np.testing.assert_allclose(pose.data, e["poses"], atol=1e-6)
        assert pose.mask.all()


def test_package_public_names():
    import signbridge.data.synthetic as synthetic

    assert set(synthetic.__all__) == {
        "NUM_JOINTS",
        "SPLITS",
        "SyntheticCorpusConfig",
        "Signer",
        "make_signers",
        "iter_split",
        "generate_corpus",
        "synthesize_visual_features",
        "write_corpus",
        "corpus_statistics",
        "read_annotated_corpus",
        "signer_body",
        "synthesize_annotated",
    }
    assert all(hasattr(synthetic, name) for name in synthetic.__all__)
    # the model's pose input is training.cvslt.poses_to_features; the corpus synthesises features
    assert not hasattr(synthetic, "poses_to_features")
