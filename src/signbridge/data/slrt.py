"""Safe readers and writers of the SLRT gzip-pickled annotation and feature files.

The SLRT release (``FangyunWei/SLRT``, ``TwoStreamNetwork/data``) ships PHOENIX14T and CSL-Daily
annotations as gzip-compressed pickles of a list of dicts with the keys ``name``, ``signer``,
``gloss``, ``text``, ``num_frames`` and ``sign`` (an empty torch tensor placeholder; PHOENIX
also has ``alignments``). Visual features (S3D block-4 outputs, 832 values per step) come in
separate gzip pickles of ``{name, gloss, text, num_frames, sign: FloatTensor[T', 832]}``.

Reading goes through the restricted unpickler of :mod:`signbridge.data.safe_pickle` (nothing in a
file runs; tensors come back as numpy arrays). Writing uses torch's own tensor pickling so the
files are exactly what the SLRT code (``pickle.load`` + torch) expects.
"""

from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.files import atomic_write
from ..utils.reprs import short_repr
from .safe_pickle import SLRTFormatError, UnsafePickleError, iter_slrt_records, safe_load_pickle

__all__ = [
    "UnsafePickleError",
    "SLRTFormatError",
    "safe_load_pickle",
    "iter_slrt_records",
    "read_slrt_annotations",
    "read_slrt_features",
    "iter_slrt_features",
    "write_slrt_annotations",
    "write_slrt_features",
    "ANNOTATION_KEYS",
]

#: Keys every SLRT annotation record must have (``sign`` and ``alignments`` are optional).
ANNOTATION_KEYS = ("name", "signer", "gloss", "text", "num_frames")


# --------------------------------------------------------------------------------------------
# validation + public readers
# --------------------------------------------------------------------------------------------


def _check_record(record: Any, index: int, path, required: Iterable[str]) -> dict:
    if not isinstance(record, dict):
        raise SLRTFormatError(f"{path}: record {index} is {type(record).__name__}, expected a dict")
    missing = [k for k in required if k not in record]
    if missing:
        raise SLRTFormatError(
            f"{path}: record {index} ({short_repr(record.get('name', '?'))}) misses keys {missing}; "
            f"has {short_repr(list(record), 160)}"
        )
    return record


def _clean_annotation(record: dict, index: int, path) -> dict:
    out = dict(record)
    if isinstance(out["signer"], (int, np.integer)) and not isinstance(out["signer"], bool):
        out["signer"] = str(int(out["signer"]))  # CSL-Daily stores signer ids as ints
    for key in ("name", "signer", "gloss", "text"):
        if not isinstance(out[key], str):
            raise SLRTFormatError(
                f"{path}: record {index} key {key!r} is {type(out[key]).__name__}, expected str"
            )
    # the type is checked before any value is shown: a nested list there could take minutes to print
    num_frames = out["num_frames"]
    if not isinstance(num_frames, (int, np.integer)) or isinstance(num_frames, bool):
        raise SLRTFormatError(
            f"{path}: record {index} num_frames is {type(num_frames).__name__}, expected a non-negative int"
        )
    if num_frames < 0:
        raise SLRTFormatError(
            f"{path}: record {index} num_frames={short_repr(num_frames)} is not a non-negative int"
        )
    out["num_frames"] = int(out["num_frames"])
    return out


def read_slrt_annotations(path: str | os.PathLike) -> list[dict]:
    """Read an SLRT annotation file (e.g. ``phoenix-2014t_cleaned.dev``) into a list of dicts.

    Each dict has ``name``, ``signer`` (str; CSL-Daily's integer ids become strings), ``gloss``,
    ``text``, ``num_frames`` (int), plus whatever
    else the file holds (``sign`` as a numpy array, PHOENIX ``alignments``).
    """
    data = safe_load_pickle(path, require_gzip=True)
    if not isinstance(data, list):
        raise SLRTFormatError(f"{path}: expected a list of dicts, found {type(data).__name__}")
    return [
        _clean_annotation(_check_record(r, i, path, ANNOTATION_KEYS), i, path) for i, r in enumerate(data)
    ]


def _clean_feature(record: Any, index: int, path) -> tuple[str, np.ndarray, dict]:
    record = _check_record(record, index, path, ("name", "sign"))
    name, sign = record["name"], record["sign"]
    if not isinstance(name, str):
        raise SLRTFormatError(f"{path}: record {index} name is {type(name).__name__}, expected str")
    if not isinstance(sign, np.ndarray) or sign.ndim != 2:
        shape = getattr(sign, "shape", type(sign).__name__)
        raise SLRTFormatError(
            f"{path}: features of {short_repr(name)} must be a 2-D tensor (T', F), got {short_repr(shape)}"
        )
    sign = sign.astype(np.float32, copy=False)
    if not np.isfinite(sign).all():
        bad = int((~np.isfinite(sign)).sum())
        raise SLRTFormatError(f"{path}: features of {short_repr(name)} contain {bad} non-finite values")
    return name, sign, record


