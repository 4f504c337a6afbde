"""The project's bad-input matrix (issue 12): every entry point given broken, hostile or wrong input.

Each case is a small function of a fresh folder and an expectation:

- ``error``: it raises the given type with a message matching the pattern (naming the problem);
- ``exit2``: an entry point (the ``signbridge`` command, a script's ``main`` through ``run_entry``) prints one
  ``<prog>: error: ...`` line naming the problem and exits with status 2 (the case asserts this itself);
- ``ok``: a correct result (the case asserts the values itself);
- ``warns``: a warning of the given type matching the pattern.

Every case runs under a 200 MB allocation bound (tests/memory_bounds.py). ``utils/bad_input_report.py`` runs the
same cases outside pytest and prints the counts (tried / clear error / correct result), the slowest and the most
memory-hungry case, and the before/after measurement of the worst hostile reader files.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from memory_bounds import bounded_memory

from signbridge.data import safe_pickle
from signbridge.data.pose_files import (
    PoseFileError,
    PoseIndexError,
    read_pose_file,
    read_pose_index,
    render_pose_gif,
    write_pose_file,
)
from signbridge.data.skels import SkelsFormatError, read_skels, write_skels
from signbridge.data.slrt import (
    SLRTFormatError,
    UnsafePickleError,
    iter_slrt_features,
    read_slrt_annotations,
    read_slrt_features,
    safe_load_pickle,
)


@dataclass
class Case:
    area: str
    run: Callable[[Path], object]
    kind: str  # "error", "exit2", "ok", "warns"
    exc: type[BaseException] | tuple | None = None
    match: str | None = None
    named_in_issue: bool = False


CASES: dict[str, Case] = {}


def _add(name, area, run, kind="error", exc=None, match=None, issue=False):
    key = f"{area}/{name}"
    assert key not in CASES, key
    CASES[key] = Case(area, run, kind, exc, match, issue)


def error(area, exc, match, issue=False):
    def register(fn):
        _add(fn.__name__.lstrip("_"), area, fn, "error", exc, match, issue)
        return fn

    return register


def result(area, kind="ok", issue=False, exc=None, match=None):
    def register(fn):
        _add(fn.__name__.lstrip("_"), area, fn, kind, exc, match, issue)
        return fn

    return register


# ============================================================================================ crafting helpers


class _Reduce:
    """Pickles as ``func(*args)``: how a hostile file asks the unpickler to call something."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class _Marker:
    pass


def _legacy_storage(values: np.ndarray, numel: int | None = None) -> bytes:
    """The legacy ``torch.save`` bytes of one float32 storage (what ``torch.storage._load_from_bytes`` reads)."""
    sentinel = _Marker()
    numel = len(values) if numel is None else numel

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "k0", "cpu", numel, None) if obj is sentinel else None

    buf = io.BytesIO()
    for obj in (
        safe_pickle._LEGACY_MAGIC,
        safe_pickle._LEGACY_PROTOCOL,
        {"protocol_version": 1001, "little_endian": True, "type_sizes": {}},
    ):
        pickle.dump(obj, buf, protocol=2)
    P(buf, protocol=2).dump(sentinel)
    pickle.dump(["k0"], buf, protocol=2)
    buf.write(struct.pack("<q", len(values)) + np.asarray(values, "<f4").tobytes())
    return buf.getvalue()


def _tensor(values, offset, size, stride, numel=None):
    storage = _Reduce(torch.storage._load_from_bytes, (_legacy_storage(np.asarray(values, "<f4"), numel),))
    return _Reduce(torch._utils._rebuild_tensor_v2, (storage, offset, size, stride, False, OrderedDict()))


def _features_file(tmp: Path, sign, protocol=3, name="x") -> Path:
    path = tmp / "features.pkl"
    path.write_bytes(gzip.compress(pickle.dumps([{"name": name, "sign": sign}], protocol=protocol)))
    return path


def _annotations_file(tmp: Path, records, protocol=3) -> Path:
    path = tmp / "corpus.dev"
    path.write_bytes(gzip.compress(pickle.dumps(records, protocol=protocol)))
    return path


def _record(**overrides):
    return {"name": "dev/x", "signer": "s1", "gloss": "G", "text": "t", "num_frames": 3, **overrides}


def _nest(levels, width=10):
    value = [0]
    for _ in range(levels):
        value = [value] * width
    return value


def _skels_corpus(tmp: Path, n=2, frames=3) -> Path:
    rng = np.random.default_rng(0)
    examples = [
        {"name": f"n{i}", "text": f"t {i}", "gloss": f"G{i}", "poses": rng.normal(size=(frames, 50, 3))}
        for i in range(n)
    ]
    write_skels(examples, tmp, "dev")
    return tmp


def _pose_file(tmp: Path, frames=4, fps=25.0) -> Path:
    path = tmp / "a.pose"
    write_pose_file(path, np.random.default_rng(0).normal(size=(frames, 50, 3)).astype(np.float32), fps=fps)
    return path


def _set_pose_fps(path: Path, fps: float) -> None:
    """Rewrite the fps field of a version-0.2 body in place (the float32 before the frame count)."""
    raw = bytearray(path.read_bytes())
    frames = 4
    # the body header (fps float32, frames uint32, people uint16) ends where frames x 50 x (3+1) float32 start
    body = len(raw) - frames * 50 * 4 * 4
    start = body - 10
    assert struct.unpack_from("<fIH", raw, start)[1:] == (frames, 1)
    struct.pack_into("<f", raw, start, fps)
    path.write_bytes(bytes(raw))


def _poses(frames=4):
    return np.random.default_rng(0).normal(size=(frames, 50, 3)).astype(np.float32)


def _write_index(tmp: Path, text: str) -> Path:
    (tmp / "index.csv").write_text(text, encoding="utf-8")
    return tmp


def _pose_folder(tmp: Path, index_text: str) -> Path:
    (tmp / "train").mkdir(exist_ok=True)
    write_pose_file(tmp / "train" / "a.pose", _poses(), fps=25)
    return _write_index(tmp, index_text)


def _load_pose_folder(tmp: Path):
    from signbridge.data.builders import load_sign_dataset

    return load_sign_dataset("pose_files", data_dir=tmp, cache_dir=tmp / "cache")


# ============================================================================================ SLRT (safe_pickle, slrt)

RESTRICTED = (UnsafePickleError, r"refusing")


@error("slrt", SLRTFormatError, r"zero stride in a dimension of more than one element", issue=True)
def _stride_zero_view_over_one_float(tmp):
    path = _features_file(tmp, _tensor([1.0], 0, (10_000, 14_000), (0, 0)))
    assert path.stat().st_size < 600  # the issue's 398-byte file returned a 0.54 GiB array
    read_slrt_features(path)


@error("slrt", SLRTFormatError, r"reaches element 1599999999 of a storage with 1 elements", issue=True)
def _claimed_shape_of_6_gib(tmp):
    read_slrt_features(_features_file(tmp, _tensor([1.0], 0, (40_000, 40_000), (40_000, 1), numel=1)))


@error("slrt", SLRTFormatError, r"more than signbridge.data.safe_pickle.MAX_TENSOR_ELEMENTS = 2147483648")
def _claimed_shape_over_the_element_bound(tmp):
    read_slrt_features(_features_file(tmp, _tensor([1.0], 0, (50_000, 50_000), (50_000, 1), numel=1)))


@error("slrt", SLRTFormatError, r"MAX_TENSOR_ELEMENTS", issue=True)
def _storage_claiming_10_to_12_elements(tmp):
    read_slrt_features(_features_file(tmp, _tensor([], 0, (2,), (1,), numel=10**12)))


