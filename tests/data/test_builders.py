"""datasets builders behind load_sign_dataset: real corpora, features, caching, safety."""

import math
import os
import time

import numpy as np
import pytest

from signbridge.data.builders import (
    SIGN_DATASET_BUILDERS,
    Phoenix14TBuilder,
    get_sign_dataset_builder,
    load_sign_dataset,
)
from signbridge.data.slrt import write_slrt_annotations, write_slrt_features


def test_phoenix14t(phoenix_dir, tmp_path, capfd):
    ds = load_sign_dataset("phoenix14t", data_dir=phoenix_dir, cache_dir=tmp_path)
    assert {k: ds[k].num_rows for k in ds} == {"train": 7096, "dev": 519, "test": 642}
    assert ds["train"].column_names == ["name", "signer", "gloss", "text", "num_frames"]
    dev = ds["dev"][0]
    assert dev["name"] == "dev/11August_2010_Wednesday_tagesschau-2"
    assert dev["gloss"] == "DRUCK TIEF KOMMEN" and dev["num_frames"] == 42
    assert all(g and t for g, t in zip(ds["test"]["gloss"], ds["test"]["text"], strict=True))
    assert "Generating train split" in capfd.readouterr().err  # the tqdm bar while preparing


def test_csl_daily(csl_dir, tmp_path):
    ds = load_sign_dataset("csl_daily", data_dir=csl_dir, cache_dir=tmp_path)
    assert {k: ds[k].num_rows for k in ds} == {"train": 18401, "dev": 1077, "test": 1176}
    assert ds["train"][0]["text"] == "你们好！" and ds["train"][0]["signer"] == "0"


def test_phoenix14t_skels(skels_dir, tmp_path):
    ds = load_sign_dataset("phoenix14t_skels", data_dir=skels_dir, cache_dir=tmp_path)
    expected = {
        "train": [86, 126, 168, 185, 71],
        "dev": [42, 111, 148, 142, 93],
        "test": [181, 150, 198, 130, 111],
    }
    assert {k: list(ds[k]["num_frames"]) for k in ds} == expected
    first = ds["dev"].with_format("numpy")[0]
    assert first["poses"].shape == (42, 50, 3) and first["poses"].dtype == np.float32
    assert first["gloss"] == "DRUCK TIEF KOMMEN" and first["text"].endswith("wetter .")


def test_pose_files_lexicon(pose_samples_dir, tmp_path):
    ds = load_sign_dataset("pose_files", data_dir=pose_samples_dir / "lexicon-sgg", cache_dir=tmp_path)
    train = ds["train"]
    assert train.num_rows == 4
    assert list(train["glosses"]) == ["Kleine", "Kinder", "Essen", "Pizza"]
    assert list(train["words"]) == ["kleine", "kinder", "essen", "pizza"]
    row = train.with_format("numpy")[2]
    assert row["poses"].shape == (73, 178, 3) and row["mask"].shape == (73, 178)
    assert row["num_frames"] == 73 and row["mask"].dtype == bool


def _pose_folder(tmp_path, rel_paths):
    from signbridge.data.pose_files import write_pose_file

    folder = tmp_path / "lex"
    folder.mkdir()
    write_pose_file(folder / "a.pose", np.zeros((3, 50, 3), np.float32))
    (folder / "index.csv").write_text(
        "path,glosses\n" + "".join(f"{p},G{i}\n" for i, p in enumerate(rel_paths))
    )
    return folder


@pytest.mark.parametrize("bad", ["../outside.pose", "/etc/passwd", "sub/../../outside.pose", "link.pose"])
def test_pose_files_refuses_paths_leaving_the_folder(tmp_path, bad):
    pytest.importorskip("pose_format")
    from signbridge.data.pose_files import write_pose_file

    write_pose_file(tmp_path / "outside.pose", np.zeros((3, 50, 3), np.float32))
    folder = _pose_folder(tmp_path, ["a.pose", bad])
    os.symlink(tmp_path / "outside.pose", folder / "link.pose")
    with pytest.raises(ValueError, match="leaves the folder|must be relative"):
        load_sign_dataset("pose_files", data_dir=folder, cache_dir=tmp_path / "cache")


def _slrt_corpus(folder, sizes=(5, 3, 2), feature_dim=6, seed=0, text="regen ."):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    feats_dir = folder / "features"
    out = {}
    for split, n in zip(("train", "dev", "test"), sizes, strict=True):
        examples = []
        for i in range(n):
            t = int(rng.integers(4, 30))
            examples.append(
                {
                    "name": f"{split}/seq{i}",
                    "signer": f"Signer0{i % 2}",
                    "gloss": "REGEN",
                    "text": text,
                    "num_frames": t,
                    "features": rng.standard_normal((math.ceil(t / 4), feature_dim)).astype(np.float32),
                }
            )
        write_slrt_annotations(examples, folder / f"phoenix-2014t_cleaned.{split}")
        write_slrt_features(examples[::-1], feats_dir / f"{split}.pkl")  # other order: joined by name
        out[split] = examples
    return feats_dir, out


