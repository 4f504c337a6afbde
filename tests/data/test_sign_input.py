"""signbridge.data.sign_input: a user's .pose / .skels files -> poses of the models' skeleton, clear errors otherwise."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from signbridge.data.pose_files import PoseFileError, write_pose_file
from signbridge.data.sign_input import find_sign_files, read_sign_file
from signbridge.data.skels import SkelsFormatError, read_skels

pytest.importorskip("pose_format")


def test_own_pose_file_round_trips(tmp_path):
    poses = np.random.default_rng(0).normal(size=(6, 50, 3)).astype(np.float32)
    path = write_pose_file(tmp_path / "mine.pose", poses, fps=25)
    [(name, read)] = read_sign_file(path)
    assert name == "mine.pose" and read.dtype == np.float32
    np.testing.assert_allclose(read, poses, atol=1e-6)


def test_real_skels_file_alone_reads_like_the_split_reader(skels_dir, tmp_path):
    expected = read_skels(skels_dir, "dev")
    alone = tmp_path / "dev.skels"
    alone.write_bytes((skels_dir / "dev.skels").read_bytes())  # without .text/.gloss/.files beside it
    sequences = read_sign_file(alone)
    assert [name for name, _ in sequences] == [f"dev.skels:{i + 1}" for i in range(len(expected))]
    for (_, poses), example in zip(sequences, expected, strict=True):
        np.testing.assert_array_equal(poses, example["poses"])


@pytest.mark.parametrize("sample", ["mediapipe.pose", "openpose.pose"])
def test_other_layouts_get_a_clear_error(pose_samples_dir, sample):
    with pytest.raises(PoseFileError, match=r"components .*points.*signbridge's 50-joint 3D skeleton"):
        read_sign_file(pose_samples_dir / sample)


@pytest.mark.skipif(
    importlib.util.find_spec("signbridge.video") is not None,
    reason="signbridge.video is installed here: the install hint is for where it is not",
)
def test_video_without_the_extra_names_the_extra(tmp_path):
    from signbridge.utils.errors import UserError

    (tmp_path / "clip.mp4").write_bytes(b"\0" * 16)
    with pytest.raises(UserError, match=r"pip install 'signbridge\[video\]'"):
        read_sign_file(tmp_path / "clip.mp4")


def test_bad_paths_and_contents(tmp_path):
    with pytest.raises(
        ValueError, match=r"not a sign input file \(expected one of .pose, .skels, or a video"
    ):
        read_sign_file(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_sign_file(tmp_path / "missing.pose")
    (tmp_path / "empty.skels").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_sign_file(tmp_path / "empty.skels")
    (tmp_path / "short.skels").write_text("0.1 0.2 0.3\n")
    with pytest.raises(SkelsFormatError, match="not a multiple of 151"):
        read_sign_file(tmp_path / "short.skels")
    with pytest.raises(FileNotFoundError, match=r"no .pose or .skels files"):
        find_sign_files(
            tmp_path / "empty_folder" if (tmp_path / "empty_folder").mkdir() is None else tmp_path
        )
    write_pose_file(tmp_path / "b.pose", np.zeros((2, 50, 3), np.float32))
    assert [p.name for p in find_sign_files(tmp_path)] == ["b.pose", "empty.skels", "short.skels"]