@error("slrt", SLRTFormatError, r"reaches element 7 of a storage with 4 elements", issue=True)
def _view_past_its_storage(tmp):
    read_slrt_features(_features_file(tmp, _tensor([1, 2, 3, 4], 0, (2, 3), (5, 1))))


@error("slrt", SLRTFormatError, r"overlapping view", issue=True)
def _overlapping_view(tmp):
    read_slrt_features(_features_file(tmp, _tensor([1, 2, 3, 4], 0, (3, 2), (1, 1))))


@error("slrt", SLRTFormatError, r"expected non-negative ints", issue=True)
def _negative_stride(tmp):
    read_slrt_features(_features_file(tmp, _tensor([1, 2, 3, 4], 3, (4,), (-1,))))


@error("slrt", SLRTFormatError, r"size and stride must be tuples of the same length")
def _size_and_stride_lengths_differ(tmp):
    read_slrt_features(_features_file(tmp, _tensor([1, 2, 3, 4], 0, (2, 2), (2,))))


@error("slrt", SLRTFormatError, r"num_frames is list, expected a non-negative int", issue=True)
def _nested_num_frames_of_10_to_8_shared_leaves(tmp):
    path = _annotations_file(tmp, [_record(num_frames=_nest(8))])
    assert path.stat().st_size < 400
    read_slrt_annotations(path)


@error("slrt", SLRTFormatError, r"key 'text' is list, expected str", issue=True)
def _nested_text(tmp):
    read_slrt_annotations(_annotations_file(tmp, [_record(text=_nest(8))]))


@error("slrt", SLRTFormatError, r"zero stride", issue=True)
def _stride_zero_features_through_load_sign_dataset(tmp):
    # 1.2 KB of such feature files used to write a 40.8 MB Arrow cache, growing with the claimed shape
    from signbridge.data.builders import load_sign_dataset
    from signbridge.data.slrt import write_slrt_annotations

    for split in ("train", "dev", "test"):
        write_slrt_annotations([_record(name=f"{split}/x")], tmp / f"phoenix-2014t_cleaned.{split}")
        (tmp / "feats").mkdir(exist_ok=True)
        sign = _tensor([1.0], 0, (5_000, 832), (0, 0))
        (tmp / "feats" / f"{split}.pkl").write_bytes(
            gzip.compress(pickle.dumps([{"name": f"{split}/x", "sign": sign}], protocol=3))
        )
    try:
        load_sign_dataset("phoenix14t", data_dir=tmp, cache_dir=tmp / "cache", features_dir=tmp / "feats")
    finally:
        cache_bytes = sum(p.stat().st_size for p in (tmp / "cache").rglob("*") if p.is_file())
        assert cache_bytes < 1_000_000, cache_bytes


@error("slrt", SLRTFormatError, r"must be a 2-D tensor", issue=True)
def _nested_sign_in_the_streaming_reader(tmp):
    list(iter_slrt_features(_features_file(tmp, _nest(8))))


@error("slrt", SLRTFormatError, r"memo index 405694563")
def _memo_index_far_ahead(tmp):
    raw = pickle.dumps([{"name": "a", "num_frames": 4}], protocol=3)
    put = raw.index(b"q\x01")
    safe_load_pickle(raw[:put] + b"r" + struct.pack("<I", 405_694_563) + raw[put + 2 :])


@error("slrt", SLRTFormatError, r"not a valid pickle|truncated")
def _one_deleted_byte_claims_1_5_gib_in_the_stream(tmp):
    raw = pickle.dumps([{"name": "a", "gloss": "G", "num_frames": 4, "sign": torch.zeros(2)}], protocol=3)
    at = raw.index(b"X\x04\x00\x00\x00name") + 1  # the name's length field loses a byte
    path = tmp / "f.train"
    path.write_bytes(gzip.compress(raw[:at] + raw[at + 1 :]))
    list(iter_slrt_features(path))


# the issue's 25 malicious pickles: nothing runs, each is refused naming the global
_MALICIOUS = {
    "os.system": lambda m: (os.system, (f"touch {m}",)),
    "subprocess.Popen": lambda m: (subprocess.Popen, (["touch", str(m)],)),
    "builtins.eval": lambda m: (eval, (f"open({str(m)!r}, 'w')",)),
    "builtins.exec": lambda m: (exec, (f"open({str(m)!r}, 'w').close()",)),
    "functools.partial": lambda m: (__import__("functools").partial, (os.system, f"touch {m}")),
    "builtins.getattr": lambda m: (getattr, ("text", "upper")),
    "builtins.__import__": lambda m: (__import__, ("os",)),
    "codecs.encode-other-codec": lambda m: (__import__("_codecs").encode, ("abc", "rot13")),
    "builtins.bytes-size": lambda m: (bytes, (10**12,)),
}


def _malicious_case(name, protocol):
    def run(tmp):
        marker = tmp / "PWNED"
        func, args = _MALICIOUS[name](marker)
        path = _annotations_file(tmp, [_record(sign=_Reduce(func, args))], protocol=protocol)
        try:
            read_slrt_annotations(path)
        finally:
            assert not marker.exists(), "the payload ran"

    return run


for _name in _MALICIOUS:
    for _protocol in (0, 2, 3, 5) if _name == "os.system" else (3,):
        _add(
            f"malicious-{_name}-protocol-{_protocol}",
            "slrt",
            _malicious_case(_name, _protocol),
            "error",
            *RESTRICTED,
            True,
        )


@error("slrt", UnsafePickleError, r"refusing load of global posix.system|refusing.*posix\.system", issue=True)
def _inst_opcode(tmp):
    # protocol 0's INST: "(iposix\nsystem\n" builds posix.system(...) without a REDUCE
    safe_load_pickle(b"(S'echo pwned'\niposix\nsystem\np0\n.")


@error("slrt", SLRTFormatError, r"not a valid pickle", issue=True)
def _ext_opcode_of_an_unregistered_code(tmp):
    safe_load_pickle(b"\x80\x02\x82\x01.")  # EXT1 1: the copyreg extension registry is empty


@error("slrt", UnsafePickleError, r"refusing global posix.system inside a tensor storage payload", issue=True)
def _malicious_global_inside_a_nested_legacy_payload(tmp):
    sentinel = _Marker()

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return (
                ("storage", _Reduce(os.system, ("true",)), "k0", "cpu", 1, None) if obj is sentinel else None
            )

    buf = io.BytesIO()
    for obj in (safe_pickle._LEGACY_MAGIC, safe_pickle._LEGACY_PROTOCOL, {"little_endian": True}):
        pickle.dump(obj, buf, protocol=2)
    P(buf, protocol=2).dump(sentinel)
    storage = _Reduce(torch.storage._load_from_bytes, (buf.getvalue(),))
    safe_load_pickle(
        pickle.dumps(_Reduce(torch._utils._rebuild_tensor_v2, (storage, 0, (1,), (1,))), protocol=3)
    )


@error("slrt", SLRTFormatError, r"is a zip archive \(torch.save's default format\), not a pickle", issue=True)
def _zip_format_torch_save_file(tmp):
    path = tmp / "features.pt"
    torch.save([{"name": "x", "sign": torch.zeros(2)}], path)
    safe_load_pickle(path)


@error("slrt", UnsafePickleError, r"persistent ids are not allowed at the top level")
def _persistent_id_at_the_top_level(tmp):
    safe_load_pickle(b"\x80\x02X\x01\x00\x00\x00aQ.")  # BINPERSID


@error("slrt", SLRTFormatError, r"tensors with backward hooks are not supported")
def _tensor_with_backward_hooks(tmp):
    storage = _Reduce(torch.storage._load_from_bytes, (_legacy_storage(np.zeros(2, "<f4")),))
    hooks = OrderedDict(a=1)
    safe_load_pickle(
        pickle.dumps(_Reduce(torch._utils._rebuild_tensor_v2, (storage, 0, (2,), (1,), False, hooks)))
    )


