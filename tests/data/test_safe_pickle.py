"""The restricted unpickler of the SLRT files: torch compatibility of the legacy storage parser, malicious pickles
(nothing runs), crafted storage payloads, and the streaming reader."""

import contextlib
import gzip
import io
import os
import pickle
import struct
import subprocess

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memory_bounds import bounded_memory

from signbridge.data import safe_pickle, slrt
from signbridge.data.slrt import (
    SLRTFormatError,
    UnsafePickleError,
    read_slrt_annotations,
    read_slrt_features,
    safe_load_pickle,
)

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
    payload = pickle.dumps(
        [{"name": "x", "signer": "s", "gloss": "G", "text": "t", "num_frames": 1, "sign": _Evil(func, args)}],
        protocol=3,
    )
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
    for obj in (
        safe_pickle._LEGACY_MAGIC,
        safe_pickle._LEGACY_PROTOCOL,
        {"protocol_version": 1001, "little_endian": True, "type_sizes": {}},
    ):
        pickle.dump(obj, buf, protocol=2)
    P(buf, protocol=2).dump(sentinel)
    pickle.dump(["k0"], buf, protocol=2)
    buf.write(struct.pack("<q", count) + data + trailing)
    return buf.getvalue()


def _wrap_payload(payload: bytes) -> bytes:
    tensor = _Evil(
        torch._utils._rebuild_tensor_v2,
        (_Evil(torch.storage._load_from_bytes, (payload,)), 0, (2,), (1,), False, {}),
    )
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
        (
            _legacy_payload(10**12, 10**12, b""),
            "MAX_TENSOR_ELEMENTS",
        ),  # huge claim: refused before allocating
        (_legacy_payload(2**30, 2**30, b""), "truncated"),  # big claim, no data: refused before allocating
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
    tensor = _Evil(
        torch._utils._rebuild_tensor_v2,
        (_Evil(torch.storage._load_from_bytes, (payload,)), 1, (5,), (1,), False, {}),
    )
    with pytest.raises(SLRTFormatError, match="reaches element"):
        safe_load_pickle(pickle.dumps(tensor, protocol=3))


def test_streaming_hands_out_records_before_the_batch_closes():
    # pickle batches list items 1000 per APPENDS; the streaming reader must not wait for it
    records = [
        {"name": f"n{i}", "sign": torch.full((3, 2), float(i)), "meta": {"k": [i]}} for i in range(300)
    ]
    raw = pickle.dumps(records, protocol=3)
    f = io.BytesIO(raw)
    items = safe_pickle._StreamingUnpickler(f, "<test>").iter_items()
    first = next(items)
    assert first["name"] == "n0" and first["meta"] == {"k": [0]}
    assert f.tell() < len(raw) // 10  # read only a little beyond the first record
    rest = list(items)
    assert [r["name"] for r in rest] == [f"n{i}" for i in range(1, 300)]
    np.testing.assert_array_equal(rest[-1]["sign"], np.full((3, 2), 299.0, np.float32))


# ----------------------------------------------------------------------------- tensor geometry and size bounds


def _tensor_pickle(numel, offset, size, stride, data=None) -> bytes:
    data = np.zeros(numel, "<f4").tobytes() if data is None else data
    payload = _legacy_payload(numel, numel, data)
    tensor = _Evil(
        torch._utils._rebuild_tensor_v2,
        (_Evil(torch.storage._load_from_bytes, (payload,)), offset, size, stride, False, {}),
    )
    return gzip.compress(pickle.dumps([{"name": "x", "sign": tensor}], protocol=3))


def test_stride_zero_tensor_over_one_float_is_refused():
    # a few hundred bytes that used to come back as a (1000, 1000) array (or any size asked for)
    raw = _tensor_pickle(1, 0, (1000, 1000), (0, 0))
    assert len(raw) < 600
    with pytest.raises(SLRTFormatError, match="zero stride"):
        safe_load_pickle(raw)


