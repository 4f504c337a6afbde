"""MediaPipe Holistic / OpenPose poses -> the 50-joint skeleton: real samples, closed-form round trips, errors."""

import numpy as np
import pytest

pytest.importorskip("pose_format")

from pose_format import Pose  # noqa: E402
from pose_format.numpy.pose_body import NumPyPoseBody  # noqa: E402
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions  # noqa: E402

from signbridge.data.joint_maps import (  # noqa: E402
    JOINT_MAPS,
    SKELETON_JOINTS,
    NoSignerError,
    UnknownPoseLayoutError,
    detect_layout,
    skeleton_from_pose,
)
from signbridge.data.pose_files import read_pose_file, skeleton50_header, write_pose_file  # noqa: E402
from signbridge.data.synthetic import generate_corpus  # noqa: E402

RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_WRIST, LEFT_SHOULDER, LEFT_ELBOW, LEFT_WRIST = 2, 3, 4, 5, 6, 7
LEFT_HAND, RIGHT_HAND = 8, 29  # first joint (the hand's wrist) of each 21-point hand


def _read(path) -> Pose:
    return Pose.read(path.read_bytes())


def _bone(skeleton, mask, a, b) -> float:
    both = mask[:, a] & mask[:, b]
    assert both.any(), f"joints {a} and {b} are never found together"
    return float(np.median(np.linalg.norm(skeleton[both, a] - skeleton[both, b], axis=-1)))


def _check_plausible_body(skeleton, mask):
    """What any signer's skeleton in the models' frame shows, whatever the source layout."""
    assert skeleton.dtype == np.float32 and skeleton.shape[1:] == (50, 3)
    assert mask.shape == skeleton.shape[:2]
    assert not skeleton[~mask].any()  # joints not found are 0
    # the neck is the origin, halfway between the shoulders, which are 1 apart (the median frame)
    both = mask[:, RIGHT_SHOULDER] & mask[:, LEFT_SHOULDER]
    np.testing.assert_allclose(skeleton[mask[:, 1], 1], 0.0, atol=1e-6)
    np.testing.assert_allclose(skeleton[both, RIGHT_SHOULDER], -skeleton[both, LEFT_SHOULDER], atol=1e-5)
    assert _bone(skeleton, mask, RIGHT_SHOULDER, LEFT_SHOULDER) == pytest.approx(1.0, abs=1e-5)
    # the signer's right shoulder along +x and the head above the neck (y down), as in the PHOENIX14T skeletons
    assert (skeleton[both, RIGHT_SHOULDER, 0] > 0).all()
    assert np.median(skeleton[mask[:, 0], 0, 1]) < -0.3
    # both forearms (and both upper arms) of similar length; hand bones shorter than arm bones
    forearms = _bone(skeleton, mask, RIGHT_ELBOW, RIGHT_WRIST), _bone(skeleton, mask, LEFT_ELBOW, LEFT_WRIST)
    upper_arms = (
        _bone(skeleton, mask, RIGHT_SHOULDER, RIGHT_ELBOW),
        _bone(skeleton, mask, LEFT_SHOULDER, LEFT_ELBOW),
    )
    assert 0.67 < forearms[0] / forearms[1] < 1.5, forearms
    assert 0.67 < upper_arms[0] / upper_arms[1] < 1.5, upper_arms
    assert all(0.25 < length < 1.5 for length in forearms + upper_arms), (forearms, upper_arms)
    for first, wrist in ((RIGHT_HAND, RIGHT_WRIST), (LEFT_HAND, LEFT_WRIST)):
        if not mask[:, first].any():
            continue
        palm = _bone(skeleton, mask, first, first + 9)  # wrist -> middle finger MCP
        finger = _bone(skeleton, mask, first + 5, first + 6)  # index MCP -> PIP
        assert 0.05 < palm < min(forearms + upper_arms), palm
        assert 0.01 < finger < palm, (finger, palm)
        # the hand's wrist is at the arm's wrist
        assert _bone(skeleton, mask, first, wrist) < 0.5 * palm + 0.1


def test_real_mediapipe_sample(pose_samples_dir):
    pose = _read(pose_samples_dir / "mediapipe.pose")
    assert detect_layout(pose.header) == "mediapipe_holistic"
    skeleton, mask = skeleton_from_pose(pose, return_mask=True)
    assert skeleton.shape == (170, 50, 3)
    _check_plausible_body(skeleton, mask)
    # the sample's left hand is never detected, its right hand in 145 of the 170 frames
    assert not mask[:, LEFT_HAND : LEFT_HAND + 21].any()
    assert mask[:, RIGHT_HAND : RIGHT_HAND + 21].all(axis=1).sum() == 145
    # the file keeps no NOSE: the head is the middle of the eyes (face mesh points 33 and 263)
    assert mask[:, 0].all()
    # without a mask the same array comes back
    np.testing.assert_array_equal(skeleton_from_pose(pose), skeleton)


