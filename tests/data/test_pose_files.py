"""pose-format .pose reading/writing, the 50-joint header, rendering, bad files."""

import struct

import numpy as np
import pytest

pytest.importorskip("pose_format")

from pose_format import Pose  # noqa: E402
from pose_format.numpy.pose_body import NumPyPoseBody  # noqa: E402

from signbridge.data.pose_files import (  # noqa: E402
    PoseArray,
    PoseFileError,
    read_pose_file,
    render_pose_gif,
    skeleton50_header,
    write_pose_file,
)


@pytest.mark.parametrize(
    "name,frames,points,dims",
    [
        ("openpose.pose", 93, 137, 2),
        ("mediapipe.pose", 170, 178, 3),
        ("lexicon-sgg/essen.pose", 73, 178, 3),
        ("lexicon-sgg/kinder.pose", 45, 178, 3),
    ],
)
def test_real_samples(pose_samples_dir, name, frames, points, dims):
    pose = read_pose_file(pose_samples_dir / name)
    assert isinstance(pose, PoseArray)
    assert pose.data.shape == (frames, points, dims) and pose.data.dtype == np.float32
    assert pose.mask.shape == (frames, points) and pose.mask.dtype == bool
    assert 0.5 < pose.mask.mean() < 1.0  # some points are missing in real captures
    assert pose.fps == 24
    # agrees with pose-format's own reader: valid points equal, invalid ones zeroed
    ref = Pose.read((pose_samples_dir / name).read_bytes())
    ref_data = np.ma.getdata(ref.body.data)[:, 0]
    np.testing.assert_array_equal(pose.data[pose.mask], ref_data[pose.mask])
    np.testing.assert_array_equal(pose.mask, ref.body.confidence[:, 0] > 0)
    assert np.all(pose.data[~pose.mask] == 0)


def test_skeleton50_header():
    header = skeleton50_header(dims=3)
    assert [c.name for c in header.components] == ["BODY", "LEFT_HAND", "RIGHT_HAND"]
    assert [len(c.points) for c in header.components] == [8, 21, 21]
    assert header.num_dims() == 3 and skeleton50_header(dims=2).num_dims() == 2
    body, hand = header.components[0], header.components[1]
    assert (0, 1) in body.limbs and len(hand.limbs) == 20  # a tree over 21 points
    assert body.points[:2] == ["HEAD", "NECK"]
    with pytest.raises(ValueError):
        skeleton50_header(dims=4)


@pytest.mark.parametrize("dims", [2, 3])
def test_write_read_round_trip(tmp_path, dims):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((31, 50, dims)).astype(np.float32)
    mask = rng.random((31, 50)) > 0.1
    path = write_pose_file(tmp_path / "x.pose", data, mask=mask, fps=25)
    back = read_pose_file(path)
    assert back.fps == 25
    np.testing.assert_array_equal(back.mask, mask)
    np.testing.assert_array_equal(back.data[mask], data[mask])
    assert np.all(back.data[~mask] == 0)
    # pose-format itself reads what we wrote
    ref = Pose.read(path.read_bytes())
    assert ref.body.data.shape == (31, 1, 50, dims)