def iter_slrt_features(path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Stream ``(name, float32 (T', F) array, record)`` from an SLRT feature file (bounded memory)."""
    for i, record in enumerate(iter_slrt_records(path)):
        yield _clean_feature(record, i, path)


def read_slrt_features(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an SLRT feature file into ``{name: float32 array (T', F)}``.

    Duplicated names and non-finite values are errors naming the file.
    """
    data = safe_load_pickle(path, require_gzip=True)
    if not isinstance(data, list):
        raise SLRTFormatError(f"{path}: expected a list of dicts, found {type(data).__name__}")
    out: dict[str, np.ndarray] = {}
    for i, record in enumerate(data):
        name, sign, _ = _clean_feature(record, i, path)
        if name in out:
            raise SLRTFormatError(f"{path}: duplicate name {short_repr(name)} (record {i})")
        out[name] = sign
    return out


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------


def _write_list(records: Iterable[dict], path: str | os.PathLike, compresslevel: int) -> Path:
    """Write a pickled list record by record, in protocol 3 like the SLRT release.

    The bytes are ``PROTO 3, EMPTY_LIST, (MARK items... APPENDS)*, STOP``, each item being what
    ``pickle.dumps(item, protocol=3)`` emits (memo indices restart per item, which unpicklers
    accept), so writing needs memory for one record only.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # through a temporary file renamed at the end: a failed write leaves the old file, not a partial one
    with atomic_write(path) as raw, gzip.GzipFile(path.name, "wb", compresslevel, raw) as f:
        f.write(pickle.PROTO + b"\x03" + pickle.EMPTY_LIST)
        in_batch = 0
        for record in records:
            if in_batch == 0:
                f.write(pickle.MARK)
            body = pickle.dumps(record, protocol=3)
            f.write(memoryview(body)[2:-1])  # strip PROTO 3 and STOP
            in_batch += 1
            if in_batch == 1000:
                f.write(pickle.APPENDS)
                in_batch = 0
        if in_batch:
            f.write(pickle.APPENDS)
        f.write(pickle.STOP)
    return path


def _as_tensor(array):
    import torch

    if isinstance(array, torch.Tensor):
        return array.detach().cpu().contiguous()
    return torch.from_numpy(np.ascontiguousarray(array))


def _require(example: Mapping, keys: Iterable[str], index: int) -> None:
    missing = [k for k in keys if k not in example]
    if missing:
        raise ValueError(f"example {index} misses keys {missing} needed for the SLRT format")


def write_slrt_annotations(
    examples: Iterable[Mapping], path: str | os.PathLike, compresslevel: int = 6
) -> Path:
    """Write examples as an SLRT annotation file (gzip pickle, ``sign`` an empty float tensor).

    Uses ``name``, ``signer``, ``gloss``, ``text``, ``num_frames`` (and ``alignments`` if given).
    """
    import torch

    def records():
        for i, ex in enumerate(examples):
            _require(ex, ANNOTATION_KEYS, i)
            rec = {
                "name": str(ex["name"]),
                "signer": ex["signer"] if isinstance(ex["signer"], int) else str(ex["signer"]),
                "gloss": str(ex["gloss"]),
                "text": str(ex["text"]),
                "sign": torch.tensor([]),
                "num_frames": int(ex["num_frames"]),
            }
            if "alignments" in ex:
                rec["alignments"] = ex["alignments"]
            yield rec

    return _write_list(records(), path, compresslevel)


def write_slrt_features(examples: Iterable[Mapping], path: str | os.PathLike, compresslevel: int = 1) -> Path:
    """Write ``{name, gloss, text, num_frames, sign: FloatTensor[T', F]}`` records (gzip pickle).

    ``features`` (or ``sign``) of each example must be a finite 2-D array.
    """

    def records():
        for i, ex in enumerate(examples):
            _require(ex, ("name",), i)
            feats = ex["features"] if "features" in ex else ex.get("sign")
            feats = np.asarray(feats, dtype=np.float32) if not hasattr(feats, "detach") else feats.float()
            if feats.ndim != 2:
                raise ValueError(
                    f"example {i} ({ex['name']!r}): features must be 2-D (T', F), got {tuple(feats.shape)}"
                )
            if not np.isfinite(np.asarray(feats)).all():
                raise ValueError(f"example {i} ({ex['name']!r}): features contain non-finite values")
            rec = {"name": str(ex["name"])}
            for key in ("gloss", "text"):
                if key in ex:
                    rec[key] = str(ex[key])
            if "num_frames" in ex:
                rec["num_frames"] = int(ex["num_frames"])
            rec["sign"] = _as_tensor(feats)
            yield rec

    return _write_list(records(), path, compresslevel)