def test_real_openpose_sample_is_2d(pose_samples_dir):
    pose = _read(pose_samples_dir / "openpose.pose")
    assert detect_layout(pose.header) == "openpose_body25"
    skeleton, mask = skeleton_from_pose(pose, return_mask=True)
    assert skeleton.shape == (93, 50, 3)
    _check_plausible_body(skeleton, mask)
    assert not skeleton[..., 2].any() and not np.signbit(skeleton[..., 2]).any()  # 2D: z is 0 (not -0)
    assert mask[:, LEFT_HAND].any() and mask[:, RIGHT_HAND].any()


def test_real_sample_through_read_pose_file_header(pose_samples_dir):
    """Without normalisation the body joints are the file's own points (neck = midpoint of the shoulders)."""
    path = pose_samples_dir / "openpose.pose"
    raw = read_pose_file(path)
    names = [f"{c.name}/{p}" for c in raw.header.components for p in c.points]
    skeleton, mask = skeleton_from_pose(_read(path), normalize=False, return_mask=True)
    r, lft = names.index("pose_keypoints_2d/RShoulder"), names.index("pose_keypoints_2d/LShoulder")
    ok = raw.mask[:, r] & raw.mask[:, lft]
    np.testing.assert_allclose(skeleton[ok, 1, :2], (raw.data[ok, r] + raw.data[ok, lft]) / 2, rtol=1e-6)
    wrist = names.index("hand_right_keypoints_2d/BASE")
    np.testing.assert_allclose(
        skeleton[raw.mask[:, wrist], RIGHT_HAND, :2], raw.data[raw.mask[:, wrist], wrist]
    )
    np.testing.assert_array_equal(mask[:, RIGHT_HAND], raw.mask[:, wrist])


# ------------------------------------------------------------------------------------------ closed-form round trips
def _skeleton():
    """A synthetic signer's (T, 50, 3) skeleton, the neck at the midpoint of the shoulders and each hand moved to its
    arm's wrist (the corpus adds noise to both; one point per wrist is what BODY_135 and MediaPipe's depths keep)."""
    poses = generate_corpus(train_size=1, dev_size=1, test_size=1, seed=0)["train"][0]["poses"][:6]
    poses = poses.astype(np.float64)
    poses[:, 1] = (poses[:, RIGHT_SHOULDER] + poses[:, LEFT_SHOULDER]) / 2
    for first, wrist in ((LEFT_HAND, LEFT_WRIST), (RIGHT_HAND, RIGHT_WRIST)):
        poses[:, first : first + 21] += (poses[:, wrist] - poses[:, first])[:, None]
    return poses


def _normalized(skeleton):
    """What the conversion must return: neck at 0, shoulders 1 apart (the synthetic signer's are not quite)."""
    shoulders = skeleton[:, RIGHT_SHOULDER, :2] - skeleton[:, LEFT_SHOULDER, :2]  # in the image plane
    width = np.median(np.linalg.norm(shoulders, axis=-1))
    return (skeleton - skeleton[:, 1:2]) / width


def _image_points(layout: str, skeleton, scale=300.0, offset=(500.0, 400.0, 0.0)) -> dict[str, np.ndarray]:
    """``skeleton`` as a camera sees it (the inverse of the conversion), keyed by ``layout``'s source names."""
    image = skeleton * scale
    image[..., 0] *= -1
    image[..., 2] *= -1
    image += np.asarray(offset)
    values: dict[str, np.ndarray] = {}
    for j, joint in enumerate(SKELETON_JOINTS):
        source = JOINT_MAPS[layout][joint]
        source = source[0] if isinstance(source, list) else source
        if isinstance(source, str):  # the neck (a mean of the shoulders) is written by the shoulders
            values.setdefault(source, image[:, j])
    return values


def _make_pose(values: dict[str, np.ndarray], dims=3) -> Pose:
    points: dict[str, list[str]] = {}
    for name in values:
        component, _, point = name.partition("/")
        points.setdefault(component, []).append(point)
    fmt = "XYZC" if dims == 3 else "XYC"
    components = [PoseHeaderComponent(c, p, [], [], fmt) for c, p in points.items()]
    header = PoseHeader(0.2, PoseHeaderDimensions(1000, 1000, 1000), components)
    data = np.stack([v[:, :dims] for v in values.values()], axis=1)[:, None]
    body = NumPyPoseBody(fps=25, data=np.ma.masked_array(data), confidence=np.ones(data.shape[:3]))
    return Pose(header, body)


def _pose_in(layout: str, skeleton, dims=3) -> Pose:
    return _make_pose(_image_points(layout, skeleton), dims)


