"""pose-format ``.pose`` files <-> ``(T, J, K)`` arrays with masks, the 50-joint skeleton header,
and GIF rendering.

pose-format (``pip install 'signbridge[pose]'``) is the file layer: :func:`read_pose_file` checks
the file's size against what its header claims *before* pose-format allocates anything, then
returns a :class:`PoseArray`. Files with several people are not silently reduced to one:
``person=None`` (the default) reads single-person files and raises for multi-person files, and
``person=k`` picks person ``k`` explicitly.

The 50-joint skeleton is the Progressive Transformers / signbridge layout: joints 0 head, 1 neck,
2-4 right shoulder/elbow/wrist, 5-7 left shoulder/elbow/wrist, 8-28 the left hand and 29-49 the
right hand (21 points each, attached to wrists 7 and 4 respectively, as measured on the real
PHOENIX14T skeleton sample). :func:`skeleton50_header` describes it as three pose-format
components (``BODY``, ``LEFT_HAND``, ``RIGHT_HAND``) with limbs, so pose-format tools render it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.files import atomic_write
from ..utils.import_utils import require_pil, require_pose_format
from ..utils.reprs import short_repr, short_text

__all__ = [
    "PoseFileError",
    "PoseArray",
    "read_pose_file",
    "write_pose_file",
    "read_pose_index",
    "PoseIndexError",
    "skeleton50_header",
    "render_pose_gif",
    "BODY_POINTS",
    "HAND_POINTS",
]


class PoseFileError(ValueError):
    """A ``.pose`` file is malformed (the message names the file)."""


class PoseIndexError(PoseFileError):
    """The index CSV of a folder of ``.pose`` files is malformed (the message names the file and line)."""


def read_pose_index(path: str | os.PathLike, reserved_columns: Sequence[str] = ()) -> list[dict[str, str]]:
    """Read the index CSV of a folder of ``.pose`` files: a ``path`` column plus label columns.

    Returns one dict per row (column -> text). Raises :class:`PoseIndexError` naming the file (and
    the line) when it is not UTF-8 or not CSV, lists no rows, has no ``path`` column, a column
    without a name or a repeated name, a column named like one of ``reserved_columns`` (the columns
    a reader fills from each ``.pose`` file, which a label would silently overwrite), or a row with
    more or fewer fields than the header; ``FileNotFoundError`` when it does not exist.
    """
    import csv

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pose_files: index CSV {path} not found")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = [(reader.line_num, row) for row in reader if row]
    except UnicodeDecodeError as exc:
        raise PoseIndexError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except csv.Error as exc:
        raise PoseIndexError(f"{path}, line {reader.line_num}: not valid CSV ({short_text(exc)})") from None
    if not header or not rows:
        raise PoseIndexError(f"{path}: the index lists no files (a header line and one row per file needed)")
    if "path" not in header:
        raise PoseIndexError(f"{path}: the index needs a 'path' column, has {short_repr(header, 160)}")
    if "" in header:
        raise PoseIndexError(f"{path}: column {header.index('') + 1} of the header has no name")
    clashes = sorted(set(header) & set(reserved_columns))
    if clashes:
        raise PoseIndexError(
            f"{path}: label column(s) {clashes} have the name of a column filled from the .pose file "
            f"({', '.join(reserved_columns)}); rename them in the index"
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise PoseIndexError(
            f"{path}: column(s) {short_repr(repeated, 160)} appear more than once in the header"
        )
    for line, row in rows:
        if len(row) != len(header):
            raise PoseIndexError(
                f"{path}, line {line}: {len(row)} fields where the header has {len(header)} "
                f"({short_repr(row, 120)})"
            )
    return [dict(zip(header, row, strict=True)) for _, row in rows]


BODY_POINTS = [
    "HEAD",
    "NECK",
    "RIGHT_SHOULDER",
    "RIGHT_ELBOW",
    "RIGHT_WRIST",
    "LEFT_SHOULDER",
    "LEFT_ELBOW",
    "LEFT_WRIST",
]
BODY_LIMBS = [(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7)]
_FINGERS = ["THUMB", "INDEX", "MIDDLE", "RING", "PINKY"]
HAND_POINTS = ["WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP"] + [
    f"{finger}_{part}" for finger in _FINGERS[1:] for part in ("MCP", "PIP", "DIP", "TIP")
]
HAND_LIMBS = [(0, 1 + 4 * f) for f in range(5)] + [
    (1 + 4 * f + i, 2 + 4 * f + i) for f in range(5) for i in range(3)
]


@dataclass
class PoseArray:
    """Pose sequence as arrays.

    Attributes:
        data: float32 ``(T, J, K)`` coordinates (invalid points are 0).
        mask: bool ``(T, J)``, True where the point is valid (confidence > 0, not masked).
        fps: frames per second.
        header: the pose-format ``PoseHeader`` (components, limbs, dimensions).
        confidence: float32 ``(T, J)`` as stored in the file.
    """

    data: np.ndarray
    mask: np.ndarray
    fps: float
    header: Any
    confidence: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.data.shape[0])


def _check_fps(fps, what: str) -> float:
    """``fps`` as a float; a :class:`ValueError` unless it is a finite number above 0."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what}: fps must be a number, got {type(fps).__name__}")
    value = float(fps)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{what}: fps must be a finite number above 0, got {value!r}")
    return value


