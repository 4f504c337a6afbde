"""Progressive Transformers skeleton files: ``<split>.skels/.text/.gloss/.files``.

The format (BenSaunders27/ProgressiveTransformersSLP, ``Data/tmp``) stores one sequence per line,
line-aligned across four files:

* ``.skels``: 151 space-separated floats per frame, i.e. 50 joints x (x, y, z) **divided by 3**,
  followed by a counter ``i / T`` (frame index over the number of frames);
* ``.text``: the spoken-language sentence; ``.gloss``: the gloss sequence; ``.files``: the
  sequence name (e.g. ``dev/11August_2010_Wednesday_tagesschau-2``).

Joint order: 0 head, 1 neck (the origin), 2-4 and 5-7 the two arms (shoulder, elbow, wrist),
8-28 and 29-49 the two 21-point hands. :func:`read_skels` returns poses in real units (the stored
values times 3) as float32 ``(T, 50, 3)``; :func:`write_skels` does the inverse.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..utils.files import atomic_write_many
from ..utils.reprs import short_repr, short_text

__all__ = [
    "SkelsFormatError",
    "read_skels",
    "write_skels",
    "SKELS_NUM_JOINTS",
    "SKELS_VALUES_PER_FRAME",
    "SKELS_SCALE",
]

SKELS_NUM_JOINTS = 50
SKELS_VALUES_PER_FRAME = SKELS_NUM_JOINTS * 3 + 1  # 151: joints x (x, y, z) + counter
SKELS_SCALE = 3.0  # values are stored divided by this
_SUFFIXES = ("skels", "text", "gloss", "files")

# Characters some reader treats as a line break (str.splitlines; Python's universal newlines turn
# "\r" into a new line): text holding one would shift every later line of a line-aligned file.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


class SkelsFormatError(ValueError):
    """A Progressive Transformers file is malformed (the message names the file and line)."""


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"Progressive Transformers file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SkelsFormatError(
            f"{path}: not UTF-8 text (byte {exc.start}: {short_text(exc.reason, 60)})"
        ) from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # trailing newline
    return [line.rstrip("\r") for line in lines]


def _counter_tolerance(token: str) -> float:
    """Half a unit of the last decimal a counter was written with (``0.0116`` -> 5e-5)."""
    if "e" in token or "E" in token:
        return 1e-6
    dot = token.find(".")
    decimals = len(token) - dot - 1 if dot >= 0 else 0
    return 0.5 * 10.0 ** -min(decimals, 12) + 1e-9


def _check_counters(tokens: list[str], counters: np.ndarray, path: Path, lineno: int) -> None:
    """The last value of each frame is ``i / T``; a line cut at a frame boundary breaks that."""
    t = len(counters)
    expected = np.arange(t) / t
    tolerance = np.array(
        [_counter_tolerance(tok) for tok in tokens[SKELS_VALUES_PER_FRAME - 1 :: SKELS_VALUES_PER_FRAME]]
    )
    bad = np.flatnonzero(np.abs(counters - expected) > tolerance)
    if bad.size == 0:
        return
    k = int(bad[0])
    hint = ""
    if t > 1 and counters[-1] > 0:
        hint = f"; the last counter suggests about {round((t - 1) / counters[-1])} frames"
    raise SkelsFormatError(
        f"{path}, line {lineno}: the frame counters are not i/T for the {t} frames on the line "
        f"(frame {k} has {short_text(tokens[k * SKELS_VALUES_PER_FRAME + SKELS_VALUES_PER_FRAME - 1], 20)}, "
        f"expected {expected[k]:.5f}{hint}); the line is probably truncated or frames were dropped"
    )


def _parse_skels_line(line: str, path: Path, lineno: int) -> np.ndarray:
    tokens = line.split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError as exc:
        raise SkelsFormatError(f"{path}, line {lineno}: not a list of numbers ({short_text(exc)})") from exc
    if values.size == 0:
        raise SkelsFormatError(f"{path}, line {lineno}: empty sequence (0 frames)")
    if values.size % SKELS_VALUES_PER_FRAME:
        raise SkelsFormatError(
            f"{path}, line {lineno}: {values.size} values is not a multiple of {SKELS_VALUES_PER_FRAME} "
            f"(50 joints x 3 + counter per frame); {values.size % SKELS_VALUES_PER_FRAME} values left over"
        )
    if not np.isfinite(values).all():
        raise SkelsFormatError(
            f"{path}, line {lineno}: {int((~np.isfinite(values)).sum())} non-finite values"
        )
    frames = values.reshape(-1, SKELS_VALUES_PER_FRAME)
    if np.abs(frames[:, :-1]).max() * SKELS_SCALE > np.finfo(np.float32).max:
        raise SkelsFormatError(
            f"{path}, line {lineno}: coordinates too large for float32 once multiplied by 3"
        )
    _check_counters(tokens, frames[:, -1], path, lineno)
    poses = frames[:, :-1].reshape(-1, SKELS_NUM_JOINTS, 3) * SKELS_SCALE
    return poses.astype(np.float32)


def read_skels(data_dir: str | os.PathLike, split: str) -> list[dict]:
    """Read ``<data_dir>/<split>.{skels,text,gloss,files}``.

    Returns one dict per line: ``name``, ``text``, ``gloss``, ``poses`` (float32 ``(T, 50, 3)`` in
    real units, i.e. the stored values times 3) and ``num_frames`` (T). Raises
    :class:`SkelsFormatError` when the four files disagree in line count, a ``.skels`` line is
    not a multiple of 151 values, a value is not finite, or the frame counters are not
    ``i / T`` for ``i = 0 .. T-1`` (within the rounding of the decimals they are written with),
    which is how a line cut at a frame boundary shows.
    """
    data_dir = Path(data_dir)
    paths = {suffix: data_dir / f"{split}.{suffix}" for suffix in _SUFFIXES}
    lines = {suffix: _read_lines(path) for suffix, path in paths.items()}
    counts = {paths[s].name: len(v) for s, v in lines.items()}
    if len(set(counts.values())) != 1:
        raise SkelsFormatError(f"{data_dir}: the {split} files are not line-aligned: line counts {counts}")
    out = []
    for i, (skels, text, gloss, name) in enumerate(
        zip(lines["skels"], lines["text"], lines["gloss"], lines["files"], strict=True)
    ):
        poses = _parse_skels_line(skels, paths["skels"], i + 1)
        out.append(
            {
                "name": name.strip(),
                "text": text.strip(),
                "gloss": gloss.strip(),
                "poses": poses,
                "num_frames": len(poses),
            }
        )
    return out


def write_skels(
    examples: Iterable[Mapping],
    data_dir: str | os.PathLike,
    split: str,
    decimals: int = 5,
    counter_decimals: int = 4,
) -> Path:
    """Write examples (``name``, ``text``, ``gloss``, ``poses`` (T, 50, 3) in real units) as
    ``<split>.{skels,text,gloss,files}`` in ``data_dir``; values are stored divided by 3 with
    ``decimals`` decimals and an ``i / T`` counter with ``counter_decimals`` decimals, as in the
    Progressive Transformers release (re-writing the real sample reproduces it byte for byte)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    buffers: dict[str, list[str]] = {s: [] for s in _SUFFIXES}
    for i, ex in enumerate(examples):
        missing = [k for k in ("name", "text", "gloss", "poses") if k not in ex]
        if missing:
            raise ValueError(f"example {i} misses keys {missing} needed for the .skels format")
        poses = np.asarray(ex["poses"], dtype=np.float64)
        if poses.ndim != 3 or poses.shape[1:] != (SKELS_NUM_JOINTS, 3) or len(poses) == 0:
            raise ValueError(
                f"example {i} ({short_repr(ex['name'])}): poses must be (T>0, 50, 3), got {poses.shape}"
            )
        if not np.isfinite(poses).all():
            raise ValueError(f"example {i} ({short_repr(ex['name'])}): poses contain non-finite values")
        for key in ("name", "text", "gloss"):
            breaks = _LINE_BREAKS.intersection(str(ex[key]))
            if breaks:
                raise ValueError(
                    f"example {i} ({short_repr(ex['name'])}): {key} contains the line break(s) "
                    f"{', '.join(sorted(repr(c) for c in breaks))}, which the line-based format cannot hold "
                    "(the files would no longer be line-aligned); replace them, e.g. with spaces"
                )
        t = len(poses)
        frames = np.concatenate([poses.reshape(t, -1) / SKELS_SCALE, (np.arange(t) / t)[:, None]], axis=1)
        fmt, cfmt = f"{{:.{decimals}f}}", f"{{:.{counter_decimals}f}}"
        buffers["skels"].append(
            " ".join(" ".join([*(fmt.format(v) for v in row[:-1]), cfmt.format(row[-1])]) for row in frames)
        )
        buffers["text"].append(str(ex["text"]))
        buffers["gloss"].append(str(ex["gloss"]))
        buffers["files"].append(str(ex["name"]))
    # the four files are one unit: all are written to temporary files first and renamed only when every one
    # is complete, so a failure (a full disk) leaves the previous corpus whole
    paths = [data_dir / f"{split}.{suffix}" for suffix in buffers]
    with atomic_write_many(paths, "w", encoding="utf-8", newline="") as files:
        for f, rows in zip(files, buffers.values(), strict=True):
            f.write("".join(r + "\n" for r in rows))
    return data_dir
