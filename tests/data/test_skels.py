"""Progressive Transformers .skels/.text/.gloss/.files reader and writer."""

import numpy as np
import pytest

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


def test_line_length_not_multiple_of_151(tmp_path):
    good = " ".join(["0.1"] * 151)
    _write_raw(tmp_path, [good, " ".join(["0.1"] * 300)])
    with pytest.raises(SkelsFormatError, match=r"x.skels, line 2: 300 values is not a multiple of 151"):
        read_skels(tmp_path, "x")


def test_mismatched_line_counts(tmp_path):
    _write_raw(tmp_path, [" ".join(["0.1"] * 151)] * 2, n_other=3)
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