@pytest.mark.parametrize(
    "numel,offset,size,stride,match",
    [
        (1, 0, (5, 1), (0, 1), "zero stride"),
        (8, 0, (2, 4), (4, -1), "non-negative ints"),
        (5, 0, (3, 3), (1, 1), "overlapping view"),  # fits in the storage, 9 elements from 5
        (8, 2, (2, 4), (4, 1), "reaches element 9"),
        (8, 0, (2, 4), (4,), "same length"),
        (8, 0, [2.0, 4], (4, 1), "non-negative ints"),
        (8, 0, (2, True), (1, 1), "non-negative ints"),
        (8, 0, (1,) * 65, (1,) * 65, "at most 64"),
        (8, 0, "ab", "cd", "invalid tensor geometry"),
    ],
)
def test_bad_tensor_geometry_is_refused(numel, offset, size, stride, match):
    with pytest.raises(SLRTFormatError, match=match):
        safe_load_pickle(_tensor_pickle(numel, offset, size, stride))


def test_size_one_dimensions_may_have_any_stride():
    data = np.arange(8, dtype="<f4")
    out = safe_load_pickle(_tensor_pickle(8, 0, (2, 1, 4), (4, 0, 1), data.tobytes()))
    np.testing.assert_array_equal(out[0]["sign"], data.reshape(2, 1, 4))


def test_huge_claimed_shape_is_refused_before_allocating(monkeypatch):
    # 2**40 elements over a valid-looking geometry: refused by the element bound, nothing allocated
    with pytest.raises(SLRTFormatError, match="MAX_TENSOR_ELEMENTS"):
        safe_load_pickle(_tensor_pickle(8, 0, (2**20, 2**20), (2**20, 1)))
    # a product that wraps around in int64 (2**64 -> 0) is still caught (Python ints)
    with pytest.raises(SLRTFormatError, match="MAX_TENSOR_ELEMENTS"):
        safe_load_pickle(_tensor_pickle(8, 0, (2**32, 2**32), (1, 1)))


def test_element_limit_is_configurable(monkeypatch):
    raw = _tensor_pickle(12, 0, (3, 4), (4, 1), np.arange(12, dtype="<f4").tobytes())
    monkeypatch.setattr(safe_pickle, "MAX_TENSOR_ELEMENTS", 10)
    with pytest.raises(SLRTFormatError, match=r"12 elements, more than .*MAX_TENSOR_ELEMENTS = 10.*raise"):
        safe_load_pickle(raw)
    monkeypatch.setattr(safe_pickle, "MAX_TENSOR_ELEMENTS", 12)
    np.testing.assert_array_equal(safe_load_pickle(raw)[0]["sign"], np.arange(12).reshape(3, 4))


def test_storage_size_is_bounded_too(monkeypatch):
    monkeypatch.setattr(safe_pickle, "MAX_TENSOR_ELEMENTS", 4)
    with pytest.raises(SLRTFormatError, match=r"storage 'k0' has 8 elements.*MAX_TENSOR_ELEMENTS"):
        safe_load_pickle(_tensor_pickle(8, 0, (2,), (1,)))


def test_messages_show_short_values():
    # a persistent id / magic number of megabytes shows as a short truncated repr
    long_key = "k" * 100_000
    sentinel = _StorageSentinel()

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return (long_key, [list(range(10))] * 1000) if obj is sentinel else None

    buf = io.BytesIO()
    for obj in (safe_pickle._LEGACY_MAGIC, safe_pickle._LEGACY_PROTOCOL, {"little_endian": True}):
        pickle.dump(obj, buf, protocol=2)
    P(buf, protocol=2).dump(sentinel)
    with pytest.raises(SLRTFormatError, match="unexpected persistent id") as info:
        safe_load_pickle(_wrap_payload(buf.getvalue()))
    assert len(str(info.value)) < 300
    bad_magic = pickle.dumps(10**5000, protocol=2)
    with pytest.raises(SLRTFormatError, match="wrong magic number <int of") as info:
        safe_load_pickle(_wrap_payload(bad_magic))
    assert len(str(info.value)) < 300
    with pytest.raises(UnsafePickleError) as info:
        safe_load_pickle(b"\x80\x03c" + b"m" * 100_000 + b"\nsystem\n.")
    assert len(str(info.value)) < 500


# ----------------------------------------------------------------------------- property: bad bytes give our errors