def _benign_protocol_case(protocol):
    def run(tmp):
        expected = torch.arange(6.0).reshape(2, 3)
        path = _features_file(tmp, expected, protocol=protocol)
        got = read_slrt_features(path)
        np.testing.assert_array_equal(got["x"], expected.numpy())
        streamed = {n: a for n, a, _ in iter_slrt_features(path)}
        np.testing.assert_array_equal(streamed["x"], expected.numpy())

    return run


for _protocol in range(pickle.HIGHEST_PROTOCOL + 1):
    _add(
        f"benign-tensor-pickle-protocol-{_protocol}",
        "slrt",
        _benign_protocol_case(_protocol),
        "ok",
        issue=_protocol < 3,
    )


@error("slrt", SLRTFormatError, r"legacy torch.save file, not a pickle")
def _whole_legacy_torch_save_file(tmp):
    buf = io.BytesIO()
    torch.save(torch.zeros(3), buf, _use_new_zipfile_serialization=False, pickle_protocol=2)
    safe_load_pickle(buf.getvalue())


@error("slrt", SLRTFormatError, r"is not a gzip file")
def _annotations_not_gzip(tmp):
    (tmp / "corpus.dev").write_bytes(pickle.dumps([_record()]))
    read_slrt_annotations(tmp / "corpus.dev")


@error("slrt", SLRTFormatError, r"truncated|corrupt gzip")
def _truncated_gzip(tmp):
    path = _annotations_file(tmp, [_record()] * 50)
    path.write_bytes(path.read_bytes()[:-40])
    read_slrt_annotations(path)


@error("slrt", SLRTFormatError, r"truncated|not a valid")
def _empty_file(tmp):
    (tmp / "corpus.dev").write_bytes(gzip.compress(b""))
    read_slrt_annotations(tmp / "corpus.dev")


@error("slrt", FileNotFoundError, r"SLRT file not found")
def _missing_annotation_file(tmp):
    read_slrt_annotations(tmp / "nope.dev")


@error("slrt", FileNotFoundError, r"not found")
def _a_folder_given_as_the_file(tmp):
    read_slrt_features(tmp)


@error("slrt", SLRTFormatError, r"expected a list of dicts|expected a list")
def _annotations_not_a_list(tmp):
    read_slrt_annotations(_annotations_file(tmp, {"name": "x"}))


@error("slrt", SLRTFormatError, r"misses keys \['signer', 'text'\]")
def _record_missing_keys(tmp):
    read_slrt_annotations(_annotations_file(tmp, [{"name": "x", "gloss": "G", "num_frames": 2}]))


@error("slrt", SLRTFormatError, r"num_frames=-3 is not a non-negative int")
def _negative_num_frames(tmp):
    read_slrt_annotations(_annotations_file(tmp, [_record(num_frames=-3)]))


@error("slrt", SLRTFormatError, r"num_frames is bool")
def _bool_num_frames(tmp):
    read_slrt_annotations(_annotations_file(tmp, [_record(num_frames=True)]))


@error("slrt", SLRTFormatError, r"num_frames=<int of \d+ bits>")
def _huge_negative_num_frames_printed_short(tmp):
    read_slrt_annotations(_annotations_file(tmp, [_record(num_frames=-(10**5000))]))


@error("slrt", SLRTFormatError, r"non-finite|NaN")
def _non_finite_features(tmp):
    read_slrt_features(_features_file(tmp, torch.tensor([[1.0, float("nan")]])))


@error("slrt", SLRTFormatError, r"must be a 2-D tensor")
def _one_dimensional_features(tmp):
    read_slrt_features(_features_file(tmp, torch.ones(3)))


@error("slrt", SLRTFormatError, r"duplicate|twice|more than once")
def _duplicate_feature_names(tmp):
    path = tmp / "features.pkl"
    path.write_bytes(gzip.compress(pickle.dumps([{"name": "x", "sign": torch.ones(2, 3)}] * 2, protocol=3)))
    read_slrt_features(path)


@error("slrt", SLRTFormatError, r"non-latin1 character")
def _codecs_encode_of_a_non_latin1_string(tmp):
    safe_load_pickle(pickle.dumps(_Reduce(__import__("_codecs").encode, ("\u20ac", "latin1")), protocol=2))


# ============================================================================================ .skels


def _cut_line(tmp, keep_frames):
    folder = _skels_corpus(tmp, frames=10)
    skels = (folder / "dev.skels").read_text().splitlines()
    values = skels[0].split(" ")
    skels[0] = " ".join(values[: 151 * keep_frames])
    (folder / "dev.skels").write_text("\n".join(skels) + "\n")
    return read_skels(folder, "dev")


@error("skels", SkelsFormatError, r"line 1.*(counter|frame)", issue=True)
def _line_cut_at_a_frame_boundary(tmp):
    _cut_line(tmp, 6)  # used to read as 6 of 10 frames


@error("skels", ValueError, r"line break", issue=True)
def _writer_refuses_carriage_return_in_text(tmp):
    write_skels([{"name": "a", "text": "am\rtag", "gloss": "G", "poses": np.zeros((2, 50, 3))}], tmp, "dev")


@error("skels", ValueError, r"line break")
def _writer_refuses_unicode_line_separator_in_gloss(tmp):
    write_skels([{"name": "a", "text": "t", "gloss": "A\u2028B", "poses": np.zeros((2, 50, 3))}], tmp, "dev")


@error("skels", SkelsFormatError, r"multiple of 151|151 values")
def _line_not_a_multiple_of_151_values(tmp):
    folder = _skels_corpus(tmp)
    lines = (folder / "dev.skels").read_text().splitlines()
    lines[1] += " 0.5"
    (folder / "dev.skels").write_text("\n".join(lines) + "\n")
    read_skels(folder, "dev")


@error("skels", SkelsFormatError, r"not finite|non-finite|nan")
def _nan_coordinate(tmp):
    folder = _skels_corpus(tmp)
    values = (folder / "dev.skels").read_text().split(" ")
    values[1] = "nan"
    (folder / "dev.skels").write_text(" ".join(values))
    read_skels(folder, "dev")


@error("skels", SkelsFormatError, r"float32|overflow|not finite")
def _coordinate_overflowing_float32(tmp):
    folder = _skels_corpus(tmp)
    values = (folder / "dev.skels").read_text().split(" ")
    values[0] = "1e39"
    (folder / "dev.skels").write_text(" ".join(values))
    read_skels(folder, "dev")


@error("skels", SkelsFormatError, r"not line-aligned")
def _files_not_line_aligned(tmp):
    folder = _skels_corpus(tmp)
    (folder / "dev.text").write_text("only one line\n")
    read_skels(folder, "dev")


@error("skels", SkelsFormatError, r"UTF-8")
def _non_utf8_text_file(tmp):
    folder = _skels_corpus(tmp)
    (folder / "dev.gloss").write_bytes(b"G\xff\nH\n")
    read_skels(folder, "dev")


@error("skels", FileNotFoundError, r"dev.files")
def _missing_files_file(tmp):
    folder = _skels_corpus(tmp)
    (folder / "dev.files").unlink()
    read_skels(folder, "dev")


@error("skels", ValueError, r"poses must be \(T>0, 50, 3\)")
def _writer_refuses_49_joints(tmp):
    write_skels([{"name": "a", "text": "t", "gloss": "G", "poses": np.zeros((2, 49, 3))}], tmp, "dev")


@error("skels", ValueError, r"non-finite")
def _writer_refuses_nan_poses(tmp):
    write_skels([{"name": "a", "text": "t", "gloss": "G", "poses": np.full((2, 50, 3), np.nan)}], tmp, "dev")


