"""signbridge.video: a video in, MediaPipe Holistic poses out (needs the `video` extra; skipped without it)."""

import numpy as np
import pytest

from signbridge.utils import import_utils


def test_missing_extra_says_how_to_install_it(monkeypatch, tmp_path):
    from signbridge import video

    real = import_utils._available
    monkeypatch.setattr(import_utils, "_available", lambda module: module != "mediapipe" and real(module))
    with pytest.raises(ImportError, match=r"needs mediapipe.*: pip install 'signbridge\[video\]'"):
        video.extract_pose(tmp_path / "clip.mp4")


@pytest.fixture
def video_extra():
    if not import_utils.is_video_available():
        pytest.skip(
            "the video extra is not installed (pip install 'signbridge[video]': mediapipe, opencv, pose-format)"
        )
    from signbridge import video

    return video


def _write_clip(path, frames=6, size=(96, 128)):
    """A short mp4 of moving grey shapes: no person in it."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (size[1], size[0]))
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((*size, 3), 200, dtype=np.uint8)
        cv2.rectangle(frame, (10 + 5 * i, 20), (40 + 5 * i, 60), (60, 60, 60), -1)
        writer.write(frame)
    writer.release()
    return path


def test_a_clip_without_a_person_says_no_signer_found(video_extra, tmp_path):
    clip = _write_clip(tmp_path / "empty.mp4")
    frames, fps, width, height = video_extra.read_video_frames(clip)
    assert (len(frames), width, height) == (6, 128, 96) and fps == pytest.approx(12.0)
    assert frames[0].shape == (96, 128, 3) and frames[0].dtype == np.uint8
    with pytest.raises(
        video_extra.NoSignerError,
        match="no signer found in .*empty.mp4: MediaPipe Holistic detected no person in any of its 6 frames",
    ):
        video_extra.extract_pose(clip, tmp_path / "out.pose")
    assert not (tmp_path / "out.pose").exists()


def test_unreadable_inputs_are_named(video_extra, tmp_path):
    with pytest.raises(FileNotFoundError, match="video file not found"):
        video_extra.extract_pose(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(video_extra.VideoReadError, match="junk.mp4"):
        video_extra.extract_pose(junk)
    with pytest.raises(ValueError, match="model_complexity must be 0, 1 or 2"):
        video_extra.extract_pose(junk, model_complexity=3)


def test_a_clip_of_a_person_gives_holistic_poses_and_a_skeleton(video_extra, tmp_path):
    """matplotlib's sample portrait (matplotlib comes with mediapipe) as a 5-frame clip: a person in every frame."""
    import cv2

    cbook = pytest.importorskip(
        "matplotlib.cbook", reason="matplotlib's sample portrait is the person in the clip"
    )
    from signbridge.data.joint_maps import skeleton_from_pose
    from signbridge.data.pose_files import read_pose_file

    image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    height, width = image.shape[:2]
    clip = tmp_path / "portrait.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (width, height))
    for _ in range(5):
        writer.write(image)
    writer.release()

    pose = video_extra.extract_pose(clip, tmp_path / "portrait.pose")
    names = [c.name for c in pose.header.components]
    assert names[:4] == ["POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
    assert pose.body.data.shape[:2] == (5, 1) and pose.body.fps == pytest.approx(10.0)
    assert (pose.body.confidence[:, 0, :33] > 0).any(axis=1).all()  # a person in every frame
    written = read_pose_file(tmp_path / "portrait.pose")
    assert written.data.shape == (5, 576, 3)

    skeleton, mask = skeleton_from_pose(pose, return_mask=True)
    assert skeleton.shape == (5, 50, 3) and mask[:, :3].all() and mask[:, 5].all()
    assert np.allclose(np.linalg.norm(skeleton[:, 2, :2] - skeleton[:, 5, :2], axis=-1), 1.0, atol=0.05)
    assert (skeleton[:, 0, 1] < -0.3).all()  # the head above the neck
    assert (skeleton[:, 2, 0] > 0).all()  # her right shoulder (image left) along +x
    # the portrait ends at the chest: MediaPipe guesses the elbows and wrists with a low visibility
    _, confident = skeleton_from_pose(pose, return_mask=True, min_confidence=0.5)
    assert confident[:, [0, 1, 2, 5]].all() and not confident[:, [4, 7]].any()
