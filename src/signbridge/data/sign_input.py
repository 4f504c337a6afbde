"""A user's sign input files -> pose sequences in the models' skeleton: the one reader of the translation pipeline
and ``signbridge translate``.

:func:`read_sign_file` reads

* a pose-format ``.pose`` file (one sequence) through :func:`~signbridge.data.pose_files.read_pose_file`, then
  :func:`pose_to_skeleton50` turns it into the 50-joint 3D skeleton the models use: signbridge's own layout
  (``BODY`` 8 points, ``LEFT_HAND`` and ``RIGHT_HAND`` 21 points each, 3D: what ``signbridge produce`` and
  ``signbridge corpus --format pose`` write) as it is, MediaPipe Holistic and OpenPose through the joint maps of
  :mod:`signbridge.data.joint_maps`; any other layout is a clear error naming it.
* a Progressive Transformers ``.skels`` file alone (one sequence per line, 151 values per frame), with the checks of
  :mod:`signbridge.data.skels`; no ``.text``/``.gloss``/``.files`` companions are needed;
* a video file (``.mp4``, ``.mov``, ...) where ``signbridge.video`` is importable (the ``video`` extra): its
  ``extract_pose(path)`` gives a pose-format ``Pose`` that goes through :func:`pose_to_skeleton50` like a ``.pose``
  file; without the extra, a clear "install signbridge[video]" error.

:func:`find_sign_files` lists the sign files of a folder (sorted, not recursive).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .pose_files import BODY_POINTS, HAND_POINTS, PoseFileError, read_pose_file
from .skels import _parse_skels_line, _read_lines

__all__ = [
    "SIGN_FILE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "find_sign_files",
    "pose_to_skeleton50",
    "read_sign_file",
    "read_video",
]

#: the file suffixes :func:`read_sign_file` reads (videos need the ``video`` extra)
SIGN_FILE_SUFFIXES = (".pose", ".skels")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")

_SKELETON50_COMPONENTS = (
    ("BODY", len(BODY_POINTS)),
    ("LEFT_HAND", len(HAND_POINTS)),
    ("RIGHT_HAND", len(HAND_POINTS)),
)


def pose_to_skeleton50(pose, path: str | os.PathLike) -> np.ndarray:
    """A :class:`~signbridge.data.pose_files.PoseArray` or a pose-format ``Pose`` -> ``(T, 50, 3)`` float32 poses of
    the models' skeleton.

    signbridge's own 50-joint 3D layout is taken as it is; MediaPipe Holistic and OpenPose poses go through the named
    joint maps (:func:`signbridge.data.joint_maps.skeleton_from_pose`); any other layout raises an error naming the
    file and the layout found."""
    components = tuple((c.name, len(c.points)) for c in pose.header.components)
    data = _pose_data(pose)
    dims = int(data.shape[-1])
    if components == _SKELETON50_COMPONENTS and dims == 3:
        return np.asarray(data, dtype=np.float32)
    from .joint_maps import skeleton_from_pose

    try:
        return np.asarray(skeleton_from_pose(_as_pose_format(pose)), dtype=np.float32)
    except ValueError as error:
        found = ", ".join(f"{name} ({count} points)" for name, count in components[:6])
        if len(components) > 6:
            found += f", ... ({len(components)} components)"
        raise PoseFileError(
            f"{path}: a {dims}D pose with the components {found} cannot become the models' 50-joint 3D skeleton: "
            f"{error}"
        ) from error


def _as_pose_format(pose):
    """``pose`` with pose-format's ``header`` / ``body.data`` (masked ``(T, 1, J, K)``) / ``body.confidence``, as the
    joint maps read it: a pose-format ``Pose`` as it is, a :class:`PoseArray` wrapped."""
    if hasattr(pose, "body"):
        return pose
    data = np.asarray(pose.data)[:, None]
    mask = np.broadcast_to(~np.asarray(pose.mask, dtype=bool)[:, None, :, None], data.shape)
    confidence = pose.confidence if pose.confidence is not None else np.asarray(pose.mask, dtype=np.float32)
    body = SimpleNamespace(
        data=np.ma.masked_array(data, mask=mask), confidence=np.asarray(confidence)[:, None], fps=pose.fps
    )
    return SimpleNamespace(header=pose.header, body=body)


def _pose_data(pose) -> np.ndarray:
    """``(T, J, K)`` coordinates of a :class:`PoseArray` or of a pose-format ``Pose`` (its first person, masked
    points 0)."""
    if hasattr(pose, "body"):
        data = pose.body.data
        data = data.filled(0) if hasattr(data, "filled") else np.asarray(data)
        return np.asarray(data)[:, 0]
    return np.asarray(pose.data)


def read_video(path: str | os.PathLike) -> list[tuple[str, np.ndarray]]:
    """``[(name, poses (T, 50, 3))]`` of a video, with ``signbridge.video.extract_pose`` (the ``video`` extra)."""
    from ..utils.errors import UserError

    hint = f"{path}: reading a video needs the video extra: pip install 'signbridge[video]'"
    try:
        from signbridge.video import extract_pose
    except ImportError:
        raise UserError(hint) from None
    try:
        pose = extract_pose(path)
    except (
        ImportError
    ) as error:  # the extra's packages are missing: its message names them and the install line
        raise UserError(f"{path}: {error}") from None
    return [(Path(path).name, pose_to_skeleton50(pose, path))]


def read_sign_file(path: str | os.PathLike) -> list[tuple[str, np.ndarray]]:
    """``[(name, poses (T, 50, 3) float32), ...]``: one entry for a ``.pose`` file (named by the file), one per line
    for a ``.skels`` file (named ``file:line``). Other suffixes, a missing file, malformed content raise an error
    naming the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SIGN_FILE_SUFFIXES + VIDEO_SUFFIXES:
        raise ValueError(
            f"{path}: not a sign input file (expected one of {', '.join(SIGN_FILE_SUFFIXES)}, or a video: "
            f"{', '.join(VIDEO_SUFFIXES)})"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file" if not path.exists() else f"{path} is not a file")
    if suffix in VIDEO_SUFFIXES:
        return read_video(path)
    if suffix == ".pose":
        return [(path.name, pose_to_skeleton50(read_pose_file(path), path))]
    lines = _read_lines(path)
    if not lines:
        raise ValueError(f"{path}: the file is empty (no sequences)")
    return [(f"{path.name}:{i + 1}", _parse_skels_line(line, path, i + 1)) for i, line in enumerate(lines)]


def find_sign_files(folder: str | os.PathLike) -> list[Path]:
    """The ``.pose``, ``.skels`` (and video) files directly in ``folder``, sorted by name; an error when there are
    none."""
    folder = Path(folder)
    suffixes = SIGN_FILE_SUFFIXES + VIDEO_SUFFIXES
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise FileNotFoundError(f"{folder}: no {' or '.join(SIGN_FILE_SUFFIXES)} files in this folder")
    return files