def test_slrt_with_features(tmp_path):
    feats_dir, examples = _slrt_corpus(tmp_path / "data")
    ds = load_sign_dataset(
        "phoenix14t",
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        features_dir=feats_dir,
        feature_dim=6,
    )
    assert ds["train"].features["features"].shape == (None, 6)
    by_name = {e["name"]: e for e in examples["train"]}
    torch_rows = ds["train"].with_format("torch")
    for row in torch_rows:
        ref = by_name[row["name"]]
        assert tuple(row["features"].shape) == ref["features"].shape
        np.testing.assert_array_equal(row["features"].numpy(), ref["features"])
        assert row["num_frames"] == ref["num_frames"] and row["signer"] == ref["signer"]


def test_slrt_features_must_cover_annotations(tmp_path):
    feats_dir, examples = _slrt_corpus(tmp_path / "data")
    write_slrt_features(examples["dev"][:2], feats_dir / "dev.pkl")
    with pytest.raises(ValueError, match=r"no features for 1 sequences"):
        load_sign_dataset(
            "phoenix14t",
            data_dir=tmp_path / "data",
            cache_dir=tmp_path / "c1",
            features_dir=feats_dir,
            feature_dim=6,
        )
    extra = examples["dev"] + [{**examples["dev"][0], "name": "dev/unknown"}]
    write_slrt_features(extra, feats_dir / "dev.pkl")
    with pytest.raises(ValueError, match=r"features for 'dev/unknown'"):
        load_sign_dataset(
            "phoenix14t",
            data_dir=tmp_path / "data",
            cache_dir=tmp_path / "c2",
            features_dir=feats_dir,
            feature_dim=6,
        )
    write_slrt_features(examples["dev"], feats_dir / "dev.pkl")
    with pytest.raises(ValueError, match="expected feature_dim=832"):
        load_sign_dataset(
            "phoenix14t", data_dir=tmp_path / "data", cache_dir=tmp_path / "c3", features_dir=feats_dir
        )


def test_editing_a_data_file_gives_fresh_data(tmp_path):
    data = tmp_path / "data"
    _slrt_corpus(data, text="alt .")
    first = load_sign_dataset("phoenix14t", data_dir=data, cache_dir=tmp_path / "cache")
    assert set(first["dev"]["text"]) == {"alt ."}
    again = get_sign_dataset_builder("phoenix14t", data_dir=data, cache_dir=tmp_path / "cache")
    assert (
        again.cache_dir
        == get_sign_dataset_builder("phoenix14t", data_dir=data, cache_dir=tmp_path / "cache").cache_dir
    )
    time.sleep(0.01)
    _slrt_corpus(data, sizes=(5, 4, 2), text="neu .")  # rewrite every file
    second = load_sign_dataset("phoenix14t", data_dir=data, cache_dir=tmp_path / "cache")
    assert second["dev"].num_rows == 4 and set(second["dev"]["text"]) == {"neu ."}
    assert (
        get_sign_dataset_builder("phoenix14t", data_dir=data, cache_dir=tmp_path / "cache").cache_dir
        != again.cache_dir
    )


