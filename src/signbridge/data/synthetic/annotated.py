"""Synthetic sign signals for real annotations: PHOENIX14T's and CSL-Daily's language with synthesised signing.

The real corpora's annotation files give every sample its text, gloss sequence, signer and frame
count, but no signal this package may ship. :func:`synthesize_annotated` keeps all four and
synthesises the signal from the glosses with the embedded corpus' motion machinery:

1. the gloss sequence becomes body parameters exactly as in the embedded corpus
   (:func:`~signbridge.data.synthetic.motion._sequence_parameters`: one motion primitive per gloss
   string, co-articulated transitions, rest postures at both ends, smooth angle noise);
2. those parameters are resampled linearly in time to the sample's real ``num_frames``, so the
   produced poses have the real sequence length (and signing speed);
3. forward kinematics on the body of the sample's signer (one body per real signer name, drawn from
   ``lexicon_seed`` and the name, see :func:`signer_body`), position noise, the neck at the origin;
4. S3D-like features (``ceil(num_frames / 4)`` steps of ``feature_dim`` values) from the poses, as
   in the embedded corpus (:mod:`.features`).

Every sample depends only on ``(config.seed, split, name)``: the same seed gives identical data.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .config import _SPLIT_IDS, SPLITS, SyntheticCorpusConfig, _check_split
from .features import _features_of_many
from .motion import _sequence_parameters
from .skeleton import Signer, _body_sizes, _draw_signer, _forward_kinematics

__all__ = ["signer_body", "synthesize_annotated", "read_annotated_corpus"]

_BLOCK = 128  # samples whose kinematics and features are computed together
_SIGNER_CACHE: dict[tuple, Signer] = {}


def signer_body(name: str, config: SyntheticCorpusConfig) -> Signer:
    """The synthetic body of the real signer ``name``: deterministic from ``lexicon_seed`` and the name.

    The body's proportions, signing height and amplitude are drawn like the embedded corpus'
    signers (:func:`~signbridge.data.synthetic.make_signers`); its speed is the middle of
    ``speed_range`` (the real frame count sets the tempo of every sample anyway).
    """
    key = (config.lexicon_seed, config.speed_range, name)
    body = _SIGNER_CACHE.get(key)
    if body is None:
        rng = np.random.default_rng([config.lexicon_seed, 7, zlib.crc32(name.encode("utf-8"))])
        body = _draw_signer(rng, name, float(np.mean(config.speed_range)))
        _SIGNER_CACHE[key] = body
    return body


def _stretch(params: np.ndarray, frames: int) -> np.ndarray:
    """(frames, P): ``params`` (T, P) resampled linearly in time (both ends kept)."""
    if len(params) == frames:
        return params
    if len(params) == 1:
        return np.repeat(params, frames, axis=0)
    position = np.linspace(0.0, len(params) - 1.0, frames)
    low = np.minimum(position.astype(int), len(params) - 2)
    frac = (position - low)[:, None]
    return params[low] * (1.0 - frac) + params[low + 1] * frac


def _check_record(record: Mapping[str, Any], index: int, split: str) -> int:
    for key in ("name", "signer", "gloss", "text", "num_frames"):
        if key not in record:
            raise ValueError(f"{split} record {index} has no {key!r} (keys: {sorted(record)[:8]})")
    frames = record["num_frames"]
    if not isinstance(frames, (int, np.integer)) or isinstance(frames, bool) or frames < 1:
        raise ValueError(
            f"{split} record {index} ({str(record['name'])[:60]!r}): num_frames must be an integer >= 1 to "
            f"synthesise its signal, got {str(frames)[:40]}"
        )
    return int(frames)


def _block(
    records: list[Mapping[str, Any]], start: int, split: str, config: SyntheticCorpusConfig
) -> list[dict]:
    split_id = _SPLIT_IDS[split]
    examples, params, bodies, rngs = [], [], [], []
    for offset, record in enumerate(records):
        frames = _check_record(record, start + offset, split)
        body = signer_body(str(record["signer"]), config)
        rng = np.random.default_rng(
            [config.seed, split_id, zlib.crc32(str(record["name"]).encode("utf-8")), 1]
        )
        params.append(_stretch(_sequence_parameters(str(record["gloss"]).split(), body, config, rng), frames))
        bodies.append(body)
        rngs.append(rng)
        examples.append(
            {
                "name": str(record["name"]),
                "signer": str(record["signer"]),
                "gloss": str(record["gloss"]),
                "text": str(record["text"]),
                "num_frames": frames,
            }
        )
    if not examples:
        return examples
    lengths = [len(p) for p in params]
    sizes = {k: v.astype(np.float32) for k, v in _body_sizes(bodies, lengths).items()}
    poses_all = _forward_kinematics(np.concatenate(params, axis=0).astype(np.float32), sizes)
    poses_all[:, 1] = 0.0  # the neck is the origin, as in the real skeletons
    sequences = []
    for example, seq, rng in zip(examples, np.split(poses_all, np.cumsum(lengths)[:-1]), rngs, strict=True):
        seq = np.ascontiguousarray(seq, dtype=np.float32)
        if config.pose_noise > 0:
            noise = rng.standard_normal(size=seq.shape, dtype=np.float32) * np.float32(config.pose_noise)
            noise[:, 1] = 0.0
            seq += noise
        example["poses"] = seq
        sequences.append(seq)
    for example, features in zip(examples, _features_of_many(sequences, config, rngs), strict=True):
        example["features"] = features
    return examples


def synthesize_annotated(
    records: Iterable[Mapping[str, Any]], split: str, config: SyntheticCorpusConfig | None = None
) -> Iterator[dict[str, Any]]:
    """Yield ``records`` (SLRT annotation dicts) with a synthesised sign signal, in their order.

    Each output has the record's ``name``, ``signer``, ``gloss``, ``text`` and ``num_frames``, plus
    ``poses`` float32 (num_frames, 50, 3) and ``features`` float32 (ceil(num_frames / 4),
    ``config.feature_dim``), generated as the module docstring says. ``config`` supplies the seed and
    the generator's settings (its split sizes are not used).

    Raises:
        ValueError: a record without one of the five keys, or with ``num_frames`` < 1.
    """
    _check_split(split)
    config = config or SyntheticCorpusConfig()
    if not isinstance(config, SyntheticCorpusConfig):
        raise TypeError(f"config must be a SyntheticCorpusConfig or None, got {type(config).__name__}")
    block: list[Mapping[str, Any]] = []
    start = 0
    for record in records:
        block.append(record)
        if len(block) == _BLOCK:
            yield from _block(block, start, split, config)
            start += len(block)
            block = []
    yield from _block(block, start, split, config)


def read_annotated_corpus(
    data_dir: str | Path,
    annotation_prefix: str,
    config: SyntheticCorpusConfig | None = None,
    max_samples: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Read ``<data_dir>/<annotation_prefix>.{train,dev,test}`` and synthesise every sample's signal.

    Returns ``{split: [example, ...]}`` (the corpus dict :func:`~signbridge.data.synthetic.write_corpus`
    writes in the real formats). ``max_samples`` keeps the first N samples of each split.
    """
    from ..slrt import read_slrt_annotations

    if max_samples is not None and (not isinstance(max_samples, int) or max_samples < 1):
        raise ValueError(f"max_samples must be None or an integer >= 1, got {max_samples!r}")
    out = {}
    for split in SPLITS:
        records = read_slrt_annotations(Path(data_dir) / f"{annotation_prefix}.{split}")
        if max_samples is not None:
            records = records[:max_samples]
        out[split] = list(synthesize_annotated(records, split, config))
    return out