def _valid_feature_pickle() -> bytes:
    records = [
        {
            "name": "a",
            "gloss": "G",
            "num_frames": 4,
            "sign": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        },
        {"name": "b", "sign": torch.ones(1, 3).t(), "meta": [1, (2, "x")]},
    ]
    return pickle.dumps(records, protocol=3)


_VALID = _valid_feature_pickle()
_OUR_ERRORS = (SLRTFormatError, UnsafePickleError)


def _load_both_ways(raw: bytes) -> None:
    """safe_load_pickle and the streaming reader either read the bytes or raise our own errors, each within
    200 MB of allocations (tests/memory_bounds.py)."""
    with bounded_memory(what="safe_load_pickle"), contextlib.suppress(_OUR_ERRORS):
        safe_load_pickle(raw)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.train")
        with open(path, "wb") as f:
            f.write(gzip.compress(raw, compresslevel=1))
        for reader in (
            lambda p: list(safe_pickle.iter_slrt_records(p)),
            read_slrt_features,
            read_slrt_annotations,
        ):
            with bounded_memory(what="an SLRT reader"), contextlib.suppress(_OUR_ERRORS):
                reader(path)


_edits = st.lists(
    st.tuples(st.integers(0, 10**6), st.binary(max_size=6), st.integers(0, 6)), min_size=1, max_size=5
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edits)
def test_mutated_pickles_load_or_raise_our_errors(edits):
    data = bytearray(_VALID)
    for pos, insert, delete in edits:
        pos = pos % (len(data) + 1)
        data[pos : pos + delete] = insert
    _load_both_ways(bytes(data))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_load_or_raise_our_errors(raw):
    _load_both_ways(b"\x80\x03" + raw)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edits)
def test_mutated_gzip_files_load_or_raise_our_errors(edits):
    data = bytearray(gzip.compress(_VALID))
    for pos, insert, delete in edits:
        pos = pos % (len(data) + 1)
        data[pos : pos + delete] = insert
    with bounded_memory(what="safe_load_pickle of a gzip file"), contextlib.suppress(_OUR_ERRORS):
        safe_load_pickle(bytes(data), require_gzip=True)


@settings(max_examples=60, deadline=None)
@given(
    offset=st.integers(-2, 10),
    size=st.lists(st.integers(-1, 2**33), max_size=4),
    stride=st.lists(st.integers(-1, 2**33), max_size=4),
    numel=st.integers(0, 12),
)
def test_random_tensor_geometry_reads_inside_the_storage_or_raises(offset, size, stride, numel):
    raw = _tensor_pickle(numel, offset, tuple(size), tuple(stride), np.arange(numel, dtype="<f4").tobytes())
    try:
        out = safe_load_pickle(raw)[0]["sign"]
    except SLRTFormatError:
        return
    assert out.shape == tuple(size) and out.size <= max(numel, 1)


def test_a_memo_index_far_ahead_is_refused_before_allocating():
    """A mutated 849-byte file held LONG_BINPUT 405694563: the C unpickler sized its memo to it (6.5 GB, 3 s)."""
    raw = pickle.dumps([{"name": "a", "num_frames": 4}], protocol=3)
    put = raw.index(b"q\x01")  # BINPUT 1 of the dict
    crafted = raw[:put] + b"r" + struct.pack("<I", 405_694_563) + raw[put + 2 :]
    with pytest.raises(SLRTFormatError, match="memo index 405694563"):
        safe_load_pickle(crafted)
    assert safe_load_pickle(raw) == [{"name": "a", "num_frames": 4}]  # ordinary memo indices load