def test_a_file_rewritten_with_the_same_size_and_mtime_gives_fresh_data(tmp_path):
    from signbridge.data.skels import write_skels

    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for split in ("train", "dev", "test"):
        examples = [
            {"name": f"{split}/{i}", "text": "alt .", "gloss": "ALT", "poses": rng.normal(size=(3, 50, 3))}
            for i in range(2)
        ]
        write_skels(examples, data, split)
    first = load_sign_dataset("phoenix14t_skels", data_dir=data, cache_dir=tmp_path / "cache")
    assert set(first["dev"]["text"]) == {"alt ."}
    text = data / "dev.text"
    st = text.stat()
    text.write_bytes(text.read_bytes().replace(b"alt .", b"neu ."))  # same size
    os.utime(text, ns=(st.st_atime_ns, st.st_mtime_ns))  # same modification time
    assert (text.stat().st_size, text.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    second = load_sign_dataset("phoenix14t_skels", data_dir=data, cache_dir=tmp_path / "cache")
    assert set(second["dev"]["text"]) == {"neu ."}  # the content hash changed: not the stale cache
    # the opt-out keys on size and time: documented to miss exactly this rewrite
    stat_keyed = {"data_dir": data, "cache_dir": tmp_path / "cache2", "hash_data_files": False}
    assert set(load_sign_dataset("phoenix14t_skels", **stat_keyed)["dev"]["text"]) == {"neu ."}
    text.write_bytes(text.read_bytes().replace(b"neu .", b"alt ."))
    os.utime(text, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert set(load_sign_dataset("phoenix14t_skels", **stat_keyed)["dev"]["text"]) == {"neu ."}  # stale
    assert set(
        load_sign_dataset("phoenix14t_skels", data_dir=data, cache_dir=tmp_path / "cache")["dev"]["text"]
    ) == {"alt ."}


def test_cache_key_changes_with_version_and_options(tmp_path, monkeypatch):
    data = tmp_path / "data"
    feats_dir, _ = _slrt_corpus(data)
    base = get_sign_dataset_builder("phoenix14t", data_dir=data, cache_dir=tmp_path).cache_dir
    with_feats = get_sign_dataset_builder(
        "phoenix14t", data_dir=data, cache_dir=tmp_path, features_dir=feats_dir, feature_dim=6
    ).cache_dir
    assert with_feats != base

    import datasets

    class Bumped(Phoenix14TBuilder):
        VERSION = datasets.Version("1.0.1")

    monkeypatch.setitem(SIGN_DATASET_BUILDERS, "phoenix14t", Bumped)
    bumped = get_sign_dataset_builder("phoenix14t", data_dir=data, cache_dir=tmp_path).cache_dir
    assert bumped != base and "1.0.1" in bumped


def test_small_writer_batch():
    assert Phoenix14TBuilder.DEFAULT_WRITER_BATCH_SIZE <= 100


def test_synthetic_small(tmp_path):
    pytest.importorskip("signbridge.data.synthetic")
    opts = {"train_size": 6, "dev_size": 2, "test_size": 3, "feature_dim": 16}
    ds = load_sign_dataset("synthetic", cache_dir=tmp_path, **opts)
    assert {k: ds[k].num_rows for k in ds} == {"train": 6, "dev": 2, "test": 3}
    rows = ds["train"].with_format("numpy")
    for row in rows:
        t = row["num_frames"]
        assert row["poses"].shape == (t, 50, 3)
        assert row["features"].shape == (math.ceil(t / 4), 16)
    # same options: same data from the cache; another seed: another cache and other data
    again = load_sign_dataset("synthetic", cache_dir=tmp_path, **opts)
    assert again["train"]["text"] == ds["train"]["text"]
    other = load_sign_dataset("synthetic", cache_dir=tmp_path, seed=1, **opts)
    assert other["train"]["text"] != ds["train"]["text"]
    with pytest.raises(ValueError, match="no data_dir"):
        load_sign_dataset("synthetic", data_dir=tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown sign dataset"):
        load_sign_dataset("phoenix")
    with pytest.raises(ValueError, match="data_dir is required"):
        load_sign_dataset("phoenix14t")
    with pytest.raises(ValueError, match="unknown options"):
        load_sign_dataset("phoenix14t", data_dir=tmp_path, featuresdir="x")
    with pytest.raises(FileNotFoundError, match="phoenix-2014t_cleaned.train"):
        load_sign_dataset("phoenix14t", data_dir=tmp_path, cache_dir=tmp_path / "c")


def test_synthetic_written_as_slrt_reads_back_identically(tmp_path):
    synthetic = pytest.importorskip("signbridge.data.synthetic")
    opts = {"train_size": 4, "dev_size": 2, "test_size": 2, "feature_dim": 12, "seed": 5}
    synthetic.write_corpus(synthetic.SyntheticCorpusConfig(**opts), tmp_path / "slrt", format="slrt")
    from_files = load_sign_dataset(
        "phoenix14t",
        data_dir=tmp_path / "slrt",
        cache_dir=tmp_path / "c",
        annotation_prefix="synthetic",
        features_dir=tmp_path / "slrt",
        feature_dim=12,
    )
    generated = load_sign_dataset("synthetic", cache_dir=tmp_path / "c", **opts)
    for split in ("train", "dev", "test"):
        a = from_files[split].with_format("numpy")
        b = generated[split].with_format("numpy")
        assert list(a["name"]) == list(b["name"]) and list(a["text"]) == list(b["text"])
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x["features"], y["features"])
            assert x["num_frames"] == y["num_frames"] and x["signer"] == y["signer"]


@pytest.mark.parametrize("column", ["fps", "poses", "num_frames", "mask"])
def test_pose_files_refuses_a_label_column_named_like_a_built_in_one(tmp_path, column):
    pytest.importorskip("pose_format")
    from signbridge.data.pose_files import write_pose_file

    folder = tmp_path / "lex"
    folder.mkdir()
    write_pose_file(folder / "a.pose", np.zeros((3, 50, 3), np.float32), fps=25)
    (folder / "index.csv").write_text(f"path,glosses,{column}\na.pose,G,7\n")
    with pytest.raises(ValueError, match=rf"index.csv: label column\(s\) \['{column}'\] have the name"):
        load_sign_dataset("pose_files", data_dir=folder, cache_dir=tmp_path / "cache")


def test_pose_files_refuses_repeated_index_columns(tmp_path):
    pytest.importorskip("pose_format")
    from signbridge.data.pose_files import write_pose_file

    folder = tmp_path / "lex"
    folder.mkdir()
    write_pose_file(folder / "a.pose", np.zeros((3, 50, 3), np.float32))
    (folder / "index.csv").write_text("path,glosses,glosses\na.pose,G1,G2\n")
    with pytest.raises(ValueError, match=r"\['glosses'\] appear more than once"):
        load_sign_dataset("pose_files", data_dir=folder, cache_dir=tmp_path / "cache")
