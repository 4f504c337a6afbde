"""The embedded corpus: determinism, grammar coverage, sign order, signers, poses, features, writers."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter

import numpy as np
import pytest

from signbridge.data.synthetic import (
    NUM_JOINTS,
    SPLITS,
    SyntheticCorpusConfig,
    corpus_statistics,
    generate_corpus,
    iter_split,
    make_signers,
    synthesize_visual_features,
    write_corpus,
)
from signbridge.data.synthetic.grammar import sample_sentence

SMALL = dict(train_size=24, dev_size=6, test_size=6)


@pytest.fixture(scope="module")
def small_corpus():
    return generate_corpus(**SMALL)


@pytest.fixture(scope="module")
def default_text():
    """Text, gloss and signer of the whole default corpus (4000/300/300), without motion (fast)."""
    return {split: list(iter_split(split, include_motion=False)) for split in SPLITS}


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


def test_default_corpus_vocabulary_and_lengths(default_text):
    """Word and gloss types counted over the text of the whole default corpus (4000/300/300)."""
    words, glosses, signers = Counter(), Counter(), Counter()
    lengths = []
    for split in SPLITS:
        for e in default_text[split]:
            words.update(e["text"].split())
            glosses.update(e["gloss"].split())
            signers[e["signer"]] += 1
            lengths.append(len(e["text"].split()) - 1)  # without the final "."
    assert sum(signers.values()) == 4600
    assert len(words) >= 300, len(words)
    assert len(glosses) >= 150, len(glosses)
    assert len(signers) >= 5
    assert min(lengths) >= 5 and max(lengths) <= 15


def test_sign_order_example():
    from signbridge.data.synthetic.grammar import PLACE, THEME, TIME, _c, realise, t_precipitation

    chunks = [
        _c("am montag", "MONTAG", TIME),
        _c("regnet es", "REGEN", THEME),
        _c("im norden", "NORDEN", PLACE),
    ]
    assert realise(chunks) == ("am montag regnet es im norden .", "MONTAG NORDEN REGEN")
    # and the grammar itself produces it
    for seed in range(100_000):
        text, gloss = realise(t_precipitation(np.random.default_rng(seed)))
        if text == "am montag regnet es im norden .":
            assert gloss == "MONTAG NORDEN REGEN"
            break
    else:
        pytest.fail("t_precipitation never produced the canonical example")


def test_no_articles_in_glosses(default_text):
    for e in default_text["train"]:
        assert not {"DER", "DIE", "DAS", "DEN", "DEM", "EIN", "EINE"} & set(e["gloss"].split())


def test_gloss_order_differs_from_text_order():
    rng = np.random.default_rng(5)
    differing = 0
    for _ in range(300):
        text, gloss = sample_sentence(rng)
        words = text.split()
        # glosses that spell a word of the text: their order in the text vs in the gloss
        order = [g for g in gloss.split() if g.lower() in words]
        by_text = sorted(order, key=lambda g: words.index(g.lower()))
        differing += order != by_text
    assert differing > 50


def test_text_mostly_determined_by_gloss(default_text):
    groups: dict[str, Counter] = {}
    for e in default_text["train"]:
        groups.setdefault(e["gloss"], Counter())[e["text"]] += 1
    repeated = {g: c for g, c in groups.items() if sum(c.values()) >= 3}
    assert repeated, "some gloss sequences occur several times"
    majority = sum(c.most_common(1)[0][1] for c in repeated.values()) / sum(
        sum(c.values()) for c in repeated.values()
    )
    assert majority > 0.8, majority


def test_signers_differ_in_proportions_and_speed():
    signers = make_signers()
    assert len(signers) == 6 and len({s.name for s in signers}) == 6
    assert len({round(s.upper_arm, 4) for s in signers}) == 6
    speeds = [s.speed for s in signers]
    assert min(speeds) >= 0.9 and max(speeds) <= 1.1 and len(set(speeds)) == 6


def test_poses_realistic_magnitudes_and_bone_lengths(small_corpus):
    signers = {s.name: s for s in make_signers()}
    for ex in small_corpus["train"][:8]:
        p = ex["poses"].astype(np.float64)
        assert 50 <= ex["num_frames"] <= 220
        assert np.abs(p).max() < 3.0
        s = signers[ex["signer"]]
        upper = np.linalg.norm(p[:, 3] - p[:, 2], axis=1)
        # bone lengths are the signer's, up to the position noise
        assert np.allclose(upper, s.upper_arm, atol=0.05)
        assert np.linalg.norm(p[:, 0], axis=1).mean() == pytest.approx(s.head, abs=0.03)
        # motion: hands move, smoothly (no jumps between frames)
        steps = np.linalg.norm(np.diff(p[:, 4], axis=0), axis=1)
        assert steps.mean() > 0.005 and steps.max() < 0.5


def test_faster_signer_gives_shorter_sequences():
    cfg = SyntheticCorpusConfig(train_size=200, dev_size=0, test_size=0)
    by_signer: dict[str, list[float]] = {}
    for e in iter_split("train", cfg):
        by_signer.setdefault(e["signer"], []).append(e["num_frames"] / len(e["gloss"].split()))
    speeds = {s.name: s.speed for s in make_signers(cfg)}
    slowest = min(speeds, key=speeds.get)
    fastest = max(speeds, key=speeds.get)
    assert np.mean(by_signer[fastest]) < np.mean(by_signer[slowest])


def test_features_follow_poses(small_corpus):
    ex = small_corpus["train"][0]
    clean = synthesize_visual_features(ex["poses"])
    assert clean.shape == ex["features"].shape
    noise = ex["features"] - clean
    assert 0.03 < noise.std() < 0.07  # feature_noise = 0.05
    # the same pose gives the same features; different glosses give different features
    other = small_corpus["train"][1]
    assert not np.allclose(clean[:5], synthesize_visual_features(other["poses"])[:5], atol=0.1)
    with pytest.raises(ValueError, match="shape"):
        synthesize_visual_features(np.zeros((5, 49, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        synthesize_visual_features(np.full((5, 50, 3), np.nan, dtype=np.float32))


def test_features_identify_glosses():
    """A nearest-centroid classifier on feature steps recognises the gloss being signed."""
    cfg = SyntheticCorpusConfig(train_size=0, dev_size=0, test_size=0, pose_noise=0.004)
    from signbridge.data.synthetic.motion import _play, _primitive
    from signbridge.data.synthetic.skeleton import make_signers as _ms

    signer = _ms(cfg)[0]
    glosses = ["REGEN", "SCHNEE", "NORDEN", "SUEDEN", "MONTAG", "DIENSTAG", "WIND", "SONNE"]
    rng = np.random.default_rng(0)
    centroids, queries = [], []
    from signbridge.data.synthetic.skeleton import _forward_kinematics

    for g in glosses:
        params = _play(_primitive(g, cfg.lexicon_seed), 16, signer)
        poses = _forward_kinematics(params, signer).astype(np.float32)
        feats = synthesize_visual_features(poses, cfg)
        centroids.append(feats.mean(0))
        noisy = poses + rng.normal(0, 0.01, poses.shape).astype(np.float32)
        queries.append(synthesize_visual_features(noisy, cfg, rng).mean(0))
    dist = np.linalg.norm(np.stack(queries)[:, None] - np.stack(centroids)[None], axis=-1)
    assert (dist.argmin(1) == np.arange(len(glosses))).all()


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