@error("skels", ValueError, r"misses keys \['gloss'\]")
def _writer_refuses_a_missing_key(tmp):
    write_skels([{"name": "a", "text": "t", "poses": np.zeros((2, 50, 3))}], tmp, "dev")


@result("skels")
def _failed_write_keeps_the_previous_corpus(tmp):
    folder = _skels_corpus(tmp)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError):
        write_skels(
            [{"name": "a", "text": "t", "gloss": "G", "poses": np.zeros((2, 50, 3))}, {"name": "b"}],
            folder,
            "dev",
        )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# ============================================================================================ .pose


for _fps in (0.0, float("nan"), -25.0):

    def _reader_fps(tmp, fps=_fps):
        path = _pose_file(tmp)
        _set_pose_fps(path, fps)
        read_pose_file(path)

    def _writer_fps(tmp, fps=_fps):
        try:
            write_pose_file(tmp / "a.pose", _poses(), fps=fps)
        finally:
            assert not (tmp / "a.pose").exists()

    def _gif_fps(tmp, fps=_fps):
        pytest.importorskip("PIL")
        render_pose_gif(tmp / "a.gif", _poses(), fps=fps)

    _add(
        f"reader-fps-{_fps}",
        "pose",
        _reader_fps,
        "error",
        PoseFileError,
        r"fps must be a finite number above 0",
        True,
    )
    _add(
        f"writer-fps-{_fps}",
        "pose",
        _writer_fps,
        "error",
        ValueError,
        r"fps must be a finite number above 0",
        True,
    )
    _add(
        f"render_pose_gif-fps-{_fps}",
        "pose",
        _gif_fps,
        "error",
        ValueError,
        r"fps must be a finite number above 0",
        True,
    )


@error("pose", ValueError, r"fps must be a number, got str")
def _writer_fps_as_a_string(tmp):
    write_pose_file(tmp / "a.pose", _poses(), fps="25")


@error("pose", PoseFileError, r"header claims 4 frames.*truncated")
def _truncated_body(tmp):
    path = _pose_file(tmp)
    path.write_bytes(path.read_bytes()[:-100])
    read_pose_file(path)


@error("pose", PoseFileError, r"bytes beyond")
def _bytes_beyond_the_body(tmp):
    path = _pose_file(tmp)
    path.write_bytes(path.read_bytes() + b"\0" * 8)
    read_pose_file(path)


@error("pose", PoseFileError, r"header claims 4000000 frames")
def _header_claiming_4_million_frames(tmp):
    path = _pose_file(tmp)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, len(raw) - 4 * 50 * 16 - 6, 4_000_000)
    path.write_bytes(bytes(raw))
    read_pose_file(path)


@error("pose", PoseFileError, r"unreadable pose-format header")
def _random_bytes(tmp):
    (tmp / "a.pose").write_bytes(os.urandom(0) + b"\x00\x01garbage" * 3)
    read_pose_file(tmp / "a.pose")


@error("pose", PoseFileError, r"unreadable pose-format header")
def _empty_pose_file(tmp):
    (tmp / "a.pose").write_bytes(b"")
    read_pose_file(tmp / "a.pose")


@error("pose", PoseFileError, r"unreadable pose-format header|components")
def _header_cut_inside_a_component(tmp):
    path = _pose_file(tmp)
    path.write_bytes(path.read_bytes()[:30])
    read_pose_file(path)


@error("pose", PoseFileError, r"describes 0 components")
def _header_without_components(tmp):
    (tmp / "a.pose").write_bytes(struct.pack("<fHHHH", 0.2, 1, 1, 1, 0) + struct.pack("<fIH", 25.0, 0, 1))
    read_pose_file(tmp / "a.pose")


@error("pose", PoseFileError, r"non-finite values in valid points")
def _nan_in_a_valid_point(tmp):
    path = _pose_file(tmp)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<f", raw, len(raw) - 4 * 50 * 16, float("nan"))
    path.write_bytes(bytes(raw))
    read_pose_file(path)


@error("pose", PoseFileError, r"holds 2 people; pass person=")
def _two_people_without_a_choice(tmp):
    from pose_format import Pose
    from pose_format.numpy.pose_body import NumPyPoseBody

    from signbridge.data.pose_files import skeleton50_header

    data = np.ones((3, 2, 50, 3), np.float32)
    with open(tmp / "a.pose", "wb") as f:
        Pose(skeleton50_header(), NumPyPoseBody(25, data, np.ones((3, 2, 50), np.float32))).write(f)
    read_pose_file(tmp / "a.pose")


@error("pose", FileNotFoundError, r"\.pose file not found")
def _missing_pose_file(tmp):
    read_pose_file(tmp / "nope.pose")


@error("pose", ValueError, r"data must be|\(T, J, K\)|shape")
def _writer_refuses_2d_data(tmp):
    write_pose_file(tmp / "a.pose", np.zeros((4, 50)), fps=25)


@result("pose")
def _fractional_fps_round_trips(tmp):
    write_pose_file(tmp / "a.pose", _poses(), fps=29.97)
    assert abs(read_pose_file(tmp / "a.pose").fps - 29.97) < 1e-5


# ============================================================================================ index.csv / pose_files

BUILT_IN = ("num_frames", "fps", "poses", "mask")

for _column in BUILT_IN:
    _add(
        f"label-column-named-{_column}",
        "index",
        lambda tmp, c=_column: _load_pose_folder(_pose_folder(tmp, f"path,{c}\ntrain/a.pose,x\n")),
        "error",
        PoseIndexError,
        rf"label column\(s\) \['{_column}'\] have the name of a column filled from the .pose file",
        _column == "fps",
    )


@error("index", PoseIndexError, r"appear more than once")
def _repeated_column(tmp):
    read_pose_index(_write_index(tmp, "path,a,a\nx.pose,1,2\n") / "index.csv")


@error("index", PoseIndexError, r"needs a 'path' column")
def _no_path_column(tmp):
    read_pose_index(_write_index(tmp, "file,a\nx.pose,1\n") / "index.csv")


@error("index", PoseIndexError, r"lists no files")
def _header_only(tmp):
    read_pose_index(_write_index(tmp, "path,a\n") / "index.csv")


@error("index", PoseIndexError, r"column 2 of the header has no name")
def _nameless_column(tmp):
    read_pose_index(_write_index(tmp, "path,,a\nx.pose,1,2\n") / "index.csv")


@error("index", PoseIndexError, r"line 3: 3 fields where the header has 2")
def _row_with_an_extra_field(tmp):
    read_pose_index(_write_index(tmp, "path,a\nx.pose,1\ny.pose,2,3\n") / "index.csv")


@error("index", PoseIndexError, r"not UTF-8 text")
def _non_utf8_index(tmp):
    (tmp / "index.csv").write_bytes(b"path,a\nx.pose,\xe9\n")
    read_pose_index(tmp / "index.csv")


@error("index", PoseIndexError, r"not valid CSV")
def _field_over_the_csv_limit(tmp):
    read_pose_index(_write_index(tmp, "path,a\nx.pose," + "y" * 200_000 + "\n") / "index.csv")


@error("index", ValueError, r"leaves the folder")
def _path_leaving_the_folder(tmp):
    _load_pose_folder(_pose_folder(tmp, "path,a\n../../etc/passwd,1\n"))


@error("index", ValueError, r"must be relative")
def _absolute_path(tmp):
    _load_pose_folder(_pose_folder(tmp, f"path,a\n{tmp / 'train' / 'a.pose'},1\n"))


@error("index", FileNotFoundError, r"line 2: 'train/missing.pose' not found")
def _listed_file_missing(tmp):
    _load_pose_folder(_pose_folder(tmp, "path,a\ntrain/missing.pose,1\n"))


