"""SLRT gzip-pickle reader/writer: real files, the writer's torch compatibility, bad input."""

import gzip
import pickle
import time

import numpy as np
import pytest
import torch
from pickle_inspection import nested_payload_globals, pickle_globals, pickle_payloads

from signbridge.data import slrt
from signbridge.data.slrt import (
    SLRTFormatError,
    iter_slrt_features,
    read_slrt_annotations,
    read_slrt_features,
    safe_load_pickle,
    write_slrt_annotations,
    write_slrt_features,
)

# ----------------------------------------------------------------------------- real files


@pytest.mark.parametrize("split,count", [("train", 7096), ("dev", 519), ("test", 642)])
def test_real_phoenix_annotations(phoenix_dir, split, count):
    records = read_slrt_annotations(phoenix_dir / f"phoenix-2014t_cleaned.{split}")
    assert len(records) == count
    for rec in records:
        assert rec["name"].startswith(f"{split}/")
        assert rec["gloss"] and rec["text"].endswith(".")
        assert rec["num_frames"] > 0
        assert isinstance(rec["sign"], np.ndarray) and rec["sign"].size == 0
    if split == "dev":
        first = records[0]
        assert first["name"] == "dev/11August_2010_Wednesday_tagesschau-2"
        assert first["gloss"] == "DRUCK TIEF KOMMEN"
        assert first["num_frames"] == 42
        assert len(first["alignments"]["pami0"].split()) == 42


@pytest.mark.parametrize("split,count", [("train", 18401), ("dev", 1077), ("test", 1176)])
def test_real_csl_annotations(csl_dir, split, count):
    records = read_slrt_annotations(csl_dir / f"csl-daily.{split}")
    assert len(records) == count
    assert all(isinstance(r["signer"], str) and r["text"] for r in records)


def test_real_files_contain_only_allowed_globals(phoenix_dir):
    raw = gzip.decompress((phoenix_dir / "phoenix-2014t_cleaned.dev").read_bytes())
    assert pickle_globals(raw) == {
        "collections OrderedDict",
        "torch._utils _rebuild_tensor_v2",
        "torch.storage _load_from_bytes",
    }
    assert nested_payload_globals(pickle_payloads(raw)[0]) == {"torch FloatStorage"}


def test_plain_pickle_streams_identically(phoenix_dir):
    path = phoenix_dir / "phoenix-2014t_cleaned.dev"
    full = safe_load_pickle(path)
    streamed = list(slrt.iter_slrt_records(path))
    assert [r["name"] for r in streamed] == [r["name"] for r in full]
    assert streamed[5]["alignments"] == full[5]["alignments"]


def test_writer_output_loads_with_torch_and_has_release_structure(tmp_path):
    rng = np.random.default_rng(0)
    examples = [
        {
            "name": f"train/s{i}",
            "signer": f"Signer0{i % 3}",
            "gloss": "REGEN MORGEN",
            "text": "morgen regen .",
            "num_frames": 4 * (i % 7 + 3),
            "features": rng.standard_normal((i % 7 + 3, 16)).astype(np.float32),
        }
        for i in range(1203)  # more than one APPENDS batch of 1000
    ]
    ann = write_slrt_annotations(examples, tmp_path / "ann.train")
    feats = write_slrt_features(examples, tmp_path / "feat.train")

    for path in (ann, feats):
        raw = gzip.decompress(path.read_bytes())
        assert raw[:2] == b"\x80\x03"  # protocol 3 like the release
        assert pickle_globals(raw) == {
            "collections OrderedDict",
            "torch._utils _rebuild_tensor_v2",
            "torch.storage _load_from_bytes",
        }
        assert nested_payload_globals(pickle_payloads(raw)[0]) == {"torch FloatStorage"}

    # the real consumer (pickle + torch) reads them
    real_ann = pickle.loads(gzip.decompress(ann.read_bytes()))
    real_feat = pickle.loads(gzip.decompress(feats.read_bytes()))
    assert len(real_ann) == len(real_feat) == 1203
    assert isinstance(real_ann[0]["sign"], torch.Tensor) and real_ann[0]["sign"].numel() == 0
    assert real_ann[8]["signer"] == "Signer02" and real_ann[8]["num_frames"] == 16
    assert torch.equal(real_feat[1202]["sign"], torch.from_numpy(examples[1202]["features"]))

    # and our readers give the same data back
    back = read_slrt_annotations(ann)
    assert [r["name"] for r in back] == [e["name"] for e in examples]
    feat_back = read_slrt_features(feats)
    np.testing.assert_array_equal(feat_back["train/s17"], examples[17]["features"])
    streamed = list(iter_slrt_features(feats))
    assert len(streamed) == 1203
    name, arr, rec = streamed[-1]
    assert name == "train/s1202" and arr.dtype == np.float32 and arr.shape == (1202 % 7 + 3, 16)
    assert rec["num_frames"] == 4 * (1202 % 7 + 3)


# ----------------------------------------------------------------------------- bad input


