"""Progressive Transformers .skels/.text/.gloss/.files reader and writer."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memory_bounds import bounded_memory

from signbridge.data.skels import SkelsFormatError, read_skels, write_skels

FRAMES = {
    "train": [86, 126, 168, 185, 71],
    "dev": [42, 111, 148, 142, 93],
    "test": [181, 150, 198, 130, 111],
}


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_real_sample(skels_dir, split):
    seqs = read_skels(skels_dir, split)
    assert [s["num_frames"] for s in seqs] == FRAMES[split]
    for s in seqs:
        assert s["poses"].dtype == np.float32 and s["poses"].shape == (s["num_frames"], 50, 3)
        assert s["name"].startswith(f"{split}/") and s["text"] and s["gloss"]
    if split == "dev":
        first = seqs[0]
        assert first["name"] == "dev/11August_2010_Wednesday_tagesschau-2"
        assert first["gloss"] == "DRUCK TIEF KOMMEN"
        # stored values x 3: the first stored value is -0.02429, the neck (joint 1) is the origin
        raw = np.array((skels_dir / "dev.skels").read_text().split("\n", 1)[0].split()[:6], dtype=np.float32)
        np.testing.assert_allclose(first["poses"][0, :2].ravel(), raw * 3, rtol=1e-6)
        np.testing.assert_array_equal(first["poses"][:, 1], 0)


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    examples = [
        {
            "name": f"dev/seq{i}",
            "text": f"satz {i} .",
            "gloss": f"GLOSS{i} WETTER",
            "poses": rng.uniform(-1.5, 1.5, size=(t, 50, 3)).astype(np.float32),
        }
        for i, t in enumerate([3, 17, 1])
    ]
    write_skels(examples, tmp_path, "dev")
    back = read_skels(tmp_path, "dev")
    assert [b["num_frames"] for b in back] == [3, 17, 1]
    for ex, b in zip(examples, back, strict=True):
        assert (b["name"], b["text"], b["gloss"]) == (ex["name"], ex["text"], ex["gloss"])
        # 5 decimals of value/3, times 3: error at most 1.5e-5
        np.testing.assert_allclose(b["poses"], ex["poses"], atol=1.6e-5)
    counters = np.array((tmp_path / "dev.skels").read_text().split("\n")[1].split(), dtype=float).reshape(
        17, 151
    )[:, -1]
    np.testing.assert_allclose(counters, np.arange(17) / 17, atol=5e-5)


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_real_sample_round_trip_is_byte_identical(skels_dir, tmp_path, split):
    seqs = read_skels(skels_dir, split)
    write_skels(seqs, tmp_path, split)
    for suffix in ("skels", "text", "gloss", "files"):
        assert (tmp_path / f"{split}.{suffix}").read_bytes() == (
            skels_dir / f"{split}.{suffix}"
        ).read_bytes(), suffix


def _write_raw(tmp_path, skels_lines, n_other=None):
    n = len(skels_lines) if n_other is None else n_other
    (tmp_path / "x.skels").write_text("".join(line + "\n" for line in skels_lines))
    for suffix in ("text", "gloss", "files"):
        (tmp_path / f"x.{suffix}").write_text("".join(f"{suffix}{i}\n" for i in range(n)))


def _frames_line(t, counters=None, decimals=4):
    counters = np.arange(t) / t if counters is None else counters
    return " ".join(" ".join(["0.1"] * 150 + [f"{c:.{decimals}f}"]) for c in counters)


def test_line_length_not_multiple_of_151(tmp_path):
    good = _frames_line(1)
    _write_raw(tmp_path, [good, " ".join(["0.1"] * 300)])
    with pytest.raises(SkelsFormatError, match=r"x.skels, line 2: 300 values is not a multiple of 151"):
        read_skels(tmp_path, "x")


def test_mismatched_line_counts(tmp_path):
    _write_raw(tmp_path, [_frames_line(1)] * 2, n_other=3)
    with pytest.raises(SkelsFormatError, match="not line-aligned"):
        read_skels(tmp_path, "x")


@pytest.mark.parametrize("bad", ["nan", "inf", "abc"])
def test_non_finite_or_garbage(tmp_path, bad):
    values = ["0.1"] * 151
    values[7] = bad
    _write_raw(tmp_path, [" ".join(values)])
    with pytest.raises(SkelsFormatError, match="x.skels, line 1"):
        read_skels(tmp_path, "x")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="x.skels"):
        read_skels(tmp_path, "x")


def test_writer_rejects_bad_poses(tmp_path):
    with pytest.raises(ValueError, match=r"\(T>0, 50, 3\)"):
        write_skels([{"name": "a", "text": "t", "gloss": "G", "poses": np.zeros((4, 49, 3))}], tmp_path, "x")
    with pytest.raises(ValueError, match="non-finite"):
        write_skels(
            [{"name": "a", "text": "t", "gloss": "G", "poses": np.full((4, 50, 3), np.nan)}], tmp_path, "x"
        )


# ----------------------------------------------------------------------------- frame counters


def test_line_cut_at_a_frame_boundary_is_refused(tmp_path):
    # 6 of 10 frames: counters 0.0 .. 0.5 where a 6-frame line has 0/6 .. 5/6
    _write_raw(tmp_path, [_frames_line(3), _frames_line(6, counters=np.arange(6) / 10)])
    with pytest.raises(
        SkelsFormatError,
        match=r"x.skels, line 2: the frame counters are not i/T for the 6 frames.*about 10 frames",
    ):
        read_skels(tmp_path, "x")


def test_cut_by_one_frame_of_a_long_line_is_refused(tmp_path):
    t = 500
    _write_raw(tmp_path, [_frames_line(t, np.arange(t - 1) / t)])
    with pytest.raises(SkelsFormatError, match="truncated"):
        read_skels(tmp_path, "x")


@pytest.mark.parametrize("decimals", [2, 4, 5, 8])
def test_counters_within_their_rounding_are_accepted(tmp_path, decimals):
    _write_raw(tmp_path, [_frames_line(t, decimals=decimals) for t in (1, 3, 7, 60)])
    assert [s["num_frames"] for s in read_skels(tmp_path, "x")] == [1, 3, 7, 60]


@pytest.mark.parametrize("counter_decimals", [2, 4, 6])
def test_writer_output_passes_the_counter_check(tmp_path, counter_decimals):
    examples = [
        {"name": f"n{t}", "text": "t", "gloss": "G", "poses": np.zeros((t, 50, 3))} for t in (1, 2, 9, 123)
    ]
    write_skels(examples, tmp_path, "dev", counter_decimals=counter_decimals)
    assert [s["num_frames"] for s in read_skels(tmp_path, "dev")] == [1, 2, 9, 123]


def test_wrong_counter_is_refused(tmp_path):
    counters = np.arange(4) / 4
    counters[2] = 0.9
    _write_raw(tmp_path, [_frames_line(4, counters)])
    with pytest.raises(SkelsFormatError, match=r"line 1: .*frame 2 has 0.9000, expected 0.50000"):
        read_skels(tmp_path, "x")


# ----------------------------------------------------------------------------- line breaks in text


@pytest.mark.parametrize("key", ["text", "gloss", "name"])
@pytest.mark.parametrize("brk", ["\r", "\n", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\x1e"])
def test_writer_refuses_line_breaks(tmp_path, key, brk):
    ex = {"name": "dev/a", "text": "ein satz", "gloss": "EIN SATZ", "poses": np.zeros((2, 50, 3))}
    ex[key] = f"vor{brk}nach"
    with pytest.raises(ValueError, match=f"{key} contains the line break"):
        write_skels([ex], tmp_path, "dev")
    assert not (tmp_path / "dev.skels").exists()


def test_writer_messages_are_short(tmp_path):
    with pytest.raises(ValueError, match="poses must be") as info:
        write_skels(
            [{"name": "n" * 100_000, "text": "t", "gloss": "G", "poses": np.zeros((2, 3))}], tmp_path, "x"
        )
    assert len(str(info.value)) < 300


def test_non_utf8_and_overflowing_values_are_format_errors(tmp_path):
    _write_raw(tmp_path, [_frames_line(1)])
    (tmp_path / "x.skels").write_bytes(b"\xff\xfe" + (tmp_path / "x.skels").read_bytes())
    with pytest.raises(SkelsFormatError, match=r"x.skels: not UTF-8 text \(byte 0"):
        read_skels(tmp_path, "x")
    values = ["0.1"] * 150 + ["0.0"]
    values[4] = "2e38"  # finite as float64 and float32, but not once multiplied by 3 into float32
    _write_raw(tmp_path, [" ".join(values)])
    with pytest.raises(SkelsFormatError, match="line 1: coordinates too large for float32"):
        read_skels(tmp_path, "x")


# ----------------------------------------------------------------------------- property: bad bytes give SkelsFormatError


def _read_or_format_error(folder):
    try:
        with bounded_memory(what="read_skels"):  # 200 MB per case (tests/memory_bounds.py)
            seqs = read_skels(folder, "x")
    except SkelsFormatError:
        return
    for s in seqs:  # what comes back is a well-formed sequence
        assert s["poses"].dtype == np.float32 and s["poses"].shape == (s["num_frames"], 50, 3)
        assert s["num_frames"] > 0 and np.isfinite(s["poses"]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.binary(min_size=0, max_size=8), st.integers(0, 8)), max_size=6
    ),
    st.integers(0, 3),
)
def test_mutated_corpus_reads_or_raises_format_error(edits, target):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        examples = [
            {"name": f"n{t}", "text": "t", "gloss": "G", "poses": np.full((t, 50, 3), 0.25 * t)}
            for t in (1, 3)
        ]
        write_skels(examples, folder, "x")
        path = folder / f"x.{('skels', 'text', 'gloss', 'files')[target]}"
        data = bytearray(path.read_bytes())
        for pos, insert, delete in edits:  # replace `delete` bytes at `pos` by `insert`
            pos = pos % (len(data) + 1)
            data[pos : pos + delete] = insert
        path.write_bytes(bytes(data))
        _read_or_format_error(folder)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.-+eEinfa \t\r\x0b\x85", max_size=400), min_size=1, max_size=3))
def test_random_skels_lines_read_or_raise_format_error(lines):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "x.skels").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for suffix in ("text", "gloss", "files"):
            (folder / f"x.{suffix}").write_text("".join(f"{suffix}{i}\n" for i in range(len(lines))))
        _read_or_format_error(folder)