@error("index", FileNotFoundError, r"index CSV .* not found")
def _no_index_file(tmp):
    (tmp / "train").mkdir()
    _load_pose_folder(tmp)


@result("index")
def _labels_and_built_in_columns_load(tmp):
    ds = _load_pose_folder(_pose_folder(tmp, "path,words\ntrain/a.pose,am tag\n"))
    row = ds["train"][0]
    assert row["words"] == "am tag" and row["fps"] == 25.0 and row["num_frames"] == 4


# ============================================================================================ builders


@error("builders", ValueError, r"unknown sign dataset 'phoenix15'")
def _unknown_dataset(tmp):
    from signbridge.data.builders import load_sign_dataset

    load_sign_dataset("phoenix15", data_dir=tmp)


@error("builders", ValueError, r"phoenix14t: data_dir is required")
def _real_corpus_without_data_dir(tmp):
    from signbridge.data.builders import load_sign_dataset

    load_sign_dataset("phoenix14t")


@error("builders", FileNotFoundError, r"data_dir .* is not a folder")
def _data_dir_missing(tmp):
    from signbridge.data.builders import load_sign_dataset

    load_sign_dataset("phoenix14t_skels", data_dir=tmp / "nope", cache_dir=tmp / "cache")


@error("builders", ValueError, r"unknown options \['feature_size'\]")
def _unknown_option(tmp):
    from signbridge.data.builders import load_sign_dataset

    load_sign_dataset("phoenix14t", data_dir=tmp, feature_size=3)


@error("builders", ValueError, r"takes no data_dir")
def _synthetic_with_a_data_dir(tmp):
    from signbridge.data.builders import load_sign_dataset

    load_sign_dataset("synthetic", data_dir=tmp)


@result("builders", issue=True)
def _file_rewritten_with_same_size_and_mtime_is_not_served_stale(tmp):
    from signbridge.data.builders import load_sign_dataset

    for split in ("train", "dev", "test"):
        write_skels(
            [{"name": "a", "text": "alt .", "gloss": "G", "poses": np.zeros((2, 50, 3))}], tmp / "d", split
        )
    assert load_sign_dataset("phoenix14t_skels", data_dir=tmp / "d", cache_dir=tmp / "c")["dev"]["text"] == [
        "alt ."
    ]
    text = tmp / "d" / "dev.text"
    st = text.stat()
    text.write_text("neu .\n")
    os.utime(text, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load_sign_dataset("phoenix14t_skels", data_dir=tmp / "d", cache_dir=tmp / "c")["dev"]["text"] == [
        "neu ."
    ]


# ============================================================================================ writers (atomic)


class _FullDisk:
    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[:5])
        raise OSError(28, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@contextlib.contextmanager
def _full_disk():
    from signbridge.utils import files

    real = files.os.fdopen
    files.os.fdopen = lambda *a, **k: _FullDisk(real(*a, **k))
    try:
        yield
    finally:
        files.os.fdopen = real


def _full_disk_case(write):
    def run(tmp):
        write(tmp, 2)
        before = {p.name: p.read_bytes() for p in tmp.iterdir()}
        with _full_disk(), pytest.raises(OSError, match="No space left"):
            write(tmp, 3)
        assert {p.name: p.read_bytes() for p in tmp.iterdir()} == before  # old files whole, no temporary file

    return run


_WRITERS = {
    "write_skels": lambda tmp, n: _skels_corpus(tmp, n=n),
    "write_pose_file": lambda tmp, n: write_pose_file(tmp / "a.pose", _poses(n + 1), fps=25),
    "write_slrt_annotations": lambda tmp, n: __import__(
        "signbridge.data.slrt", fromlist=["x"]
    ).write_slrt_annotations([_record(name=f"x{i}") for i in range(n)], tmp / "corpus.dev"),
}
for _name, _write in _WRITERS.items():
    _add(
        f"full-disk-during-{_name}-keeps-the-old-files", "writers", _full_disk_case(_write), "ok", issue=True
    )


@error("writers", IsADirectoryError, r"is a folder, not a file")
def _atomic_write_to_a_folder(tmp):
    from signbridge.utils.files import atomic_write

    with atomic_write(tmp):
        pass


@error("writers", ValueError, r"mode must be 'w', 'wt' or 'wb'")
def _atomic_write_in_append_mode(tmp):
    from signbridge.utils.files import atomic_write

    with atomic_write(tmp / "x", "a"):
        pass


# ============================================================================================ models

_CVSLT_CONFIG = {
    "vocab_size": 40,
    "d_model": 16,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 32,
    "decoder_ffn_dim": 32,
    "max_position_embeddings": 48,
    "feature_dim": 12,
    "visual_hidden_size": 8,
    "visual_ffn_dim": 16,
    "max_sign_positions": 30,
    "latent_dim": 4,
    "tgt_lang_code_id": 5,
    "dropout": 0.0,
}


def _cvslt(**overrides):
    from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration

    torch.manual_seed(0)
    return CVSLTForConditionalGeneration(CVSLTConfig(**{**_CVSLT_CONFIG, **overrides}))


def _cvslt_inputs():
    gen = torch.Generator().manual_seed(1)
    return {
        "input_features": torch.randn(2, 5, 12, generator=gen),
        "attention_mask": torch.ones(2, 5, dtype=torch.long),
        "labels": torch.tensor([[7, 8, 2, 5], [9, 2, 5, -100]]),
    }


def _cvslt_case(mutate):
    def run(tmp):
        inputs = _cvslt_inputs()
        mutate(inputs)
        _cvslt()(**inputs)

    return run


_CVSLT_BAD = {
    "empty-batch": (
        lambda d: d.update(
            input_features=torch.randn(0, 5, 12),
            attention_mask=torch.ones(0, 5),
            labels=torch.ones(0, 4, dtype=torch.long),
        ),
        r"empty batch",
        True,
    ),
    "labels-longer-than-the-positions": (
        lambda d: d.update(labels=torch.full((2, 49), 7)),
        r"`labels` of 49 tokens are longer than the decoder's 48 positions",
        True,
    ),
    "features-of-1e38": (
        lambda d: d["input_features"].__setitem__((1, 2, 3), 1e38),
        r"values up to 1e\+38 in magnitude.*max_input_magnitude",
        True,
    ),
    "wrong-feature-size": (
        lambda d: d.update(input_features=torch.randn(2, 5, 11)),
        r"11 values per step, expected 12",
        False,
    ),
    "nan-feature": (lambda d: d["input_features"].__setitem__((0, 1, 2), float("nan")), r"NaN or Inf", False),
    "integer-features": (
        lambda d: d.update(input_features=d["input_features"].long()),
        r"floating-point tensor",
        False,
    ),
    "label-outside-the-vocabulary": (
        lambda d: d["labels"].__setitem__((0, 0), 40),
        r"outside the vocabulary",
        False,
    ),
    "float-labels": (lambda d: d.update(labels=d["labels"].float()), r"integer tensor", False),
    "mask-of-another-shape": (
        lambda d: d.update(attention_mask=torch.ones(2, 4)),
        r"shape \(2, 4\), expected \(2, 5\)",
        False,
    ),
    "all-zero-mask-row": (lambda d: d["attention_mask"].__setitem__(1, 0), r"all zero", False),
    "labels-rows-differ-from-batch": (
        lambda d: d.update(labels=d["labels"][:1]),
        r"`labels` has 1 rows, the sign input has batch size 2",
        False,
    ),
    "too-many-sign-steps": (
        lambda d: d.update(input_features=torch.randn(2, 31, 12), attention_mask=torch.ones(2, 31)),
        r"31 steps is longer than the model supports",
        False,
    ),
}
for _name, (_mutate, _match, _issue) in _CVSLT_BAD.items():
    _add(_name, "models-cvslt", _cvslt_case(_mutate), "error", ValueError, _match, _issue)


@result("models-cvslt", issue=True)
def _float64_features_are_cast(tmp):
    model = _cvslt().eval()
    inputs = _cvslt_inputs()
    expected = model(**inputs).loss
    torch.testing.assert_close(
        model(**dict(inputs, input_features=inputs["input_features"].double())).loss, expected
    )


for _field, _value, _kind in (
    ("latent_dim", "4", "an integer"),
    ("sd_weight", "3", "a number"),
    ("max_sign_positions", True, "an integer"),
):
    _add(
        f"config-{_field}-{_value!r}",
        "models-cvslt",
        lambda tmp, f=_field, v=_value: _cvslt(**{f: v}),
        "error",
        ValueError,
        rf"CVSLTConfig\.{_field} must be {_kind}, got {re.escape(repr(_value))}",
        _field == "sd_weight",
    )


def _saved_model_folder(tmp, model_type):
    folder = tmp / model_type
    _cvslt().save_pretrained(folder)
    if model_type != "cvslt":
        config = json.loads((folder / "config.json").read_text())
        config["model_type"] = model_type
        (folder / "config.json").write_text(json.dumps(config))
    return folder


@error("models-loading", ValueError, r"nar_slp|NARSignProducer|another model type|model type", issue=True)
def _nar_slp_from_a_cvslt_folder(tmp):
    from signbridge.models.nar_slp import NARSignProducer

    NARSignProducer.from_pretrained(_saved_model_folder(tmp, "cvslt"))


@error(
    "models-loading",
    ValueError,
    r"weights missing from the checkpoint.*visual_head\.batch_norm\.bias",
    issue=True,
)
def _cvslt_folder_missing_a_weight(tmp):
    from safetensors.torch import load_file, save_file

    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    folder = _saved_model_folder(tmp, "cvslt")
    weights = load_file(folder / "model.safetensors")
    weights.pop(sorted(k for k in weights if "visual" in k)[0])
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    CVSLTForConditionalGeneration.from_pretrained(folder)


@error("models-loading", (OSError, ValueError), r"nope|not.*(found|folder|valid)|Repo id|does not appear")
def _from_pretrained_of_a_missing_folder(tmp):
    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    CVSLTForConditionalGeneration.from_pretrained(str(tmp / "nope"), local_files_only=True)


# NARSignProducer: a tiny text encoder + pose VAE + decoder


def _nar():
    from transformers import BertConfig

    from signbridge.models.nar_slp import NARSignProducer, NARSignProducerConfig
    from signbridge.models.pose_vae import PoseVAEConfig

    rng = np.random.default_rng(0)
    low = rng.uniform(-1.0, 0.0, size=(5, 3))
    stats = {"minimum": low.tolist(), "maximum": (low + 1.0).tolist()}
    text = BertConfig(
        vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24,
        max_position_embeddings=16,
    )  # fmt: skip
    vae = PoseVAEConfig(num_joints=5, joint_dim=3, hidden_sizes=[16, 12], latent_dim=6, normalization=stats)
    torch.manual_seed(0)
    return NARSignProducer(
        NARSignProducerConfig(
            text_encoder=text,
            pose_vae=vae,
            d_model=16,
            decoder_layers=1,
            decoder_attention_heads=2,
            decoder_ffn_dim=24,
            max_frames=12,
            length_regulator_hidden_size=8,
            special_token_ids=[0, 1, 2],
        )  # fmt: skip
    )


def _nar_inputs():
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 40, (2, 6), generator=gen)
    ids[:, 0] = 1
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 5:] = 0
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "pose_labels": torch.rand(2, 9, 5, 3, generator=gen),
        "pose_mask": mask,
    }


