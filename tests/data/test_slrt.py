"""SLRT gzip-pickle reader/writer: real files, torch compatibility, malicious pickles, bad input."""

import gzip
import io
import os
import pickle
import pickletools
import struct
import subprocess

import numpy as np
import pytest
import torch

from signbridge.data import safe_pickle, slrt
from signbridge.data.slrt import (
    SLRTFormatError,
    UnsafePickleError,
    iter_slrt_features,
    read_slrt_annotations,
    read_slrt_features,
    safe_load_pickle,
    write_slrt_annotations,
    write_slrt_features,
)


def _globals(raw: bytes) -> set:
    return {arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"}


def _payloads(raw: bytes) -> list:
    return [arg for op, arg, _ in pickletools.genops(raw) if op.name in ("SHORT_BINBYTES", "BINBYTES")]


def _nested_globals(payload: bytes) -> set:
    f = io.BytesIO(payload)
    found = set()
    for _ in range(5):  # magic, protocol, sys info, storage descriptor, key list
        for op, arg, _ in pickletools.genops(f):
            if op.name == "GLOBAL":
                found.add(arg)
    return found


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
    raw = gzip.open(phoenix_dir / "phoenix-2014t_cleaned.dev").read()
    assert _globals(raw) == {"collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch.storage _load_from_bytes"}
    assert _nested_globals(_payloads(raw)[0]) == {"torch FloatStorage"}


def test_plain_pickle_streams_identically(phoenix_dir):
    path = phoenix_dir / "phoenix-2014t_cleaned.dev"
    full = safe_load_pickle(path)
    streamed = list(slrt.iter_slrt_records(path))
    assert [r["name"] for r in streamed] == [r["name"] for r in full]
    assert streamed[5]["alignments"] == full[5]["alignments"]


# ----------------------------------------------------------------------------- torch compatibility


def _tensor_cases():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(5, 7, generator=g)
    return {
        "float32": base,
        "float64": base.double(),
        "float16": base.half(),
        "int64": torch.arange(-6, 6),
        "int32": torch.arange(12, dtype=torch.int32).reshape(3, 4),
        "uint8": torch.arange(200, 210, dtype=torch.uint8),
        "bool": base > 0,
        "transposed": base.t(),  # non-contiguous strides
        "offset_view": base[2:, 3:],  # storage offset
        "empty": torch.tensor([]),
        "scalar": torch.tensor(3.5),
    }


def test_legacy_storage_parser_matches_torch():
    cases = _tensor_cases()
    raw = pickle.dumps([{"name": k, "sign": v} for k, v in cases.items()], protocol=3)
    loaded = safe_load_pickle(raw)
    for record in loaded:
        expected = cases[record["name"]].numpy()
        assert record["sign"].dtype == expected.dtype, record["name"]
        assert record["sign"].shape == expected.shape, record["name"]
        np.testing.assert_array_equal(record["sign"], expected)


def test_writer_output_loads_with_torch_and_has_release_structure(tmp_path):
    rng = np.random.default_rng(0)
    examples = [
        {"name": f"train/s{i}", "signer": f"Signer0{i % 3}", "gloss": "REGEN MORGEN", "text": "morgen regen .",
         "num_frames": 4 * (i % 7 + 3), "features": rng.standard_normal((i % 7 + 3, 16)).astype(np.float32)}
        for i in range(1203)  # more than one APPENDS batch of 1000
    ]
    ann = write_slrt_annotations(examples, tmp_path / "ann.train")
    feats = write_slrt_features(examples, tmp_path / "feat.train")

    for path in (ann, feats):
        raw = gzip.open(path).read()
        assert raw[:2] == b"\x80\x03"  # protocol 3 like the release
        assert _globals(raw) == {"collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch.storage _load_from_bytes"}
        assert _nested_globals(_payloads(raw)[0]) == {"torch FloatStorage"}

    # the real consumer (pickle + torch) reads them
    real_ann = pickle.load(gzip.open(ann))
    real_feat = pickle.load(gzip.open(feats))
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


# ----------------------------------------------------------------------------- malicious pickles


class _Evil:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _evil_cases(marker):
    cmd = f"touch {marker}"
    return {
        "os.system": (os.system, (cmd,)),
        "subprocess.Popen": (subprocess.Popen, (["touch", str(marker)],)),
        "builtins.exec": (exec, (f"open({str(marker)!r}, 'w').close()",)),
        "builtins.eval": (eval, (f"open({str(marker)!r}, 'w')",)),
    }


@pytest.mark.parametrize("case", ["os.system", "subprocess.Popen", "builtins.exec", "builtins.eval"])
@pytest.mark.parametrize("reader", ["annotations", "features", "stream", "safe_load"])
def test_malicious_global_is_refused_and_never_runs(tmp_path, case, reader):
    marker = tmp_path / "PWNED"
    func, args = _evil_cases(marker)[case]
    payload = pickle.dumps([{"name": "x", "signer": "s", "gloss": "G", "text": "t", "num_frames": 1, "sign": _Evil(func, args)}], protocol=3)
    path = tmp_path / "evil.train"
    path.write_bytes(gzip.compress(payload))
    expected_module = f"{func.__module__}.{func.__name__}"  # os.system pickles as posix.system
    read = {
        "annotations": read_slrt_annotations,
        "features": read_slrt_features,
        "stream": lambda p: list(slrt.iter_slrt_records(p)),
        "safe_load": safe_load_pickle,
    }[reader]
    with pytest.raises(UnsafePickleError) as info:
        read(path)
    assert expected_module in str(info.value)
    assert str(path) in str(info.value)
    assert not marker.exists()
    assert isinstance(info.value, ValueError)


def test_plain_pickle_would_have_run_it(tmp_path):
    # sanity check that the crafted pickle is really dangerous: plain pickle runs it
    marker = tmp_path / "PWNED"
    payload = pickle.dumps(_Evil(os.system, (f"touch {marker}",)), protocol=3)
    pickle.loads(payload)
    assert marker.exists()


class _StorageSentinel:
    pass


def _legacy_payload(numel, count, data: bytes, storage_type=torch.FloatStorage, trailing=b""):
    sentinel = _StorageSentinel()

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is sentinel:
                return ("storage", storage_type, "k0", "cpu", numel, None)
            return None

    buf = io.BytesIO()
    for obj in (safe_pickle._LEGACY_MAGIC, safe_pickle._LEGACY_PROTOCOL, {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}):
        pickle.dump(obj, buf, protocol=2)
    P(buf, protocol=2).dump(sentinel)
    pickle.dump(["k0"], buf, protocol=2)
    buf.write(struct.pack("<q", count) + data + trailing)
    return buf.getvalue()


def _wrap_payload(payload: bytes) -> bytes:
    tensor = _Evil(torch._utils._rebuild_tensor_v2, (_Evil(torch.storage._load_from_bytes, (payload,)), 0, (2,), (1,), False, {}))
    return pickle.dumps([{"name": "x", "sign": tensor}], protocol=3)


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")
def test_crafted_payload_parses_like_torch():
    data = np.array([1.5, -2.0], dtype="<f4").tobytes()
    payload = _legacy_payload(2, 2, data)
    # our hand-made payload is trusted, so torch itself may read it: both agree
    assert list(torch.storage._load_from_bytes(payload)) == [1.5, -2.0]
    out = safe_load_pickle(_wrap_payload(payload))
    np.testing.assert_array_equal(out[0]["sign"], [1.5, -2.0])


def test_malicious_global_inside_storage_payload_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    payload = _legacy_payload(2, 2, b"\0" * 8, storage_type=_Evil(os.system, (f"touch {marker}",)))
    with pytest.raises(UnsafePickleError, match="posix.system"):
        safe_load_pickle(_wrap_payload(payload))
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload,match",
    [
        (_legacy_payload(2, 2, b"\0" * 4), "truncated"),  # data block too short
        (_legacy_payload(10**12, 10**12, b""), "truncated"),  # huge claim: refused before allocating
        (_legacy_payload(2, 3, b"\0" * 12), "declares 2 elements"),
        (_legacy_payload(2, 2, b"\0" * 8, trailing=b"xx"), "trailing"),
        (_legacy_payload(2, 2, b"\0" * 8)[:-30], "truncated|corrupt"),
    ],
)
def test_bad_storage_payloads(payload, match):
    with pytest.raises(SLRTFormatError, match=match):
        safe_load_pickle(_wrap_payload(payload))


