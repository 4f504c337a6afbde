"""The synthetic signers' bodies: the 50-joint skeleton, its articulated parameters and kinematics.

The skeleton is the one of the Progressive Transformers release (0 head, 1 neck = origin, 2-4 / 5-7
the two arms as shoulder, elbow, wrist, 8-28 and 29-49 the two 21-point hands; y points down, z
towards the camera; real units, i.e. the ``.skels`` values times 3). A posture is a vector of 26
body parameters (head turn, shoulder/elbow/wrist angles, five finger curls and a spread per hand);
:func:`_forward_kinematics` turns parameters into joint positions with a :class:`Signer`'s bone
lengths. :func:`make_signers` draws the signers (proportions, speed, signing height, amplitude).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SyntheticCorpusConfig

__all__ = ["NUM_JOINTS", "Signer", "make_signers"]

NUM_JOINTS = 50

# parameter layout of the articulated body (per frame)
_HEAD = slice(0, 2)  # yaw, pitch
_ARM_PARAMS = 12  # upper arm (a, b), forearm (a, b), hand (a, b) relative to forearm, 5 curls, spread
_ARM_A = 2  # the arm on +x (joints 2-4, hand 29-49): the dominant hand
_ARM_B = 2 + _ARM_PARAMS  # the arm on -x (joints 5-7, hand 8-28)
_NUM_PARAMS = 2 + 2 * _ARM_PARAMS

# the rest posture: the start and end of every sequence
_REST = np.zeros(_NUM_PARAMS)
_REST[_HEAD] = (-0.09, -0.2)
for _base in (_ARM_A, _ARM_B):
    # upper arm hanging, forearm forward and inward (hands in front of the belly), relaxed fingers
    _REST[_base : _base + _ARM_PARAMS] = (0.15, 0.05, -1.0, 0.7, 0.0, 0.0, 0.3, 0.4, 0.4, 0.4, 0.4, 0.5)


# ============================================================================= signers
@dataclass(frozen=True)
class Signer:
    """Body proportions and style of one synthetic signer (lengths in real skeleton units)."""

    name: str
    shoulder_half_width: float
    upper_arm: float
    forearm: float
    hand: float
    head: float
    speed: float
    height_offset: float  # added to the upper-arm elevation of signing postures (radians)
    amplitude: float  # scales the distance of signing postures from the rest posture


def _draw_signer(rng: np.random.Generator, name: str, speed: float) -> Signer:
    """One signer's body and style drawn from ``rng`` (the draws of :func:`make_signers`, in its order)."""
    scale = rng.uniform(0.9, 1.1)
    return Signer(
        name=name,
        shoulder_half_width=0.5 * scale * rng.uniform(0.93, 1.07),
        upper_arm=0.89 * scale * rng.uniform(0.95, 1.05),
        forearm=0.64 * scale * rng.uniform(0.95, 1.05),
        hand=1.0 * scale * rng.uniform(0.92, 1.08),
        head=0.61 * scale * rng.uniform(0.95, 1.05),
        speed=speed,
        height_offset=rng.uniform(-0.12, 0.12),
        amplitude=rng.uniform(0.85, 1.15),
    )


def make_signers(config: SyntheticCorpusConfig | None = None) -> list[Signer]:
    """The corpus' signers, deterministic from ``lexicon_seed`` (not the corpus seed)."""
    config = config or SyntheticCorpusConfig()
    rng = np.random.default_rng([config.lexicon_seed, 7])
    low, high = config.speed_range
    return [
        _draw_signer(
            rng,
            f"Signer{k + 1:02d}",
            float(low + (high - low) * (k + 0.5) / config.num_signers) if high > low else low,
        )
        for k in range(config.num_signers)
    ]


# ============================================================================= forward kinematics
def _direction(a: np.ndarray, b: np.ndarray, side: float) -> np.ndarray:
    """Unit vectors for sideways angle ``a`` (from straight down towards ``side``) and forward ``b``."""
    cb = np.cos(b)
    return np.stack([side * np.sin(a) * cb, np.cos(a) * cb, np.sin(b)], axis=-1)


def _rotation(a: np.ndarray, b: np.ndarray, side: float) -> np.ndarray:
    """(T, 3, 3) rotations R_z(-side * a) @ R_x(b); they map +y to ``_direction(a, b, side)``."""
    za = -side * a
    cz, sz, cx, sx = np.cos(za), np.sin(za), np.cos(b), np.sin(b)
    zeros, ones = np.zeros_like(a), np.ones_like(a)
    rz = np.stack(
        [np.stack([cz, -sz, zeros], -1), np.stack([sz, cz, zeros], -1), np.stack([zeros, zeros, ones], -1)],
        -2,
    )
    rx = np.stack(
        [np.stack([ones, zeros, zeros], -1), np.stack([zeros, cx, -sx], -1), np.stack([zeros, sx, cx], -1)],
        -2,
    )
    return rz @ rx