def _write(tmp_path, obj, name="f.train"):
    path = tmp_path / name
    path.write_bytes(gzip.compress(pickle.dumps(obj, protocol=3)))
    return path


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.train"):
        read_slrt_annotations(tmp_path / "nope.train")


def test_not_gzip(tmp_path):
    path = tmp_path / "plain.train"
    path.write_bytes(pickle.dumps([], protocol=3))
    with pytest.raises(SLRTFormatError, match=r"plain.train is not a gzip file"):
        read_slrt_annotations(path)


def test_truncated_gzip(tmp_path):
    examples = [
        {
            "name": f"n{i}",
            "signer": "s",
            "gloss": "G",
            "text": "t .",
            "num_frames": 3,
            "features": np.ones((3, 4), np.float32),
        }
        for i in range(50)
    ]
    path = write_slrt_features(examples, tmp_path / "full.train")
    cut = tmp_path / "cut.train"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for reader in (read_slrt_features, lambda p: list(iter_slrt_features(p))):
        with pytest.raises(SLRTFormatError, match=r"cut.train is truncated"):
            reader(cut)


def test_not_a_list_and_missing_keys(tmp_path):
    with pytest.raises(SLRTFormatError, match="expected a list of dicts"):
        read_slrt_annotations(_write(tmp_path, {"name": "x"}))
    with pytest.raises(SLRTFormatError, match="record 0 is str"):
        read_slrt_annotations(_write(tmp_path, ["x"]))
    rec = {"name": "x", "signer": "s", "gloss": "G", "num_frames": 1}
    with pytest.raises(SLRTFormatError, match=r"misses keys \['text'\]") as info:
        read_slrt_annotations(_write(tmp_path, [rec], "keys.dev"))
    assert "keys.dev" in str(info.value)
    with pytest.raises(SLRTFormatError, match="misses keys"):
        read_slrt_features(_write(tmp_path, [{"name": "x"}]))


def test_non_finite_features(tmp_path):
    bad = torch.ones(3, 4)
    bad[1, 2] = float("nan")
    path = _write(tmp_path, [{"name": "x", "sign": bad}], "nan.train")
    with pytest.raises(SLRTFormatError, match=r"nan.train: features of 'x' contain 1 non-finite"):
        read_slrt_features(path)
    with pytest.raises(ValueError, match="non-finite"):
        write_slrt_features([{"name": "x", "features": bad.numpy()}], tmp_path / "w.train")


def test_duplicate_feature_names(tmp_path):
    path = _write(
        tmp_path, [{"name": "x", "sign": torch.ones(2, 3)}, {"name": "x", "sign": torch.ones(2, 3)}]
    )
    with pytest.raises(SLRTFormatError, match="duplicate name 'x'"):
        read_slrt_features(path)


# ----------------------------------------------------------------------------- hostile values in messages


def _shared_nest(levels, width=10):
    value = [0]
    for _ in range(levels):
        value = [value] * width
    return value


def test_nested_num_frames_fails_fast(tmp_path):
    # 10**8 shared leaves in a file of about 200 bytes: printing it used to cost 14 s and a MemoryError
    rec = {"name": "x", "signer": "s", "gloss": "G", "text": "t", "num_frames": _shared_nest(8)}
    path = _write(tmp_path, [rec], "nest.dev")
    assert path.stat().st_size < 400
    start = time.perf_counter()
    with pytest.raises(SLRTFormatError, match="record 0 num_frames is list, expected a non-negative int"):
        read_slrt_annotations(path)
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("num_frames", -(10**5000), r"num_frames=<int of \d+ bits>"),
        ("num_frames", True, "num_frames is bool"),
        ("num_frames", 2.5, "num_frames is float"),
        ("text", _shared_nest(8), "key 'text' is list, expected str"),
    ],
    ids=["huge_negative", "bool", "float", "nested_text"],
)
def test_bad_annotation_values_give_short_messages(tmp_path, field, value, match):
    rec = {"name": "x", "signer": "s", "gloss": "G", "text": "t", "num_frames": 3, field: value}
    with pytest.raises(SLRTFormatError, match=match) as info:
        read_slrt_annotations(_write(tmp_path, [rec]))
    assert len(str(info.value)) < 300


def test_long_names_and_keys_are_truncated_in_messages(tmp_path):
    long = "n" * 1_000_000
    rec = {"name": long, "signer": "s", "gloss": "G", "num_frames": 1, ("k" * 100_000,): _shared_nest(8)}
    with pytest.raises(SLRTFormatError, match="misses keys") as info:
        read_slrt_annotations(_write(tmp_path, [rec]))
    assert len(str(info.value)) < 500
    feats = [{"name": long, "sign": torch.ones(3)}]
    for reader in (read_slrt_features, lambda p: list(iter_slrt_features(p))):
        with pytest.raises(SLRTFormatError, match="must be a 2-D tensor") as info:
            reader(_write(tmp_path, feats))
        assert len(str(info.value)) < 300
    dup = [{"name": long, "sign": torch.ones(2, 3)}] * 2
    with pytest.raises(SLRTFormatError, match="duplicate name") as info:
        read_slrt_features(_write(tmp_path, dup))
    assert len(str(info.value)) < 300