# ----------------------------------------------------------------------------- pickle protocols 0-2


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_benign_tensor_pickles_of_every_protocol_are_read(tmp_path, protocol):
    # protocols 0-2 have no bytes opcode: the tensor's storage bytes are pickled as _codecs.encode(text, "latin1"),
    # an empty one as builtins.bytes(); both are allowed in exactly that form
    cases = _tensor_cases()
    records = [{"name": k, "sign": v} for k, v in cases.items()]
    raw = pickle.dumps(records, protocol=protocol)
    for record in safe_load_pickle(raw):
        np.testing.assert_array_equal(record["sign"], cases[record["name"]].numpy())
        assert record["sign"].dtype == cases[record["name"]].numpy().dtype
    path = tmp_path / "features.train"
    path.write_bytes(gzip.compress(raw))
    streamed = list(slrt.iter_slrt_records(path))  # protocols 0-1 open the list with MARK LIST
    assert [r["name"] for r in streamed] == list(cases)
    np.testing.assert_array_equal(streamed[0]["sign"], cases["float32"].numpy())
    assert (
        pickle.dumps(b"", protocol=protocol)
        and safe_load_pickle(pickle.dumps(b"ab\xff", protocol=protocol)) == b"ab\xff"
    )
    assert safe_load_pickle(pickle.dumps(b"", protocol=protocol)) == b""


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("case", ["os.system", "subprocess.Popen", "builtins.exec", "builtins.eval"])
def test_malicious_globals_are_refused_at_every_protocol(tmp_path, protocol, case):
    marker = tmp_path / "PWNED"
    func, args = _evil_cases(marker)[case]
    payload = pickle.dumps(
        [{"name": "x", "sign": torch.zeros(2), "evil": _Evil(func, args)}], protocol=protocol
    )
    path = tmp_path / "evil.train"
    path.write_bytes(gzip.compress(payload))
    for read in (safe_load_pickle, lambda p: list(slrt.iter_slrt_records(p))):
        with pytest.raises(UnsafePickleError, match="refusing"):
            read(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "call",
    [
        (_codecs_encode := __import__("_codecs").encode, ("abc", "rot13")),  # another codec
        (_codecs_encode, ("abc", "latin1", "strict")),  # an errors argument
        (_codecs_encode, (b"abc", "latin1")),  # not a string
        (bytes, (10**12,)),  # bytes(n) would allocate n bytes
        (bytes, ("abc", "utf-8")),
    ],
    ids=["codec", "errors", "not-str", "bytes-size", "bytes-args"],
)
@pytest.mark.parametrize("protocol", [0, 2, 3])
def test_the_protocol_0_2_globals_allow_only_their_benign_form(call, protocol):
    with pytest.raises(UnsafePickleError, match="refusing"):
        safe_load_pickle(pickle.dumps([_Evil(*call)], protocol=protocol))


def test_a_non_latin1_string_in_codecs_encode_is_a_format_error():
    raw = pickle.dumps(_Evil(__import__("_codecs").encode, ("\u20ac", "latin1")), protocol=2)
    with pytest.raises(SLRTFormatError, match="non-latin1"):
        safe_load_pickle(raw)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_whole_legacy_torch_save_file_is_refused_not_misread(protocol):
    buf = io.BytesIO()
    torch.save(torch.zeros(3), buf, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    with pytest.raises(SLRTFormatError, match="legacy torch.save file"):
        safe_load_pickle(buf.getvalue())
    assert (
        safe_load_pickle(pickle.dumps(safe_pickle._LEGACY_MAGIC)) == safe_pickle._LEGACY_MAGIC
    )  # the number alone


def test_a_claimed_length_costs_no_memory_in_the_streaming_reader(tmp_path):
    """One byte deleted from an 852-byte pickle made BINUNICODE claim 1627389952 bytes: GzipFile.read(n) reserved
    1.5 GiB before finding 825. The streaming reader reads at most 1 MiB at a time (and BYTEARRAY8 likewise)."""
    raw = bytes(_VALID[:22] + _VALID[23:])
    path = tmp_path / "f.train"
    path.write_bytes(gzip.compress(raw))
    with bounded_memory(20 * 2**20, "iter_slrt_records"), pytest.raises(SLRTFormatError, match=str(path)):
        list(slrt.iter_slrt_records(path))
    claim = b"\x80\x05]\x94(\x96" + struct.pack("<Q", 2**40) + b"abc"  # BYTEARRAY8 of 1 TiB, 3 bytes follow
    path.write_bytes(gzip.compress(claim))
    with bounded_memory(20 * 2**20, "iter_slrt_records"), pytest.raises(SLRTFormatError, match="truncated"):
        list(slrt.iter_slrt_records(path))
    path.write_bytes(gzip.compress(pickle.dumps([{"b": bytearray(b"xy" * 10**6)}], protocol=5)))
    assert list(slrt.iter_slrt_records(path)) == [{"b": bytearray(b"xy" * 10**6)}]  # a real one still reads