# canonical hand (pointing +y, spread along x on the thumb side for side=+1)
_FINGER_BASE_X = np.array([0.12, 0.07, 0.02, -0.03, -0.08], dtype=np.float32)
_FINGER_BASE_Y = np.array([0.07, 0.22, 0.23, 0.22, 0.20], dtype=np.float32)
_FINGER_ANGLE = np.array([0.7, 0.15, 0.03, -0.08, -0.2], dtype=np.float32)  # sideways angle of each finger
_PHALANX = np.array(
    [[0.09, 0.08, 0.07], [0.11, 0.07, 0.06], [0.12, 0.08, 0.06], [0.11, 0.07, 0.06], [0.09, 0.06, 0.05]],
    dtype=np.float32,
)


def _hand_points(curl: np.ndarray, spread: np.ndarray, side: float) -> np.ndarray:
    """(T, 21, 3) hand points in the canonical hand frame (wrist at the origin)."""
    t = curl.shape[0]
    psi = _FINGER_ANGLE[None, :] * (0.5 + spread[:, None])  # (T, 5)
    ux, uy = side * np.sin(psi), np.cos(psi)
    phi = np.cumsum(np.repeat(curl[:, :, None] * 0.5, 3, axis=2), axis=2)  # (T, 5, 3)
    step_in_plane = _PHALANX[None] * np.cos(phi)
    step_z = _PHALANX[None] * np.sin(phi)
    dx = np.cumsum(step_in_plane * ux[:, :, None], axis=2) + side * _FINGER_BASE_X[None, :, None]
    dy = np.cumsum(step_in_plane * uy[:, :, None], axis=2) + _FINGER_BASE_Y[None, :, None]
    dz = np.cumsum(step_z, axis=2)
    # first point of each finger is its base (MCP), then three joints/tips
    base = np.stack(
        [
            np.broadcast_to(side * _FINGER_BASE_X, (t, 5)),
            np.broadcast_to(_FINGER_BASE_Y, (t, 5)),
            np.zeros((t, 5), dtype=curl.dtype),
        ],
        axis=-1,
    )
    rest = np.stack([dx, dy, dz], axis=-1)  # (T, 5, 3, 3)
    # a finger is 4 points: base + 3 phalanx ends; keep base + first two ends + tip
    fingers = np.concatenate([base[:, :, None], rest], axis=2)  # (T, 5, 4, 3)
    points = np.concatenate([np.zeros((t, 1, 3), dtype=fingers.dtype), fingers.reshape(t, 20, 3)], axis=1)
    return points


_BODY_FIELDS = ("shoulder_half_width", "upper_arm", "forearm", "hand", "head")


def _body_sizes(signers: list[Signer], frames: list[int]) -> dict[str, np.ndarray]:
    """Per-frame (T, 1) body sizes for consecutive sequences of ``frames`` frames by ``signers``."""
    return {name: np.repeat([getattr(s, name) for s in signers], frames)[:, None] for name in _BODY_FIELDS}


def _forward_kinematics(params: np.ndarray, signer: Signer | dict[str, np.ndarray]) -> np.ndarray:
    """(T, 50, 3) joint positions of body parameters ``params`` (T, P).

    ``signer`` is one :class:`Signer` or per-frame body sizes from :func:`_body_sizes` (so that many
    sequences by different signers go through one vectorised call).
    """
    if isinstance(signer, Signer):
        signer = _body_sizes([signer], [params.shape[0]])
    t = params.shape[0]
    out = np.zeros((t, NUM_JOINTS, 3), dtype=params.dtype)
    yaw, pitch = params[:, 0], params[:, 1]
    out[:, 0] = signer["head"] * np.stack(
        [np.sin(yaw), -np.cos(yaw) * np.cos(pitch), np.cos(yaw) * np.sin(pitch)], -1
    )
    for base, side, joints, hand_start in ((_ARM_A, 1.0, (2, 3, 4), 29), (_ARM_B, -1.0, (5, 6, 7), 8)):
        p = params[:, base : base + _ARM_PARAMS]
        zeros = np.zeros_like(signer["head"])
        shoulder = np.concatenate([side * signer["shoulder_half_width"], zeros + 0.01, zeros + 0.04], axis=1)
        elbow = shoulder + signer["upper_arm"] * _direction(p[:, 0], p[:, 1], side)
        wrist = elbow + signer["forearm"] * _direction(p[:, 2], p[:, 3], side)
        out[:, joints[0]] = shoulder
        out[:, joints[1]] = elbow
        out[:, joints[2]] = wrist
        rot = _rotation(p[:, 2] + p[:, 4], p[:, 3] + p[:, 5], side)
        hand = _hand_points(p[:, 6:11], p[:, 11], side) * signer["hand"][:, :, None]
        out[:, hand_start : hand_start + 21] = wrist[:, None] + hand @ rot.transpose(0, 2, 1)
    return out
