"""Other pose layouts -> the 50-joint 3D skeleton the models use, through named joint maps.

The models read the Progressive Transformers / signbridge skeleton (:mod:`.pose_files`): 0 head, 1 neck (the
origin), 2-4 right and 5-7 left shoulder/elbow/wrist, 8-28 the left and 29-49 the right 21-point hand; the
signer's right along +x, y down, z towards the camera, shoulders 1 unit apart (as in the real PHOENIX14T
skeletons: shoulder width 1.00, neck at 0).

A **joint map** is data: a dict from each of the 50 joint names (``"BODY/HEAD"``, ``"LEFT_HAND/THUMB_TIP"``...,
:data:`SKELETON_JOINTS`) to its source in another layout, written ``"COMPONENT/POINT"``:

- a string: that point;
- a tuple of strings: their mean (the neck is the midpoint of the shoulders);
- a list: alternatives, the first whose points the file has (MediaPipe files reduced to a few body points carry
  no ``NOSE``: the head is then the face mesh's nose tip or the middle of the eyes).

:data:`JOINT_MAPS` holds MediaPipe Holistic (``POSE_LANDMARKS`` + ``LEFT/RIGHT_HAND_LANDMARKS``, what
:func:`signbridge.video.extract_pose` writes), OpenPose BODY_25 (``pose_keypoints_2d`` + ``hand_left/right_keypoints_2d``)
and OpenPose BODY_135 (one ``BODY_135`` component, hands without a wrist point: the body's wrist is used).
:func:`skeleton_from_pose` detects the layout from the component names, converts, and (``normalize=True``)
brings image coordinates into the skeleton's frame: neck at the origin in every frame, x and z turned to the
signer's view (a rotation by 180 degrees about the vertical axis: the signer's right, which an image shows on the
left, becomes +x, and depth towards the camera becomes +z), scaled so that the median shoulder width is 1.
2D layouts (OpenPose) get z = 0. A pose already in signbridge's own layout (``BODY``, ``LEFT_HAND``,
``RIGHT_HAND``) is returned unchanged.

pose-format is needed only to read files; this module itself imports numpy only (no MediaPipe).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils.reprs import short_repr

__all__ = [
    "JOINT_MAPS",
    "SKELETON_JOINTS",
    "UnknownPoseLayoutError",
    "NoSignerError",
    "detect_layout",
    "skeleton_from_pose",
]

_BODY = [
    "HEAD",
    "NECK",
    "RIGHT_SHOULDER",
    "RIGHT_ELBOW",
    "RIGHT_WRIST",
    "LEFT_SHOULDER",
    "LEFT_ELBOW",
    "LEFT_WRIST",
]
_FINGERS = ["THUMB", "INDEX", "MIDDLE", "RING", "PINKY"]
_HAND = ["WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP"] + [
    f"{finger}_{part}" for finger in _FINGERS[1:] for part in ("MCP", "PIP", "DIP", "TIP")
]

#: the 50 joints of the skeleton in order, as "COMPONENT/POINT" of :func:`signbridge.data.skeleton50_header`
SKELETON_JOINTS: list[str] = (
    [f"BODY/{p}" for p in _BODY] + [f"LEFT_HAND/{p}" for p in _HAND] + [f"RIGHT_HAND/{p}" for p in _HAND]
)


class UnknownPoseLayoutError(ValueError):
    """A pose whose layout no joint map reads (the message names the components it misses)."""


class NoSignerError(ValueError):
    """No signer in a pose or video: the shoulders (the skeleton's origin and scale) are found in no frame."""


def _hand_map(component: str, names: list[str], side: str) -> dict[str, Any]:
    """The 21 hand points in the standard order (wrist, thumb CMC..TIP, index MCP..TIP, ..., pinky)."""
    return {f"{side}_HAND/{ours}": f"{component}/{theirs}" for ours, theirs in zip(_HAND, names, strict=True)}


_MEDIAPIPE_HAND = ["WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP"] + [
    f"{finger}_{part}"
    for finger in ("INDEX_FINGER", "MIDDLE_FINGER", "RING_FINGER", "PINKY")
    for part in ("MCP", "PIP", "DIP", "TIP")
]
_MP = "POSE_LANDMARKS"
_MEDIAPIPE_HOLISTIC: dict[str, Any] = {
    # the nose; files reduced to the upper body keep the face mesh: its nose tip (1), else mid-eyes (33, 263)
    "BODY/HEAD": [f"{_MP}/NOSE", "FACE_LANDMARKS/1", ("FACE_LANDMARKS/33", "FACE_LANDMARKS/263")],
    "BODY/NECK": (f"{_MP}/LEFT_SHOULDER", f"{_MP}/RIGHT_SHOULDER"),
    **{
        f"BODY/{side}_{part}": f"{_MP}/{side}_{part}"
        for side in ("RIGHT", "LEFT")
        for part in ("SHOULDER", "ELBOW", "WRIST")
    },
    **_hand_map("LEFT_HAND_LANDMARKS", _MEDIAPIPE_HAND, "LEFT"),
    **_hand_map("RIGHT_HAND_LANDMARKS", _MEDIAPIPE_HAND, "RIGHT"),
}

# pose-format names OpenPose's 21 hand points BASE, T_STT, T_BCMC, ...: the standard order under other names
_OPENPOSE_HAND = ["BASE", "T_STT", "T_BCMC", "T_MCP", "T_IP"] + [
    f"{f}_{p}" for f in "IMRP" for p in ("CMC", "MCP", "PIP", "DIP")
]
_OP = "pose_keypoints_2d"
_OPENPOSE_BODY25: dict[str, Any] = {
    "BODY/HEAD": f"{_OP}/Nose",
    "BODY/NECK": (f"{_OP}/LShoulder", f"{_OP}/RShoulder"),
    **{
        f"BODY/{side}_{part}": f"{_OP}/{side[0]}{part.title()}"
        for side in ("RIGHT", "LEFT")
        for part in ("SHOULDER", "ELBOW", "WRIST")
    },
    **_hand_map("hand_left_keypoints_2d", _OPENPOSE_HAND, "LEFT"),
    **_hand_map("hand_right_keypoints_2d", _OPENPOSE_HAND, "RIGHT"),
}

_B135 = "BODY_135"
_OPENPOSE_135_FINGERS = [
    f"{finger}{part}"
    for finger, parts in (
        ("Thumb", ("1CMC", "2Knuckles", "3IP", "4FingerTip")),
        *((f, ("1Knuckles", "2PIP", "3DIP", "4FingerTip")) for f in ("Index", "Middle", "Ring", "Pinky")),
    )
    for part in parts
]
_OPENPOSE_BODY135: dict[str, Any] = {
    "BODY/HEAD": f"{_B135}/Nose",
    "BODY/NECK": (f"{_B135}/LShoulder", f"{_B135}/RShoulder"),
    **{
        f"BODY/{side}_{part}": f"{_B135}/{side[0]}{part.title()}"
        for side in ("RIGHT", "LEFT")
        for part in ("SHOULDER", "ELBOW", "WRIST")
    },
    **_hand_map(_B135, ["LWrist"] + [f"L{p}" for p in _OPENPOSE_135_FINGERS], "LEFT"),
    **_hand_map(_B135, ["RWrist"] + [f"R{p}" for p in _OPENPOSE_135_FINGERS], "RIGHT"),
}

#: layout name -> joint map (signbridge joint -> source point, mean of points, or list of alternatives)
JOINT_MAPS: dict[str, dict[str, Any]] = {
    "signbridge": {joint: joint for joint in SKELETON_JOINTS},
    "mediapipe_holistic": _MEDIAPIPE_HOLISTIC,
    "openpose_body25": _OPENPOSE_BODY25,
    "openpose_body135": _OPENPOSE_BODY135,
}


# ============================================================================= detection
def _components(header) -> dict[str, list[str]]:
    return {c.name: list(c.points) for c in header.components}


def _alternatives(source) -> list[tuple[str, ...]]:
    """A map value as a list of alternatives, each a tuple of "COMPONENT/POINT" names to average."""
    options = source if isinstance(source, list) else [source]
    return [(option,) if isinstance(option, str) else tuple(option) for option in options]


def _has(components: dict[str, list[str]], name: str) -> bool:
    component, _, point = name.partition("/")
    return point in components.get(component, ())


def _required_components(joint_map: dict[str, Any]) -> set[str]:
    """The components every alternative of some joint needs (a layout without one of them is another layout)."""
    required = set()
    for source in joint_map.values():
        options = _alternatives(source)
        common = set.intersection(*({name.partition("/")[0] for name in option} for option in options))
        required |= common
    return required


def detect_layout(header) -> str:
    """The :data:`JOINT_MAPS` name whose components ``header`` (a pose-format ``PoseHeader``) has.

    Raises :class:`UnknownPoseLayoutError` naming, for each known layout, the components the file misses, or the points a
    recognised layout misses.
    """
    components = _components(header)
    missing_by_layout = {}
    for name, joint_map in JOINT_MAPS.items():
        missing = sorted(_required_components(joint_map) - components.keys())
        if not missing:
            absent = [
                joint
                for joint, source in joint_map.items()
                if not any(all(_has(components, p) for p in option) for option in _alternatives(source))
            ]
            if absent:
                raise UnknownPoseLayoutError(
                    f"the pose has the components of the {name} layout but not the points of the joints "
                    f"{short_repr(absent)} (sources {short_repr([joint_map[j] for j in absent], 200)})"
                )
            return name
        missing_by_layout[name] = missing
    known = "; ".join(f"{name} misses {', '.join(missing)}" for name, missing in missing_by_layout.items())
    raise UnknownPoseLayoutError(
        f"unknown pose layout: components {short_repr(list(components), 200)}; no joint map reads it ({known})"
    )


# ============================================================================= conversion
def _pose_arrays(pose, min_confidence: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(T, P, D) float coordinates of the one person and (T, P) validity (confidence above ``min_confidence``)."""
    data = pose.body.data
    if data.ndim != 4:
        raise UnknownPoseLayoutError(
            f"pose body data must be (frames, people, points, dims), got shape {data.shape}"
        )
    if data.shape[1] > 1:
        raise UnknownPoseLayoutError(
            f"the pose holds {data.shape[1]} people; pick one first (pose.body.data[:, [k]]): nothing is dropped "
            "silently"
        )
    coords = np.asarray(np.ma.getdata(data)[:, 0], dtype=np.float64)
    masked = np.ma.getmaskarray(data)[:, 0].any(axis=-1)
    confidence = np.asarray(pose.body.confidence)[:, 0]
    valid = (~masked) & (confidence > min_confidence) & np.isfinite(coords).all(axis=-1)
    return np.where(valid[..., None], coords, 0.0), valid


def _gather(coords, valid, index: dict[str, int], option: tuple[str, ...]):
    rows = [index[name] for name in option]
    return coords[:, rows].mean(axis=1), valid[:, rows].all(axis=1)


def skeleton_from_pose(
    pose, *, normalize: bool = True, return_mask: bool = False, min_confidence: float = 0.0
):
    """The 50-joint skeleton ``(T, 50, 3)`` float32 of a pose-format ``Pose`` (one person).

    Args:
        pose: a ``pose_format.Pose`` in a layout of :data:`JOINT_MAPS` (MediaPipe Holistic, OpenPose BODY_25 or
            BODY_135, or signbridge's own).
        normalize: bring image coordinates into the skeleton's frame (neck at the origin in every frame, the signer's
            right along +x, z towards the camera, median shoulder width 1). ``False`` keeps the source coordinates
            (z of MediaPipe hands still placed at the body's wrist depth).
        return_mask: also return the ``(T, 50)`` bool mask of the joints found (all their source points valid;
            a MediaPipe hand also needs its body wrist, which gives its depth); joints not found are 0.
        min_confidence: a source point counts as found when its confidence is above this (default 0: every point
            the file holds). MediaPipe gives body points outside the picture a low visibility (about 0.1) rather
            than none; 0.5 drops them.

    Raises:
        UnknownPoseLayoutError: a layout no joint map reads (the message names the missing components), or several people.
        NoSignerError: ``normalize`` and no frame has both shoulders.
    """
    layout = detect_layout(pose.header)
    coords, valid = _pose_arrays(pose, min_confidence)
    if layout == "signbridge":
        skeleton = coords.astype(np.float32)
        if skeleton.shape[-1] == 2:
            skeleton = np.concatenate([skeleton, np.zeros_like(skeleton[..., :1])], axis=-1)
        skeleton = np.where(valid[..., None], skeleton[..., :3], 0.0).astype(np.float32)
        return (skeleton, valid) if return_mask else skeleton

    components = _components(pose.header)
    index, start = {}, 0
    for component in pose.header.components:
        for i, point in enumerate(component.points):
            index[f"{component.name}/{point}"] = start + i
        start += len(component.points)
    dims = coords.shape[-1]
    xyz = coords[..., :3] if dims >= 3 else np.concatenate([coords, np.zeros_like(coords[..., :1])], axis=-1)
    if dims >= 3 and layout == "mediapipe_holistic":
        xyz = _mediapipe_depth(xyz, valid, pose.header)

    joint_map = JOINT_MAPS[layout]
    t = coords.shape[0]
    skeleton = np.zeros((t, len(SKELETON_JOINTS), 3))
    mask = np.zeros((t, len(SKELETON_JOINTS)), dtype=bool)
    for j, joint in enumerate(SKELETON_JOINTS):
        option = next(o for o in _alternatives(joint_map[joint]) if all(_has(components, p) for p in o))
        skeleton[:, j], mask[:, j] = _gather(xyz, valid, index, option)

    if layout == "mediapipe_holistic" and dims >= 3:
        # MediaPipe's hand depths are relative to the hand's own wrist: place each hand at its body wrist's depth
        for wrist, first in ((7, 8), (4, 29)):
            hand = slice(first, first + 21)
            skeleton[:, hand, 2] += (skeleton[:, wrist, 2] - skeleton[:, first, 2])[:, None]
            mask[:, hand] &= mask[:, [wrist]]
    if normalize:
        skeleton, mask = _normalize(skeleton, mask)
    skeleton = np.where(mask[..., None], skeleton, 0.0).astype(np.float32)
    return (skeleton, mask) if return_mask else skeleton


def _mediapipe_depth(xyz: np.ndarray, valid: np.ndarray, header) -> np.ndarray:
    """MediaPipe's z in the units of x and y.

    pose-format's Holistic reader stores x and y in pixels and MediaPipe's z as given, in units of the image width
    (values about 0): those are multiplied by the header's width. Files whose z already holds absolute depths
    (median magnitude above 10, as in older files) are kept as they are.
    """
    z = xyz[..., 2][valid]
    if z.size and np.median(np.abs(z)) <= 10:
        xyz = xyz.copy()
        xyz[..., 2] *= float(header.dimensions.width)
    return xyz


def _normalize(skeleton: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image coordinates (x right, y down, z away from the camera) -> the skeleton's frame (see the module)."""
    shoulders = mask[:, 2] & mask[:, 5]
    if not shoulders.any():
        raise NoSignerError(
            f"no signer found: both shoulders are detected in none of the {len(skeleton)} frames "
            "(the skeleton is centred on the neck and scaled by the shoulder width)"
        )
    width = np.linalg.norm(skeleton[shoulders, 2, :2] - skeleton[shoulders, 5, :2], axis=-1)
    scale = float(np.median(width))
    if not scale > 0:
        raise NoSignerError("no signer found: the two shoulders are at the same place in every frame")
    out = skeleton - skeleton[:, 1:2]  # the neck (midpoint of the shoulders) is the origin of every frame
    out[..., 0] *= -1.0
    out[..., 2] *= -1.0
    out = out / scale + 0.0  # + 0.0: no -0.0 where a coordinate is 0 (2D layouts' z)
    mask = mask & mask[:, 1:2]  # without a neck a frame has no origin
    return out, mask