def _nar_case(mutate):
    def run(tmp):
        inputs = _nar_inputs()
        mutate(inputs)
        _nar()(**inputs)

    return run


def _set_mask(d, value):
    d["pose_mask"] = d["pose_mask"].float()
    d["pose_mask"][1, 0] = value


def _set_label(d, value):
    d["pose_labels"] = d["pose_labels"].clone()
    d["pose_labels"][0, 0, 0, 0] = value


_NAR_BAD = {
    "pose-mask-of-2": (lambda d: _set_mask(d, 2), r"pose_mask must hold only 0 and 1.*\[2.0\]", True),
    "pose-mask-of-0.5": (lambda d: _set_mask(d, 0.5), r"pose_mask must hold only 0 and 1", False),
    "pose-labels-of-1e38": (lambda d: _set_label(d, 1e38), r"max_label_magnitude=10000", False),
    "nan-pose-label": (lambda d: _set_label(d, float("nan")), r"NaN|non-finite|finite", False),
    "empty-text-batch": (lambda d: d.update(input_ids=d["input_ids"][:0]), r"empty text", False),
    "pose-labels-of-another-batch": (
        lambda d: d.update(pose_labels=d["pose_labels"][:1], pose_mask=d["pose_mask"][:1]),
        r"shape \(batch=2, T, J, K\), got \(1,",
        False,
    ),
}
for _name, (_mutate, _match, _issue) in _NAR_BAD.items():
    _add(_name, "models-nar", _nar_case(_mutate), "error", ValueError, _match, _issue)


@result("models-nar", issue=True)
def _float64_pose_labels_give_the_float32_loss(tmp):
    model = _nar().eval()
    inputs = _nar_inputs()
    expected = model(**inputs).loss
    torch.testing.assert_close(
        model(**dict(inputs, pose_labels=inputs["pose_labels"].double())).loss, expected
    )


@error("models-nar", ValueError, r"NARSignProducerConfig\.d_model must be an integer, got '16'", issue=True)
def _config_string_where_a_number_belongs(tmp):
    from signbridge.models.nar_slp import NARSignProducerConfig

    NARSignProducerConfig(d_model="16")


# ============================================================================================ metrics


@error("metrics", ValueError, r"pred_lengths must be 1-D", issue=True)
def _duration_accuracy_of_2d_input(tmp):
    from signbridge.metrics import duration_accuracy

    duration_accuracy(np.ones((2, 3)), np.ones((2, 3)))


@error("metrics", ValueError, r"must have the same length, got 2 and 1")
def _duration_accuracy_of_different_lengths(tmp):
    from signbridge.metrics import duration_accuracy

    duration_accuracy([10, 20], [10])


@error("metrics", ValueError, r"pred_lengths contains negative lengths \(min -5.0\)")
def _duration_accuracy_of_a_negative_length(tmp):
    from signbridge.metrics import duration_accuracy

    duration_accuracy([-5], [10])


@error("metrics", ValueError, r"fps must be positive, got 0")
def _duration_accuracy_at_zero_fps(tmp):
    from signbridge.metrics import duration_accuracy

    duration_accuracy([5], [10], fps=0)


@result("metrics")
def _duration_accuracy_strict_one_second(tmp):
    from signbridge.metrics import duration_accuracy

    assert duration_accuracy([24, 25, 0], [0, 0, 0]) == pytest.approx(2 / 3)


@result("metrics", kind="warns", issue=True, exc=UserWarning, match=r"5 samples.*10 feature dimensions")
def _frechet_with_fewer_samples_than_dims(tmp):
    from signbridge.metrics.frechet import frechet_distance

    x = np.random.default_rng(0).normal(size=(5, 10))
    frechet_distance(x, x + 1)


@result("metrics", kind="warns", issue=True, exc=UserWarning, match=r"too few windows|fewer")
def _fgd_with_fewer_windows_than_features(tmp):
    from signbridge.metrics.fgd import FGD
    from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel

    torch.manual_seed(0)
    config = PoseAutoencoderConfig(
        num_joints=5, joint_dim=3, window_size=8, d_model=16, encoder_layers=1, decoder_layers=1,
        num_attention_heads=2, ffn_dim=32, latent_dim=6, dropout=0.0,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=(16, 5, 3)).astype(np.float32) for _ in range(2)]  # 4 windows, 6 features
    FGD(model=PoseAutoencoderModel(config).eval()).compute(predictions=sequences, references=sequences)


