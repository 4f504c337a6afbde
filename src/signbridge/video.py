"""Your own video in: MediaPipe Holistic landmarks of a video file, as a pose-format ``.pose``.

Needs the optional extra: ``pip install 'signbridge[video]'`` (MediaPipe 0.10.x, whose Holistic models ship inside
the wheel and run offline, OpenCV and pose-format). :func:`extract_pose` reads the frames with OpenCV and runs
MediaPipe Holistic through pose-format's MediaPipe support (``pose_format.utils.holistic.load_holistic``), so the
result has pose-format's Holistic layout (``POSE_LANDMARKS``, ``FACE_LANDMARKS``, ``LEFT_HAND_LANDMARKS``,
``RIGHT_HAND_LANDMARKS``, ``POSE_WORLD_LANDMARKS``); :func:`signbridge.data.joint_maps.skeleton_from_pose` turns
it into the 50-joint skeleton the models read::

    from signbridge.video import extract_pose
    from signbridge.data.joint_maps import skeleton_from_pose

    pose = extract_pose("my_signing.mp4", "my_signing.pose")
    skeleton = skeleton_from_pose(pose)  # (T, 50, 3) float32

All frames are held in memory while MediaPipe runs (about width x height x 3 bytes per frame).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .data.joint_maps import NoSignerError
from .utils.files import atomic_write
from .utils.import_utils import require_video

__all__ = ["NoSignerError", "VideoReadError", "extract_pose", "read_video_frames"]


class VideoReadError(ValueError):
    """A file OpenCV cannot read as a video, or a video without frames (the message names the file)."""


def read_video_frames(video_path: str | os.PathLike) -> tuple[list, float, int, int]:
    """The RGB frames of a video (``(H, W, 3)`` uint8 arrays), its frame rate, width and height.

    The frame rate falls back to 25 when the container does not state a usable one. Raises
    ``FileNotFoundError`` for a missing file and :class:`VideoReadError` for a file OpenCV cannot decode or one
    with no frames.
    """
    require_video("reading a video")
    import cv2

    path = Path(video_path)
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoReadError(f"{path}: OpenCV cannot open it as a video (unknown format or damaged file)")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise VideoReadError(f"{path}: no frame could be decoded (empty or damaged video)")
    if not (math.isfinite(fps) and 0 < fps <= 1000):
        fps = 25.0
    height, width = frames[0].shape[:2]
    return frames, fps, width, height


def extract_pose(
    video_path: str | os.PathLike,
    out_path: str | os.PathLike | None = None,
    *,
    model_complexity: int = 1,
    progress: bool = False,
):
    """MediaPipe Holistic landmarks of every frame of a video, as a ``pose_format.Pose``.

    Args:
        video_path: any video OpenCV reads (mp4, avi, mov, webm...).
        out_path: when given, the pose is also written there as a ``.pose`` file (atomically: a failed write
            leaves no partial file).
        model_complexity: MediaPipe's pose model, 0 (lite), 1 (full, the default) or 2 (heavy; MediaPipe downloads
            it on first use, the other two ship inside the wheel).
        progress: show a progress bar over the frames.

    Returns:
        The pose (one person; x and y in pixels, MediaPipe's z in units of the image width), fps of the video.

    Raises:
        ImportError: the ``video`` extra is not installed (the message says ``pip install 'signbridge[video]'``).
        FileNotFoundError: no such file.
        VideoReadError: OpenCV cannot decode the file, or it holds no frame.
        NoSignerError: MediaPipe found no person in any frame ("no signer found").
    """
    require_video()
    if model_complexity not in (0, 1, 2):
        raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
    frames, fps, width, height = read_video_frames(video_path)
    from pose_format.utils.holistic import load_holistic

    pose = load_holistic(
        frames,
        fps=fps,
        width=width,
        height=height,
        depth=width,
        progress=progress,
        additional_holistic_config={"model_complexity": model_complexity},
    )
    body_points = len(
        pose.header.components[0].points
    )  # POSE_LANDMARKS: all 0 confidence where nobody was seen
    found = (pose.body.confidence[:, 0, :body_points] > 0).any(axis=1)
    if not found.any():
        raise NoSignerError(
            f"no signer found in {video_path}: MediaPipe Holistic detected no person in any of its {len(frames)} "
            "frames (is the signer's upper body in the picture?)"
        )
    if out_path is not None:
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(out_path) as f:
            pose.write(f)
    return pose
