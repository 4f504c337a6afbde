"""Sign motion: the lexicon of motion primitives and the body parameters of a gloss sequence.

Every gloss owns one *motion primitive*: 2-3 key postures of the articulated body of
:mod:`.skeleton`, with an optional repeated movement, derived deterministically from the gloss
string and ``lexicon_seed``. A sentence is its glosses' primitives played one after another with
smooth (co-articulated) transitions between them, starting and ending at the rest posture, with
smooth angle noise (:func:`_sequence_parameters`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .config import SyntheticCorpusConfig
from .skeleton import _ARM_A, _ARM_B, _ARM_PARAMS, _HEAD, _NUM_PARAMS, _REST, Signer


def _random_arm(rng: np.random.Generator) -> np.ndarray:
    arm = np.empty(_ARM_PARAMS)
    arm[0] = rng.uniform(0.1, 0.7)  # upper arm sideways
    arm[1] = rng.uniform(0.0, 0.5)  # upper arm forward
    arm[2] = rng.uniform(-2.9, -0.7)  # forearm: -pi/2 points to the body midline, -pi straight up
    arm[3] = rng.uniform(0.1, 0.9)  # forearm forward
    arm[4:6] = rng.uniform(-0.6, 0.6, size=2)  # hand relative to forearm
    arm[6:11] = rng.uniform(0.0, 1.6, size=5)  # finger curls (thumb first)
    arm[11] = rng.uniform(0.0, 1.0)  # spread
    return arm


@dataclass(frozen=True)
class _Primitive:
    keyframes: np.ndarray  # (K, P)
    duration: int  # frames at speed 1
    oscillation: np.ndarray  # (P,) amplitude of a repeated movement
    cycles: float


_PRIMITIVE_CACHE: dict[tuple[int, str], _Primitive] = {}


def _primitive(gloss: str, lexicon_seed: int) -> _Primitive:
    """The motion primitive of ``gloss``: deterministic from the gloss string and the lexicon seed."""
    key = (lexicon_seed, gloss)
    cached = _PRIMITIVE_CACHE.get(key)
    if cached is not None:
        return cached
    rng = np.random.default_rng([lexicon_seed, zlib.crc32(gloss.encode("utf-8"))])
    num_keys = int(rng.integers(2, 4))
    first = _REST.copy()
    first[_HEAD] += rng.normal(0.0, 0.08, size=2)
    first[_ARM_A : _ARM_A + _ARM_PARAMS] = _random_arm(rng)
    two_handed = rng.random() < 0.4
    if two_handed:
        first[_ARM_B : _ARM_B + _ARM_PARAMS] = _random_arm(rng)
    else:  # the passive hand moves a little away from rest
        first[_ARM_B : _ARM_B + 6] += rng.normal(0.0, 0.1, size=6)
    keys = [first]
    movement_mask = np.zeros(_NUM_PARAMS)
    movement_mask[_HEAD] = 0.3
    movement_mask[_ARM_A : _ARM_A + 6] = 1.0
    movement_mask[_ARM_A + 6 : _ARM_A + _ARM_PARAMS] = 0.5
    if two_handed:
        movement_mask[_ARM_B : _ARM_B + 6] = 1.0
        movement_mask[_ARM_B + 6 : _ARM_B + _ARM_PARAMS] = 0.5
    for _ in range(num_keys - 1):
        keys.append(keys[-1] + rng.normal(0.0, 0.3, size=_NUM_PARAMS) * movement_mask)
    oscillation = np.zeros(_NUM_PARAMS)
    cycles = 0.0
    if rng.random() < 0.35:
        joint = _ARM_A + int(rng.integers(0, 4))
        oscillation[joint] = rng.uniform(0.1, 0.25)
        if two_handed:
            oscillation[joint + _ARM_PARAMS] = oscillation[joint]
        cycles = float(rng.integers(2, 4))
    prim = _Primitive(np.stack(keys), int(rng.integers(9, 19)), oscillation, cycles)
    _PRIMITIVE_CACHE[key] = prim
    return prim


def _smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3.0 - 2.0 * x)


_PLAY_CACHE: dict[tuple[int, str, int, Signer], np.ndarray] = {}


def _play_cached(gloss: str, frames: int, signer: Signer, lexicon_seed: int) -> np.ndarray:
    key = (lexicon_seed, gloss, frames, signer)
    out = _PLAY_CACHE.get(key)
    if out is None:
        if len(_PLAY_CACHE) > 20_000:  # bound the memory (a few KB per entry)
            _PLAY_CACHE.clear()
        out = _play(_primitive(gloss, lexicon_seed), frames, signer)
        out.setflags(write=False)
        _PLAY_CACHE[key] = out
    return out


def _play(prim: _Primitive, frames: int, signer: Signer) -> np.ndarray:
    """(frames, P) parameters of one primitive played over ``frames`` frames by ``signer``."""
    keys = _REST + (prim.keyframes - _REST) * signer.amplitude
    keys[:, _ARM_A] += signer.height_offset
    keys[:, _ARM_B] += signer.height_offset * 0.5
    t = np.linspace(0.0, 1.0, frames)
    u = t * (len(keys) - 1)
    idx = np.minimum(u.astype(int), len(keys) - 2)
    frac = _smoothstep(u - idx)[:, None]
    out = keys[idx] * (1.0 - frac) + keys[idx + 1] * frac
    if prim.cycles:
        out = out + np.sin(2.0 * np.pi * prim.cycles * t)[:, None] * prim.oscillation
    return out


_RAMPS: dict[int, np.ndarray] = {}


def _transition(start: np.ndarray, end: np.ndarray, frames: int) -> np.ndarray:
    """Co-articulated movement between two postures, excluding both end points."""
    s = _RAMPS.get(frames)
    if s is None:
        s = _RAMPS.setdefault(frames, _smoothstep(np.arange(1, frames + 1) / (frames + 1))[:, None])
    return start + (end - start) * s


def _sequence_parameters(
    glosses: list[str], signer: Signer, config: SyntheticCorpusConfig, rng: np.random.Generator
) -> np.ndarray:
    """(T, P) body parameters of a gloss sequence."""
    rest = _REST.copy()
    pieces = [np.repeat(rest[None], config.rest_frames + int(rng.integers(0, 3)), axis=0)]
    trans = max(2, round(config.transition_frames / signer.speed))
    previous = rest
    for gloss in glosses:
        prim = _primitive(gloss, config.lexicon_seed)
        frames = max(4, round(prim.duration / signer.speed * rng.uniform(0.95, 1.05)))
        played = _play_cached(gloss, frames, signer, config.lexicon_seed)
        pieces.append(_transition(previous, played[0], trans))
        pieces.append(played)
        previous = played[-1]
    pieces.append(_transition(previous, rest, trans))
    pieces.append(np.repeat(rest[None], config.rest_frames + int(rng.integers(0, 3)), axis=0))
    params = np.concatenate(pieces, axis=0)
    # co-articulation: neighbouring signs blend a little (short moving average, edges held)
    kernel = np.array([0.25, 0.5, 0.25])
    padded = np.concatenate([params[:1], params, params[-1:]], axis=0)
    params = kernel[0] * padded[:-2] + kernel[1] * padded[1:-1] + kernel[2] * padded[2:]
    if config.angle_noise > 0:  # smooth angle noise: a low-pass random walk
        noise = np.cumsum(rng.normal(0.0, config.angle_noise, size=params.shape), axis=0)
        noise -= np.linspace(0.0, 1.0, len(params))[:, None] * noise[-1]
        params = params + 0.3 * noise
    return params