@error("metrics", ValueError, r"at least 2 samples")
def _frechet_of_one_sample(tmp):
    from signbridge.metrics.frechet import frechet_distance

    frechet_distance(np.ones((1, 3)), np.ones((4, 3)))


@error("metrics", ValueError, r"NaN or infinite")
def _frechet_of_nan_features(tmp):
    from signbridge.metrics.frechet import frechet_distance

    frechet_distance(np.full((4, 2), np.nan), np.ones((4, 2)))


@error("metrics", ValueError, r"2-D array")
def _frechet_of_3d_features(tmp):
    from signbridge.metrics.frechet import frechet_distance

    frechet_distance(np.ones((4, 2, 2)), np.ones((4, 2)))


@error("metrics", ValueError, r"same length, got 2 hypotheses and 1 references")
def _translation_scores_of_unequal_lists(tmp):
    from signbridge.metrics import translation_scores

    translation_scores(["a b", "c"], ["a b"])


@error("metrics", ValueError, r"must be a list of strings, got a single string")
def _translation_scores_of_a_string(tmp):
    from signbridge.metrics import translation_scores

    translation_scores("a b", "a b")


@error("metrics", ValueError, r"hypotheses\[1\] must be a str, got int")
def _translation_scores_of_a_number(tmp):
    from signbridge.metrics import translation_scores

    translation_scores(["a", 3], ["a", "b"])


@error("metrics", ValueError, r"non-empty lists")
def _translation_scores_of_empty_lists(tmp):
    from signbridge.metrics import translation_scores

    translation_scores([], [])


@error("metrics", ValueError, r"hyp has no frames")
def _dtw_of_an_empty_sequence(tmp):
    from signbridge.metrics import dtw_distance

    dtw_distance(np.zeros((0, 50, 3)), np.zeros((3, 50, 3)))


@error("metrics", ValueError, r"same per-frame shape, got \(50, 3\) and \(49, 3\)")
def _dtw_of_different_skeletons(tmp):
    from signbridge.metrics import dtw_distance

    dtw_distance(np.zeros((2, 50, 3)), np.zeros((3, 49, 3)))


@result("metrics")
def _dtw_of_identical_sequences_is_zero(tmp):
    from signbridge.metrics import dtw_distance

    assert dtw_distance(_poses(), _poses()) == 0.0


# ============================================================================================ CLI and scripts


def _cli(argv):
    from signbridge import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code
    return code, err.getvalue()


def _assert_exit2(code, err, prog, *fragments):
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert re.match(rf"{re.escape(prog)}( \w+)?: error: ", last), err  # argparse names the subcommand too
    for fragment in fragments:
        assert re.search(fragment, last), (fragment, last)


def _cli_case(argv, *fragments, setup=None):
    def run(tmp):
        (tmp / "afile").write_text("x")
        if setup:
            setup(tmp)
        code, err = _cli([a.replace("{tmp}", str(tmp)) for a in argv])
        _assert_exit2(code, err, "signbridge", *fragments)

    return run


def _config_only_folder(tmp, model_type, name="model"):
    (tmp / name).mkdir()
    (tmp / name / "config.json").write_text(json.dumps({"model_type": model_type}))


_CLI_CASES = {
    "no-command": ([], [r"no command given"], None, True),
    "corpus-out-dir-is-a-file": (
        ["corpus", "{tmp}/afile"],
        [r"OUT_DIR .*afile is a file, not a folder"],
        None,
        True,
    ),
    "corpus-out-dir-under-a-file": (["corpus", "{tmp}/afile/sub"], [r"is a file, not a folder"], None, False),
    "corpus-unknown-format": (
        ["corpus", "{tmp}/out", "--format", "csv"],
        [r"invalid choice: 'csv'"],
        None,
        False,
    ),
    "produce-empty-text": (
        ["produce", "  ", "--model", "{tmp}", "--out", "{tmp}/x.pose"],
        [r"the text is empty"],
        None,
        False,
    ),
    "produce-missing-model-folder": (
        ["produce", "am tag", "--model", "{tmp}/nope", "--out", "{tmp}/x.pose"],
        [r"--model .*nope: no such folder"],
        None,
        True,
    ),
    "produce-model-is-a-file": (
        ["produce", "am tag", "--model", "{tmp}/afile", "--out", "{tmp}/x.pose"],
        [r"--model .*afile is a file"],
        None,
        False,
    ),
    "produce-folder-without-config": (
        ["produce", "am tag", "--model", "{tmp}", "--out", "{tmp}/x.pose"],
        [r"has no config.json"],
        None,
        False,
    ),
    "produce-a-cvslt-folder": (
        ["produce", "am tag", "--model", "{tmp}/model", "--out", "{tmp}/x.pose"],
        [r"holds a 'cvslt' model, not a NARSignProducer"],
        lambda t: _config_only_folder(t, "cvslt"),
        True,
    ),
    "produce-out-is-a-folder": (
        ["produce", "am tag", "--model", "{tmp}/model", "--out", "{tmp}"],
        [r"--out .* is a folder"],
        lambda t: _config_only_folder(t, "nar_slp"),
        True,
    ),
    "produce-out-under-a-file": (
        ["produce", "am tag", "--model", "{tmp}/model", "--out", "{tmp}/afile/x.pose"],
        [r"afile is a file, not a folder"],
        lambda t: _config_only_folder(t, "nar_slp"),
        True,
    ),
    "produce-gif-under-a-file": (
        [
            "produce",
            "am tag",
            "--model",
            "{tmp}/model",
            "--out",
            "{tmp}/x.pose",
            "--gif",
            "{tmp}/afile/x.gif",
        ],
        [r"--gif"],
        lambda t: _config_only_folder(t, "nar_slp"),
        False,
    ),
    "demo-zero-workers": (
        ["demo", "--quick", "--workers", "0", "--output-dir", "{tmp}/demo"],
        [r"--workers must be at least 1, got 0"],
        None,
        False,
    ),
    "demo-output-dir-is-a-file": (
        ["demo", "--quick", "--output-dir", "{tmp}/afile"],
        [r"--output-dir .* is a file"],
        None,
        False,
    ),
}
for _name, (_argv, _fragments, _setup, _issue) in _CLI_CASES.items():
    _add(_name, "cli", _cli_case(_argv, *_fragments, setup=_setup), "exit2", issue=_issue)


@result("cli", kind="exit2", issue=True)
def _unwritable_out(tmp):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc, where no one can create files")
    code, err = _cli(["corpus", "/proc/signbridge-matrix/out"])
    _assert_exit2(code, err, "signbridge", r"OUT_DIR /proc/signbridge-matrix/out: cannot write there")


def _script_case(module, argv, *fragments, setup=None):
    def run(tmp):
        import importlib

        from signbridge.utils.errors import run_entry

        (tmp / "afile").write_text("x")
        if setup:
            setup(tmp)
        main = importlib.import_module(module).main
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                run_entry(main, [a.replace("{tmp}", str(tmp)) for a in argv], prog=module.rsplit(".", 1)[1])
                code = 0
            except SystemExit as exit_:
                code = exit_.code
        _assert_exit2(code, err.getvalue(), module.rsplit(".", 1)[1], *fragments)
        assert not (tmp / "run" / "config.json").exists()  # nothing was trained

    return run


def _json_config(tmp, content):
    (tmp / "config.json").write_text(content)


