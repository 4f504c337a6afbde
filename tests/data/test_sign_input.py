"""signbridge.data.sign_input: a user's .pose / .skels files -> poses of the models' skeleton, clear errors otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from signbridge.data.pose_files import PoseFileError, write_pose_file
from signbridge.data.sign_input import find_sign_files, read_sign_file
from signbridge.data.skels import SkelsFormatError, read_skels
from signbridge.utils.import_utils import is_video_available

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


@pytest.mark.parametrize(("sample", "frames"), [("mediapipe.pose", 170), ("openpose.pose", 93)])
def test_mediapipe_and_openpose_files_go_through_the_joint_maps(pose_samples_dir, sample, frames):
    from signbridge.data.joint_maps import skeleton_from_pose
    from signbridge.data.pose_files import read_pose_file

    [(name, poses)] = read_sign_file(pose_samples_dir / sample)
    assert name == sample and poses.shape == (frames, 50, 3) and poses.dtype == np.float32
    # the same as the joint maps on pose-format's own reading of the file
    from pose_format import Pose

    with open(pose_samples_dir / sample, "rb") as handle:
        expected = skeleton_from_pose(Pose.read(handle.read()))
    np.testing.assert_allclose(poses, expected, atol=1e-6)
    assert read_pose_file(pose_samples_dir / sample).data.shape[0] == frames


def test_another_layout_gets_a_clear_error(tmp_path):
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    header = PoseHeader(
        0.1,
        PoseHeaderDimensions(width=100, height=100, depth=100),
        [PoseHeaderComponent("FOO", ["A", "B", "C"], [(0, 1)], [(255, 0, 0)], "XYZC")],
    )
    write_pose_file(tmp_path / "foo.pose", np.ones((4, 3, 3), np.float32), header=header)
    with pytest.raises(
        PoseFileError, match=r"foo.pose: a 3D pose with the components FOO \(3 points\) cannot become"
    ):
        read_sign_file(tmp_path / "foo.pose")


@pytest.mark.skipif(
    is_video_available(), reason="the video extra is installed here: the install hint is for where it is not"
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