def _color(i: int) -> tuple[int, int, int]:
    palette = [(255, 64, 64), (64, 160, 255), (64, 200, 64), (230, 160, 0), (180, 80, 220)]
    return palette[i % len(palette)]


def skeleton50_header(dims: int = 3, width: int = 1000, height: int = 1000, depth: int = 1000):
    """pose-format ``PoseHeader`` of the 50-joint skeleton (body 8 points + two 21-point hands).

    ``dims`` is 2 (point format ``XYC``) or 3 (``XYZC``). Limbs connect head-neck, the arms and
    the fingers, so the header renders with pose-format tools.
    """
    require_pose_format()
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    fmt = "XYZC" if dims == 3 else "XYC"
    body = PoseHeaderComponent(
        "BODY", list(BODY_POINTS), list(BODY_LIMBS), [_color(i) for i in range(len(BODY_LIMBS))], fmt
    )
    hands = [
        PoseHeaderComponent(
            name, list(HAND_POINTS), list(HAND_LIMBS), [_color(i // 3) for i in range(len(HAND_LIMBS))], fmt
        )
        for name in ("LEFT_HAND", "RIGHT_HAND")
    ]
    return PoseHeader(0.2, PoseHeaderDimensions(width, height, depth), [body, *hands])


def _body_layout(raw: bytes, offset: int, version: float, path) -> tuple[float, int, int, int]:
    """Return (fps, frames, people, body_header_size) of the body that starts at ``offset``."""
    try:
        if round(version, 3) == 0.2:
            fps, frames, people = struct.unpack_from("<fIH", raw, offset)
            return float(fps), frames, people, 10
        if round(version, 3) == 0.1:
            fps, frames, people = struct.unpack_from("<HHH", raw, offset)
            return float(fps), frames, people, 6
    except struct.error as exc:
        raise PoseFileError(f"{path}: truncated before the pose body header ({exc})") from exc
    raise PoseFileError(f"{path}: unsupported pose-format version {version}")


def read_pose_file(path: str | os.PathLike, person: int | None = None) -> PoseArray:
    """Read a pose-format ``.pose`` file into a :class:`PoseArray`.

    Args:
        path: the ``.pose`` file.
        person: which person to return. ``None`` (default) requires a single-person file and
            raises :class:`PoseFileError` for a multi-person file instead of dropping people.

    Raises :class:`PoseFileError` when the body does not match the header (wrong size), when the
    header claims more frames than the file holds (checked before allocating), or when a valid
    point holds a non-finite value.
    """
    require_pose_format()
    from pose_format.pose_header import PoseHeader
    from pose_format.utils.reader import BufferReader

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f".pose file not found: {path}")
    raw = path.read_bytes()
    reader = BufferReader(raw)
    try:
        header = PoseHeader.read(reader)
    except (struct.error, UnicodeDecodeError, IndexError, ValueError, TypeError, OverflowError) as exc:
        # pose-format's reader fails with these on a cut or garbled header (TypeError: "buffer is too small")
        raise PoseFileError(
            f"{path}: unreadable pose-format header ({type(exc).__name__}: {short_text(exc)})"
        ) from exc
    if not header.components or not all(len(c.format) >= 2 for c in header.components):
        raise PoseFileError(
            f"{path}: the header describes {len(header.components)} components, none or some without "
            "coordinate dimensions; a pose file needs at least one component with a point format like XYC"
        )
    points = sum(len(c.points) for c in header.components)
    dims = header.num_dims()
    if header.version == 0:
        people = _check_v0_0_body(raw, reader.read_offset, header, path)
        if people > 1 and person not in (None, 0):
            raise PoseFileError(f"{path}: pose-format reads only the first person of version 0.0 files")
        if people > 1 and person is None:
            raise PoseFileError(
                f"{path}: holds up to {people} people per frame; pass person=0 to read the first "
                "(nothing is dropped silently)"
            )
        return _to_pose_array(raw, header, 0, points, dims, path, expected_people=1)
    fps, frames, people, body_head = _body_layout(raw, reader.read_offset, header.version, path)
    _check_file_fps(fps, path)
    available = len(raw) - reader.read_offset - body_head
    per_frame = people * points * (dims + 1) * 4  # float32 coordinates + float32 confidence
    expected = frames * per_frame
    if available < expected:
        holds = available // per_frame if per_frame else 0
        raise PoseFileError(
            f"{path}: header claims {frames} frames of {people} people x {points} points x {dims} dims "
            f"({expected} bytes) but the file holds {available} body bytes (about {holds} frames); "
            "the file is truncated or its header is wrong"
        )
    if available > expected:
        raise PoseFileError(
            f"{path}: body does not match the header: {available - expected} bytes beyond the "
            f"{frames} frames x {people} people x {points} points x {dims} dims the header describes"
        )
    if people == 0 and frames:
        raise PoseFileError(f"{path}: header says 0 people for {frames} frames")
    if person is None:
        if people > 1:
            raise PoseFileError(
                f"{path}: holds {people} people; pass person=<index> to choose one (nothing is dropped silently)"
            )
        person = 0
    elif not 0 <= person < max(people, 1):
        raise PoseFileError(f"{path}: person={person} requested but the file holds {people} people")

    return _to_pose_array(raw, header, person, points, dims, path, expected_people=people)


def _check_file_fps(fps, path) -> float:
    try:
        return _check_fps(fps, str(path))
    except ValueError as exc:
        raise PoseFileError(str(exc)) from None


def _check_v0_0_body(raw: bytes, offset: int, header, path) -> int:
    """Walk a version-0.0 body (per-frame people counts) checking sizes; return the max people."""
    try:
        fps, frames = struct.unpack_from("<HH", raw, offset)
    except struct.error as exc:
        raise PoseFileError(f"{path}: truncated before the pose body header ({exc})") from exc
    _check_file_fps(fps, path)
    person_bytes = 2 + 4 * sum(len(c.points) * len(c.format) for c in header.components)
    pos, max_people = offset + 4, 0
    for frame in range(frames):
        if pos + 2 > len(raw):
            raise PoseFileError(
                f"{path}: header claims {frames} frames but the file ends after {frame} frames"
            )
        (people,) = struct.unpack_from("<H", raw, pos)
        pos += 2 + people * person_bytes
        if pos > len(raw):
            raise PoseFileError(
                f"{path}: header claims {frames} frames but the file ends inside frame {frame}"
            )
        max_people = max(max_people, people)
    if pos != len(raw):
        raise PoseFileError(
            f"{path}: body does not match the header: {len(raw) - pos} bytes beyond {frames} frames"
        )
    return max_people


def _to_pose_array(
    raw: bytes, header, person: int, points: int, dims: int, path, expected_people: int
) -> PoseArray:
    from pose_format import Pose

    pose = Pose.read(raw)
    data = pose.body.data
    people = data.shape[1]
    if people < expected_people or person >= max(people, 1) or data.shape[2:] != (points, dims):
        raise PoseFileError(
            f"{path}: body shape {data.shape[1:]} does not match the header ({people}, {points}, {dims})"
        )
    coords = np.asarray(np.ma.getdata(data)[:, person], dtype=np.float32)
    masked = np.ma.getmaskarray(data)[:, person].any(axis=-1)
    confidence = np.asarray(pose.body.confidence[:, person], dtype=np.float32)
    mask = (~masked) & (confidence > 0)
    if not np.isfinite(coords[mask]).all():
        raise PoseFileError(
            f"{path}: {int((~np.isfinite(coords[mask])).sum())} non-finite values in valid points"
        )
    coords = np.where(mask[..., None], coords, 0.0).astype(np.float32)
    fps = _check_file_fps(pose.body.fps, path)
    return PoseArray(data=coords, mask=mask, fps=fps, header=header, confidence=confidence)


def write_pose_file(path: str | os.PathLike, data, mask=None, fps: float = 25, header=None) -> Path:
    """Write ``data`` ``(T, J, K)`` (single person) as a pose-format ``.pose`` file.

    ``mask`` ``(T, J)`` bool marks valid points (default: all valid); confidence is stored as
    1.0 for valid and 0.0 for invalid points. ``header`` defaults to :func:`skeleton50_header`
    when ``J == 50``; otherwise it must be given and match ``J`` and ``K``.
    """
    require_pose_format()
    from pose_format import Pose
    from pose_format.numpy.pose_body import NumPyPoseBody

    fps = _check_fps(fps, f"write_pose_file({os.fspath(path)!r})")
    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 3:
        raise ValueError(f"data must be (T, J, K), got shape {data.shape}")
    t, j, k = data.shape
    if header is None:
        if j != 50:
            raise ValueError(f"no header given and data has {j} joints; the default skeleton has 50")
        header = skeleton50_header(dims=k)
    points = sum(len(c.points) for c in header.components)
    if (points, header.num_dims()) != (j, k):
        raise ValueError(f"header describes {points} points x {header.num_dims()} dims, data is {j} x {k}")
    mask = np.ones((t, j), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != (t, j):
        raise ValueError(f"mask must be (T, J) = {(t, j)}, got {mask.shape}")
    if not np.isfinite(data[mask]).all():
        raise ValueError("data contains non-finite values at valid points")
    body_data = np.ma.masked_array(
        np.where(mask[..., None], data, 0.0)[:, None], mask=np.repeat(~mask[:, None, :, None], k, axis=-1)
    )
    body = NumPyPoseBody(fps=fps, data=body_data, confidence=mask[:, None].astype(np.float32))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:  # a failed write leaves the old file, not a partial one
        Pose(header, body).write(f)
    return path


def render_pose_gif(
    path: str | os.PathLike, data, fps: float = 25, mask=None, header=None, size: int = 256
) -> Path:
    """Render a pose sequence ``(T, J, K)`` (or a :class:`PoseArray`) as an animated GIF.

    pose-format's ``PoseVisualizer`` needs OpenCV, which signbridge does not require, so frames
    are drawn with Pillow: the x/y coordinates (y down, as in image space) are fitted into a
    ``size`` x ``size`` canvas with a common scale for all frames, limbs drawn per the header's
    components (:func:`skeleton50_header` for 50 joints; points only without a header).
    """
    require_pil()
    from PIL import Image, ImageDraw

    if isinstance(data, PoseArray):
        mask = data.mask if mask is None else mask
        header = data.header if header is None else header
        fps = data.fps
        data = data.data
    fps = _check_fps(fps, f"render_pose_gif({os.fspath(path)!r})")
    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 3 or data.shape[-1] < 2 or len(data) == 0:
        raise ValueError(f"data must be (T>0, J, K>=2), got {data.shape}")
    t, j, _ = data.shape
    mask = np.ones((t, j), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    mask = mask & np.isfinite(data[..., :2]).all(-1)
    if header is None and j == 50:
        header = skeleton50_header(dims=data.shape[-1])
    limbs: list[tuple[int, int, tuple[int, int, int]]] = []
    if header is not None:
        start = 0
        for comp in header.components:
            colors = [tuple(int(c) for c in color) for color in comp.colors] if len(comp.colors) else []
            for i, (a, b) in enumerate(comp.limbs):
                color = colors[i % len(colors)] if colors else (0, 0, 0)
                limbs.append((start + int(a), start + int(b), color))
            start += len(comp.points)
    xy = data[..., :2]
    if mask.any():
        lo, hi = xy[mask].min(0), xy[mask].max(0)
    else:
        lo, hi = np.zeros(2, np.float32), np.ones(2, np.float32)
    margin = 0.05 * size
    scale = (size - 2 * margin) / max(float((hi - lo).max()), 1e-6)
    pix = (xy - lo) * scale + margin
    frames = []
    for f in range(t):
        img = Image.new("RGB", (size, size), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        for a, b, color in limbs:
            if mask[f, a] and mask[f, b]:
                draw.line([tuple(pix[f, a]), tuple(pix[f, b])], fill=color, width=2)
        for p in np.flatnonzero(mask[f]):
            x, y = pix[f, p]
            draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(0, 0, 0))
        frames.append(img)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:  # a failed write leaves the old file, not a partial one
        frames[0].save(
            f,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=max(int(round(1000 / fps)), 20),
            loop=0,
        )
    return path