def test_real_file_round_trip_with_its_header(pose_samples_dir, tmp_path):
    pose = read_pose_file(pose_samples_dir / "mediapipe.pose")
    path = write_pose_file(
        tmp_path / "copy.pose", pose.data, mask=pose.mask, fps=pose.fps, header=pose.header
    )
    back = read_pose_file(path)
    np.testing.assert_array_equal(back.mask, pose.mask)
    np.testing.assert_array_equal(back.data, pose.data)


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="51 joints"):
        write_pose_file(tmp_path / "x.pose", np.zeros((2, 51, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        write_pose_file(tmp_path / "x.pose", np.full((2, 50, 3), np.inf))


def _two_person_file(tmp_path):
    header = skeleton50_header(dims=3)
    data = np.ma.masked_array(np.ones((4, 2, 50, 3), np.float32))
    data[:, 1] = 2.0
    body = NumPyPoseBody(fps=25, data=data, confidence=np.ones((4, 2, 50), np.float32))
    path = tmp_path / "two.pose"
    with open(path, "wb") as f:
        Pose(header, body).write(f)
    return path


def test_multi_person_requires_choice(tmp_path):
    path = _two_person_file(tmp_path)
    with pytest.raises(PoseFileError, match="holds 2 people; pass person="):
        read_pose_file(path)
    assert np.all(read_pose_file(path, person=1).data == 2.0)
    assert np.all(read_pose_file(path, person=0).data == 1.0)
    with pytest.raises(PoseFileError, match="person=2"):
        read_pose_file(path, person=2)


def _frames_offset(raw: bytes) -> int:
    from pose_format.pose_header import PoseHeader
    from pose_format.utils.reader import BufferReader

    reader = BufferReader(raw)
    PoseHeader.read(reader)
    return reader.read_offset + 4  # v0.2 body: float fps, then uint frames


def test_header_claims_more_frames_than_file_holds(tmp_path):
    path = write_pose_file(tmp_path / "x.pose", np.zeros((5, 50, 3), np.float32))
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, _frames_offset(bytes(raw)), 4_000_000_000)  # ~2.4 TB claimed
    bad = tmp_path / "liar.pose"
    bad.write_bytes(bytes(raw))
    with pytest.raises(PoseFileError, match=r"liar.pose: header claims 4000000000 frames .*about 5 frames"):
        read_pose_file(bad)


def test_truncated_and_oversized_body(tmp_path):
    path = write_pose_file(tmp_path / "x.pose", np.zeros((5, 50, 3), np.float32))
    raw = path.read_bytes()
    (tmp_path / "cut.pose").write_bytes(raw[:-100])
    with pytest.raises(PoseFileError, match="cut.pose: header claims 5 frames"):
        read_pose_file(tmp_path / "cut.pose")
    (tmp_path / "long.pose").write_bytes(raw + b"\0" * 12)
    with pytest.raises(PoseFileError, match="long.pose: body does not match the header: 12 bytes"):
        read_pose_file(tmp_path / "long.pose")
    (tmp_path / "tiny.pose").write_bytes(raw[:7])
    with pytest.raises(PoseFileError, match="tiny.pose"):
        read_pose_file(tmp_path / "tiny.pose")


def test_truncated_v0_0_file(pose_samples_dir, tmp_path):
    raw = (pose_samples_dir / "openpose.pose").read_bytes()
    (tmp_path / "cut.pose").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(PoseFileError, match="cut.pose: header claims 93 frames"):
        read_pose_file(tmp_path / "cut.pose")


def test_non_finite_values(tmp_path):
    header = skeleton50_header(dims=3)
    data = np.ma.masked_array(np.ones((3, 1, 50, 3), np.float32))
    data[1, 0, 7, 2] = np.nan
    body = NumPyPoseBody(fps=25, data=data, confidence=np.ones((3, 1, 50), np.float32))
    path = tmp_path / "nan.pose"
    with open(path, "wb") as f:
        Pose(header, body).write(f)
    with pytest.raises(PoseFileError, match="nan.pose: 1 non-finite"):
        read_pose_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.pose"):
        read_pose_file(tmp_path / "none.pose")


def test_render_gif(tmp_path, skels_dir):
    from PIL import Image

    from signbridge.data.skels import read_skels

    poses = read_skels(skels_dir, "dev")[0]["poses"][:12]
    path = render_pose_gif(tmp_path / "x.gif", poses, fps=25)
    img = Image.open(path)
    assert img.n_frames == 12 and img.size == (256, 256)
    img.seek(5)
    pixels = np.asarray(img.convert("RGB"))
    assert (pixels < 250).any(axis=-1).mean() > 0.005  # something was drawn
    assert img.info["duration"] == 40


def test_render_real_pose_array(tmp_path, pose_samples_dir):
    from PIL import Image

    pose = read_pose_file(pose_samples_dir / "openpose.pose")
    path = render_pose_gif(tmp_path / "o.gif", PoseArray(pose.data[:5], pose.mask[:5], pose.fps, pose.header))
    assert Image.open(path).n_frames == 5


# fps: 0, NaN, negative and infinite rates are refused by the reader, the writer and the renderer


@pytest.mark.parametrize("fps", [0.0, -25.0, float("nan"), float("inf")])
def test_reader_refuses_bad_fps(tmp_path, fps):
    path = write_pose_file(tmp_path / "x.pose", np.zeros((3, 50, 3), np.float32))
    raw = bytearray(path.read_bytes())
    struct.pack_into("<f", raw, _frames_offset(bytes(raw)) - 4, fps)  # v0.2 body: float fps first
    bad = tmp_path / "bad_fps.pose"
    bad.write_bytes(bytes(raw))
    with pytest.raises(PoseFileError, match=r"bad_fps.pose: fps must be a finite number above 0"):
        read_pose_file(bad)


@pytest.mark.parametrize("fps", [0, 0.0, -1, float("nan"), float("inf"), "25", True, None])
def test_writer_refuses_bad_fps_and_writes_nothing(tmp_path, fps):
    with pytest.raises(ValueError, match="fps must be a"):
        write_pose_file(tmp_path / "x.pose", np.zeros((3, 50, 3), np.float32), fps=fps)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", [0, -5.0, float("nan")])
def test_render_gif_refuses_bad_fps(tmp_path, fps):
    pytest.importorskip("PIL")
    with pytest.raises(ValueError, match="fps must be a finite number above 0"):
        render_pose_gif(tmp_path / "x.gif", np.zeros((3, 50, 3), np.float32), fps=fps)
    assert not (tmp_path / "x.gif").exists()


def test_fractional_fps_round_trips(tmp_path):
    path = write_pose_file(tmp_path / "x.pose", np.zeros((3, 50, 3), np.float32), fps=29.97)
    assert read_pose_file(path).fps == pytest.approx(29.97, rel=1e-6)


# atomic writes: a failed write leaves the old file, and no temporary file


def _old_file(tmp_path):
    path = write_pose_file(tmp_path / "out.pose", np.ones((4, 50, 3), np.float32))
    return path, path.read_bytes()


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path, old = _old_file(tmp_path)

    def write_some_then_fail(self, buffer):
        buffer.write(b"partial bytes of a new file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Pose, "write", write_some_then_fail)
    with pytest.raises(OSError, match="No space left"):
        write_pose_file(path, np.zeros((9, 50, 3), np.float32))
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pose"]


def test_failed_new_file_leaves_nothing(tmp_path, monkeypatch):
    def fail(self, buffer):
        buffer.write(b"xx")
        raise KeyboardInterrupt

    monkeypatch.setattr(Pose, "write", fail)
    with pytest.raises(KeyboardInterrupt):
        write_pose_file(tmp_path / "new.pose", np.zeros((2, 50, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_read_only_folder_keeps_the_old_file(tmp_path):
    import os

    path, old = _old_file(tmp_path)
    os.chmod(tmp_path, 0o555)
    try:
        if os.access(tmp_path, os.W_OK):  # root ignores permissions
            pytest.skip("the folder stays writable for this user (root)")
        with pytest.raises(PermissionError):
            write_pose_file(path, np.zeros((9, 50, 3), np.float32))
    finally:
        os.chmod(tmp_path, 0o755)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pose"]


def test_rewrite_keeps_permissions_and_replaces_content(tmp_path):
    import os

    path, old = _old_file(tmp_path)
    os.chmod(path, 0o640)
    write_pose_file(path, np.zeros((9, 50, 3), np.float32))
    assert read_pose_file(path).num_frames == 9
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pose"]


# ----------------------------------------------------------------------------- property tests: hostile bytes
# Random and mutated bytes give a PoseFileError (or a well-formed PoseArray), never another exception, and at most
# 200 MB of allocations per case (tests/memory_bounds.py). The v0.2 seed is a small real-layout file; the real
# samples (pose-format 0.1 / 0.0) are mutated too when ../shared is present.

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from memory_bounds import bounded_memory  # noqa: E402

from signbridge.data.pose_files import PoseIndexError, read_pose_index  # noqa: E402


def _seed_pose_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seed.pose"
        write_pose_file(path, np.random.default_rng(0).normal(size=(3, 50, 3)).astype(np.float32), fps=25)
        return path.read_bytes()


_SEED_POSE = _seed_pose_bytes()
_edits = st.lists(
    st.tuples(st.integers(0, 10**6), st.binary(max_size=8), st.integers(0, 8)), min_size=1, max_size=6
)


def _mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for pos, insert, delete in edits:  # replace `delete` bytes at `pos` by `insert`
        pos = pos % (len(out) + 1)
        out[pos : pos + delete] = insert
    return bytes(out)


def _read_pose_or_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp, bounded_memory(what="a hostile .pose file"):
        path = Path(tmp) / "x.pose"
        path.write_bytes(raw)
        try:
            pose = read_pose_file(path, person=0)
        except PoseFileError as exc:
            assert str(path) in str(exc) and len(str(exc)) < 1500
            return
        t, j, k = pose.data.shape
        assert pose.mask.shape == (t, j) and pose.data.dtype == np.float32
        assert np.isfinite(pose.data).all() and np.isfinite(pose.fps) and pose.fps > 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edits)
def test_mutated_pose_files_read_or_raise_pose_file_error(edits):
    _read_pose_or_error(_mutate(_SEED_POSE, edits))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_read_or_raise_pose_file_error(raw):
    _read_pose_or_error(raw)
    _read_pose_or_error(_SEED_POSE[:40] + raw)  # a plausible header start, then anything


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_edits, st.sampled_from(["openpose.pose", "mediapipe.pose", "lexicon-sgg/essen.pose"]))
def test_mutated_real_pose_files_read_or_raise_pose_file_error(pose_samples_dir, edits, name):
    _read_pose_or_error(_mutate((pose_samples_dir / name).read_bytes(), edits))


_SEED_INDEX = (
    b"path,spoken_language,signed_language,start,end,words,glosses,priority,split,signer\r\n"
    b"train/a.pose,de,gsg,0,0,am tag,AM TAG,0,train,s1\r\n"
    b'train/b.pose,de,gsg,0,0,"regen, nord",REGEN,0,train,s2\r\n'
)


def _read_index_or_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp, bounded_memory(what="a hostile index.csv"):
        path = Path(tmp) / "index.csv"
        path.write_bytes(raw)
        try:
            rows = read_pose_index(path, ("num_frames", "fps", "poses", "mask"))
        except PoseIndexError as exc:
            assert str(path) in str(exc) and len(str(exc)) < 1500
            return
        assert rows and all("path" in r for r in rows)
        assert len({tuple(r) for r in rows}) == 1  # every row has the header's columns, none more
        assert not {"num_frames", "fps", "poses", "mask"} & set(rows[0])


@settings(max_examples=80, deadline=None)
@given(_edits)
def test_mutated_index_csv_reads_or_raises_pose_index_error(edits):
    _read_index_or_error(_mutate(_SEED_INDEX, edits))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet=',"\r\n\x00ab path fps', max_size=200).map(str.encode))
def test_random_index_csv_reads_or_raises_pose_index_error(raw):
    _read_index_or_error(raw)
    _read_index_or_error(b"path,label\n" + raw)


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "lists no files"),
        ("path,label\n", "lists no files"),
        ("file,label\na.pose,x\n", "needs a 'path' column"),
        ("path,,label\na.pose,x,y\n", "column 2 of the header has no name"),
        ("path,fps\na.pose,30\n", r"label column\(s\) \['fps'\]"),
        ("path,a,a\nx.pose,1,2\n", "appear more than once"),
        ("path,a\nx.pose,1,extra\n", "line 2: 3 fields where the header has 2"),
        ("path,a\nx.pose\n", "line 2: 1 fields where the header has 2"),
        ('path,a\n"x.pose,1\n', "fields where the header has 2"),  # an unclosed quote swallows the rest
    ],
)
def test_read_pose_index_refuses(tmp_path, text, match):
    (tmp_path / "index.csv").write_text(text, encoding="utf-8")
    with pytest.raises(PoseIndexError, match=match):
        read_pose_index(tmp_path / "index.csv", ("num_frames", "fps", "poses", "mask"))


def test_read_pose_index_refuses_non_utf8_and_huge_fields(tmp_path):
    (tmp_path / "index.csv").write_bytes(b"path,a\nx.pose,\xff\n")
    with pytest.raises(PoseIndexError, match="not UTF-8 text"):
        read_pose_index(tmp_path / "index.csv")
    (tmp_path / "index.csv").write_text("path,a\nx.pose," + "y" * 200_000 + "\n")
    with pytest.raises(PoseIndexError, match="line 2: not valid CSV"):
        read_pose_index(tmp_path / "index.csv")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_pose_index(tmp_path / "nope.csv")
    (tmp_path / "index.csv").write_text("path,a\r\n\r\nx.pose,1\r\n")  # blank lines are skipped
    assert read_pose_index(tmp_path / "index.csv") == [{"path": "x.pose", "a": "1"}]