def test_tensor_view_outside_storage_is_refused():
    payload = _legacy_payload(2, 2, b"\0" * 8)
    tensor = _Evil(torch._utils._rebuild_tensor_v2, (_Evil(torch.storage._load_from_bytes, (payload,)), 1, (5,), (1,), False, {}))
    with pytest.raises(SLRTFormatError, match="reaches element"):
        safe_load_pickle(pickle.dumps(tensor, protocol=3))


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
    examples = [{"name": f"n{i}", "signer": "s", "gloss": "G", "text": "t .", "num_frames": 3,
                 "features": np.ones((3, 4), np.float32)} for i in range(50)]
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
    path = _write(tmp_path, [{"name": "x", "sign": torch.ones(2, 3)}, {"name": "x", "sign": torch.ones(2, 3)}])
    with pytest.raises(SLRTFormatError, match="duplicate name 'x'"):
        read_slrt_features(path)


def test_streaming_hands_out_records_before_the_batch_closes():
    # pickle batches list items 1000 per APPENDS; the streaming reader must not wait for it
    records = [{"name": f"n{i}", "sign": torch.full((3, 2), float(i)), "meta": {"k": [i]}} for i in range(300)]
    raw = pickle.dumps(records, protocol=3)
    f = io.BytesIO(raw)
    items = safe_pickle._StreamingUnpickler(f, "<test>").iter_items()
    first = next(items)
    assert first["name"] == "n0" and first["meta"] == {"k": [0]}
    assert f.tell() < len(raw) // 10  # read only a little beyond the first record
    rest = list(items)
    assert [r["name"] for r in rest] == [f"n{i}" for i in range(1, 300)]
    np.testing.assert_array_equal(rest[-1]["sign"], np.full((3, 2), 299.0, np.float32))