@pytest.mark.parametrize("layout", ["openpose_body135", "openpose_body25"])
def test_openpose_layouts_round_trip(layout):
    skeleton = _skeleton()
    np.testing.assert_allclose(
        skeleton_from_pose(_pose_in(layout, skeleton)), _normalized(skeleton), atol=1e-5
    )
    flat = skeleton_from_pose(_pose_in(layout, skeleton, dims=2))
    assert not flat[..., 2].any()
    expected = _normalized(skeleton)
    np.testing.assert_allclose(flat[..., :2], expected[..., :2], atol=1e-5)


def test_mediapipe_round_trip_with_depth_in_image_widths_and_hands_relative_to_their_wrist():
    skeleton = _skeleton()
    values = _image_points("mediapipe_holistic", skeleton)
    for points in values.values():
        points[:, 2] /= 1000.0  # MediaPipe's z is in units of the image width (the header's width is 1000)
    for component in ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"):
        wrist = values[f"{component}/WRIST"][:, 2].copy()
        for name, points in values.items():
            if name.startswith(component):
                points[:, 2] -= wrist
    np.testing.assert_allclose(skeleton_from_pose(_make_pose(values)), _normalized(skeleton), atol=1e-5)


def test_without_a_nose_the_head_is_the_face_mesh_nose_tip_or_the_middle_of_the_eyes():
    skeleton = _skeleton()
    values = _image_points("mediapipe_holistic", skeleton)
    del values["POSE_LANDMARKS/NOSE"]
    t = len(skeleton)
    values["FACE_LANDMARKS/33"] = np.tile([440.0, 160.0, 0.0], (t, 1))
    values["FACE_LANDMARKS/263"] = np.tile([560.0, 170.0, 0.0], (t, 1))
    head = skeleton_from_pose(_make_pose(values), normalize=False)[:, 0]
    np.testing.assert_allclose(head, np.tile([500.0, 165.0, 0.0], (t, 1)))
    values["FACE_LANDMARKS/1"] = np.tile([505.0, 190.0, 0.0], (t, 1))
    head = skeleton_from_pose(_make_pose(values), normalize=False)[:, 0]
    np.testing.assert_allclose(head, np.tile([505.0, 190.0, 0.0], (t, 1)))


def test_signbridge_layout_is_returned_unchanged(tmp_path):
    skeleton = _skeleton().astype(np.float32) + 7.0  # not normalised: nothing may move it
    mask = np.ones(skeleton.shape[:2], dtype=bool)
    mask[2, 30] = False
    path = write_pose_file(tmp_path / "s.pose", skeleton, mask=mask)
    back, back_mask = skeleton_from_pose(_read(path), return_mask=True)
    np.testing.assert_array_equal(back_mask, mask)
    np.testing.assert_array_equal(back, np.where(mask[..., None], skeleton, 0))
    assert detect_layout(skeleton50_header()) == "signbridge"


# ------------------------------------------------------------------------------------------------------------ errors
def test_unknown_layout_names_the_missing_components():
    header = PoseHeader(
        0.2,
        PoseHeaderDimensions(10, 10, 10),
        [PoseHeaderComponent("POSE_LANDMARKS", ["NOSE", "LEFT_SHOULDER"], [], [], "XYZC")],
    )
    with pytest.raises(
        UnknownPoseLayoutError, match="mediapipe_holistic misses LEFT_HAND_LANDMARKS, RIGHT_HAND_LANDMARKS"
    ):
        detect_layout(header)


def test_a_known_layout_missing_points_names_them():
    pose = _pose_in("openpose_body25", _skeleton())
    component = pose.header.components[0]
    component.points = ["Nose2" if p == "RElbow" else p for p in component.points]
    with pytest.raises(UnknownPoseLayoutError, match=r"BODY/RIGHT_ELBOW.*pose_keypoints_2d/RElbow"):
        skeleton_from_pose(pose)


def test_no_signer_found_when_no_frame_has_both_shoulders():
    pose = _pose_in("openpose_body25", _skeleton(), dims=2)
    names = [f"{c.name}/{p}" for c in pose.header.components for p in c.points]
    pose.body.confidence[:, :, names.index("pose_keypoints_2d/LShoulder")] = 0
    with pytest.raises(NoSignerError, match="no signer found"):
        skeleton_from_pose(pose)
    # without normalisation the rest is still read
    _, mask = skeleton_from_pose(pose, normalize=False, return_mask=True)
    assert not mask[:, LEFT_SHOULDER].any() and mask[:, RIGHT_SHOULDER].all()


def test_several_people_are_refused():
    pose = _pose_in("openpose_body25", _skeleton())
    data = np.ma.concatenate([pose.body.data, pose.body.data], axis=1)
    pose = Pose(pose.header, NumPyPoseBody(fps=25, data=data, confidence=np.ones(data.shape[:3])))
    with pytest.raises(UnknownPoseLayoutError, match="holds 2 people"):
        skeleton_from_pose(pose)