_SCRIPT_CASES = {
    "pose_vae-output-dir-is-a-file": (
        "signbridge.training.pose_vae",
        ["--output_dir", "{tmp}/afile"],
        [r"--output_dir .*afile is a file, not a folder"],
        None,
        True,
    ),
    "pose_vae-unwritable-output": (
        "signbridge.training.pose_vae",
        ["--output_dir", "/proc/signbridge-matrix/run"],
        [r"cannot write there"],
        None,
        True,
    ),
    "pose_vae-missing-data-folder": (
        "signbridge.training.pose_vae",
        ["--dataset", "phoenix14t_skels", "--data_dir", "{tmp}/nope", "--output_dir", "{tmp}/run"],
        [r"data_dir .*nope is not a folder"],
        None,
        False,
    ),
    "pose_vae-bad-hidden-sizes": (
        "signbridge.training.pose_vae",
        ["--hidden_sizes", "256,abc", "--output_dir", "{tmp}/run"],
        [r"--hidden_sizes must be comma-separated integers"],
        None,
        True,
    ),
    "pose_vae-missing-config-file": (
        "signbridge.training.pose_vae",
        ["{tmp}/missing.json"],
        [r"config file .*missing.json does not exist"],
        None,
        False,
    ),
    "pose_vae-config-not-json": (
        "signbridge.training.pose_vae",
        ["{tmp}/config.json"],
        [r"is not valid JSON"],
        lambda t: _json_config(t, "{latent_dim: 3"),
        False,
    ),
    "pose_vae-config-a-list": (
        "signbridge.training.pose_vae",
        ["{tmp}/config.json"],
        [r"expected a JSON object, got list"],
        lambda t: _json_config(t, "[1, 2]"),
        False,
    ),
    "pose_vae-config-unknown-key": (
        "signbridge.training.pose_vae",
        ["{tmp}/config.json"],
        [r"unknown keys \['latent_size'\]"],
        lambda t: _json_config(t, '{"latent_size": 3}'),
        False,
    ),
    "pose_vae-unknown-flag": (
        "signbridge.training.pose_vae",
        ["--latent_size", "3"],
        [r"not used by the HfArgumentParser"],
        None,
        False,
    ),
    "nar_slp-without-a-pose-vae": (
        "signbridge.training.nar_slp",
        ["--output_dir", "{tmp}/run"],
        [r"pose_vae_name_or_path is required"],
        None,
        False,
    ),
    "nar_slp-pose-vae-of-another-type": (
        "signbridge.training.nar_slp",
        ["--pose_vae_name_or_path", "{tmp}/model", "--output_dir", "{tmp}/run"],
        [r"holds a 'cvslt' model, not a pose VAE"],
        lambda t: _config_only_folder(t, "cvslt"),
        True,
    ),
    "nar_slp-missing-pose-vae-folder": (
        "signbridge.training.nar_slp",
        ["--pose_vae_name_or_path", "{tmp}/nope", "--output_dir", "{tmp}/run"],
        [r"no such folder"],
        None,
        True,
    ),
    "cvslt-missing-model-folder": (
        "signbridge.training.cvslt",
        ["--model_name_or_path", "{tmp}/nope", "--output_dir", "{tmp}/run"],
        [r"--model_name_or_path .*nope: no such folder"],
        None,
        True,
    ),
    "cvslt-output-under-a-file": (
        "signbridge.training.cvslt",
        ["--output_dir", "{tmp}/afile/run"],
        [r"afile is a file, not a folder"],
        None,
        True,
    ),
    "pose_autoencoder-output-dir-is-a-file": (
        "signbridge.training.pose_autoencoder",
        ["--output_dir", "{tmp}/afile"],
        [r"is a file, not a folder"],
        None,
        False,
    ),
    "prune_mbart_vocab-missing-checkpoint": (
        "signbridge.training.cvslt_vocabulary",
        ["--mbart_name_or_path", "{tmp}/nope", "--output_dir", "{tmp}/run", "--text_file", "{tmp}/afile"],
        [r"--mbart_name_or_path .*nope: no such folder"],
        None,
        True,
    ),
    "evaluate_production-tae-of-another-type": (
        "signbridge.evaluation.production",
        ["--tae", "{tmp}/model"],
        [r"--tae .* holds a 'pose_vae' model, not a pose autoencoder"],
        lambda t: _config_only_folder(t, "pose_vae"),
        True,
    ),
    "evaluate_production-producer-a-cvslt-folder": (
        "signbridge.evaluation.production",
        ["--producer", "{tmp}/model", "--tae", "{tmp}/model"],
        [r"--producer .* holds a 'cvslt' model, not a NARSignProducer"],
        lambda t: _config_only_folder(t, "cvslt"),
        True,
    ),
    "evaluate_production-comparisons-json-alone": (
        "signbridge.evaluation.production",
        ["--comparisons_json", "{tmp}/c.json"],
        [r"--comparisons_json needs --comparisons"],
        None,
        False,
    ),
    "evaluate_production-output-json-a-folder": (
        "signbridge.evaluation.production",
        ["--tae", "{tmp}/model", "--output_json", "{tmp}"],
        [r"--output_json .* is a folder"],
        lambda t: _config_only_folder(t, "pose_autoencoder"),
        False,
    ),
}
for _name, (_module, _argv, _fragments, _setup, _issue) in _SCRIPT_CASES.items():
    _add(_name, "scripts", _script_case(_module, _argv, *_fragments, setup=_setup), "exit2", issue=_issue)


@result("scripts", kind="exit2")
def _a_bug_keeps_its_traceback(tmp):
    from signbridge.utils.errors import run_entry

    with pytest.raises(KeyError):
        run_entry(lambda argv: {}["x"], [])
    raise SystemExit(2)  # counted with the entry-point cases: the line between user error and bug holds


def _warm_up():
    """First calls import and initialise lazily (torch, transformers, scipy, datasets); done untraced, once, so that
    the traced cases measure the input's cost, not the imports'."""
    import datasets  # noqa: F401
    from scipy.spatial.distance import cdist  # noqa: F401

    from signbridge.metrics import dtw_distance, translation_scores

    model = _cvslt().eval()
    with torch.no_grad():
        model(**_cvslt_inputs())
    dtw_distance(_poses(), _poses())
    translation_scores(["a b"], ["a b"])


_warm_up()


# ============================================================================================ the test


def run_case(case: Case, tmp: Path) -> None:
    """Run one case against its expectation (raises AssertionError / pytest's failures when it does not hold)."""
    with bounded_memory(what=f"a bad-input case ({case.area})"):
        if case.kind == "error":
            with pytest.raises(case.exc, match=case.match) as info:
                case.run(tmp)
            assert len(str(info.value)) < 2000, "a message of unbounded length"
        elif case.kind == "warns":
            with pytest.warns(case.exc, match=case.match):
                case.run(tmp)
        elif case.kind == "exit2" and case.run.__name__ == "_a_bug_keeps_its_traceback":
            with pytest.raises(SystemExit):
                case.run(tmp)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                case.run(tmp)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, tmp_path_factory):
    # a folder whose name says nothing about the case: a message pattern must match the message, not the path
    run_case(CASES[name], tmp_path_factory.mktemp("c"))


def test_the_matrix_is_larger_than_the_issue():
    named = sum(c.named_in_issue for c in CASES.values())
    assert named >= 40 and len(CASES) - named >= 60, (named, len(CASES))
    assert {c.area for c in CASES.values()} >= {
        "slrt",
        "skels",
        "pose",
        "index",
        "models-cvslt",
        "metrics",
        "cli",
        "scripts",
    }


if __name__ == "__main__":  # pragma: no cover - python tests/test_bad_input_matrix.py lists the cases
    for key, case in sorted(CASES.items()):
        print(f"{key:70s} {case.kind:6s} {'issue' if case.named_in_issue else ''}")
    sys.exit(0)
