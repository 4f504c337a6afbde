"""The embedded corpus' examples: generation by split, writing in real formats, statistics.

Each example depends only on ``(seed, split, index)``: its sentence and signer come from
:mod:`.grammar`, its poses from :mod:`.motion` and :mod:`.skeleton`, its features from
:mod:`.features`; examples are generated in blocks so that kinematics and features are vectorised.
:func:`iter_split` streams one split, :func:`generate_corpus` makes all three,
:func:`write_corpus` writes them as SLRT, ``.skels`` or pose-format files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...utils.files import atomic_write
from .config import _SPLIT_IDS, SPLITS, SyntheticCorpusConfig, _check_split, _resolve_config
from .features import _features_of_many
from .grammar import sample_sentence
from .motion import _sequence_parameters
from .skeleton import Signer, _body_sizes, _forward_kinematics, make_signers

__all__ = ["iter_split", "generate_corpus", "write_corpus", "corpus_statistics"]

# ============================================================================= examples
_BLOCK = 128  # examples generated together (vectorised kinematics and features)


def _example_block(
    config: SyntheticCorpusConfig,
    split: str,
    indices: range,
    signers: list[Signer],
    include_motion: bool = True,
) -> list[dict[str, Any]]:
    split_id = _SPLIT_IDS[split]
    examples, chosen, params, motion_rngs = [], [], [], []
    for index in indices:
        text_rng = np.random.default_rng([config.seed, split_id, index, 0])
        text, gloss = sample_sentence(text_rng)
        signer = signers[int(text_rng.integers(len(signers)))]
        examples.append(
            {
                "name": f"{split}/synthetic-{index + 1:06d}",
                "signer": signer.name,
                "gloss": gloss,
                "text": text,
            }
        )
        if include_motion:
            motion_rng = np.random.default_rng([config.seed, split_id, index, 1])
            params.append(_sequence_parameters(gloss.split(), signer, config, motion_rng))
            chosen.append(signer)
            motion_rngs.append(motion_rng)
    if not include_motion or not examples:
        return examples
    lengths = [len(p) for p in params]
    sizes = {k: v.astype(np.float32) for k, v in _body_sizes(chosen, lengths).items()}
    poses_all = _forward_kinematics(np.concatenate(params, axis=0).astype(np.float32), sizes)
    poses_all[:, 1] = 0.0  # the neck is the origin, as in the real skeletons
    sequences = []
    for example, seq, rng in zip(
        examples, np.split(poses_all, np.cumsum(lengths)[:-1]), motion_rngs, strict=True
    ):
        seq = seq.astype(np.float32)
        if config.pose_noise > 0:
            noise = rng.standard_normal(size=seq.shape, dtype=np.float32) * np.float32(config.pose_noise)
            noise[:, 1] = 0.0
            seq += noise
        example["num_frames"] = int(seq.shape[0])
        example["poses"] = seq
        sequences.append(seq)
    for example, features in zip(examples, _features_of_many(sequences, config, motion_rngs), strict=True):
        example["features"] = features
    return examples


def iter_split(
    split: str, config: SyntheticCorpusConfig | None = None, *, include_motion: bool = True, **overrides: Any
) -> Iterator[dict[str, Any]]:
    """Yield the examples of one split, deterministically from ``(config.seed, split)``.

    Each example is a dict with ``name``, ``signer``, ``gloss``, ``text``, ``num_frames``,
    ``poses`` (float32 (T, 50, 3)) and ``features`` (float32 (ceil(T / 4), feature_dim)).
    With ``include_motion=False`` only the first four are produced (fast; same text and gloss).
    ``overrides`` replace fields of ``config``.
    """
    _check_split(split)
    config = _resolve_config(config, overrides)
    signers = make_signers(config)
    size = config.split_size(split)
    for start in range(0, size, _BLOCK):
        yield from _example_block(
            config, split, range(start, min(size, start + _BLOCK)), signers, include_motion
        )


def generate_corpus(
    config: SyntheticCorpusConfig | None = None, **overrides: Any
) -> dict[str, list[dict[str, Any]]]:
    """Generate all three splits: ``{"train": [...], "dev": [...], "test": [...]}``.

    ``overrides`` replace fields of ``config`` (e.g. ``generate_corpus(train_size=100, seed=3)``).
    """
    from tqdm.auto import tqdm

    config = _resolve_config(config, overrides)
    total = sum(config.split_size(s) for s in SPLITS)
    corpus: dict[str, list[dict[str, Any]]] = {}
    with tqdm(total=total, desc="embedded corpus", unit="seq", disable=total < 1000) as bar:
        for split in SPLITS:
            examples = []
            for example in iter_split(split, config):
                examples.append(example)
                bar.update(1)
            corpus[split] = examples
    return corpus


# ============================================================================= writing and statistics
def _as_corpus(corpus_or_config: Any) -> dict[str, list[dict[str, Any]]]:
    if corpus_or_config is None or isinstance(corpus_or_config, SyntheticCorpusConfig):
        return generate_corpus(corpus_or_config)
    if isinstance(corpus_or_config, dict):
        unknown = sorted(set(corpus_or_config) - set(SPLITS))
        if unknown:
            raise ValueError(
                f"a corpus is a dict with keys among {list(SPLITS)}; got unexpected keys {unknown}"
            )
        return corpus_or_config
    raise TypeError(
        "write_corpus expects a corpus dict from generate_corpus() or a SyntheticCorpusConfig, "
        f"got {type(corpus_or_config).__name__}"
    )


# the columns of a pose-format lexicon index (as in sign-language-processing's dummy lexicon), plus split and signer
_POSE_INDEX_COLUMNS = [
    "path",
    "spoken_language",
    "signed_language",
    "start",
    "end",
    "words",
    "glosses",
    "priority",
    "split",
    "signer",
]


def write_corpus(
    corpus_or_config: Any,
    out_dir: str | Path,
    format: str = "slrt",
    *,
    spoken_language: str = "de",
    signed_language: str = "gsg",
) -> Path:
    """Write the corpus in a real format and return the folder.

    * ``"slrt"``: ``synthetic.{train,dev,test}`` gzip-pickled annotation files (as PHOENIX14T's
      SLRT release) and ``synthetic.{split}.features`` feature files (name -> (T', F) tensors).
    * ``"skels"``: Progressive Transformers ``{split}.skels/.text/.gloss/.files``.
    * ``"pose"``: one pose-format file per sequence under ``{split}/`` and an ``index.csv`` in the
      layout of a pose-format lexicon (``path,spoken_language,signed_language,start,end,words,
      glosses,priority``; words = text, glosses = gloss) plus ``split`` and ``signer`` columns;
      ``spoken_language``/``signed_language`` fill the language columns (``"zh"``/``"csl"`` for CSL-Daily's
      language).
    """
    corpus = _as_corpus(corpus_or_config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if format == "slrt":
        from ..slrt import write_slrt_annotations, write_slrt_features

        for split, examples in corpus.items():
            write_slrt_annotations(examples, out / f"synthetic.{split}")
            write_slrt_features(examples, out / f"synthetic.{split}.features")
    elif format == "skels":
        from ..skels import write_skels

        for split, examples in corpus.items():
            write_skels(examples, out, split)
    elif format == "pose":
        import csv

        from ..pose_files import write_pose_file

        rows = []
        for split, examples in corpus.items():
            (out / split).mkdir(exist_ok=True)
            for example in examples:
                relative = f"{example['name']}.pose"
                write_pose_file(out / relative, example["poses"], fps=SyntheticCorpusConfig.fps)
                rows.append(
                    {
                        "path": relative,
                        "spoken_language": spoken_language,
                        "signed_language": signed_language,
                        "start": 0,
                        "end": 0,
                        "words": example["text"],
                        "glosses": example["gloss"],
                        "priority": 0,
                        "split": split,
                        "signer": example["signer"],
                    }
                )
        with atomic_write(out / "index.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=_POSE_INDEX_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ValueError(f"unknown corpus format {format!r}; expected 'slrt', 'skels' or 'pose'")
    return out


def corpus_statistics(corpus: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Counts for a corpus: sequences per split, word types, gloss types, signers, frame lengths."""
    words: Counter[str] = Counter()
    glosses: Counter[str] = Counter()
    signers: set[str] = set()
    stats: dict[str, Any] = {"splits": {}}
    all_frames: list[int] = []
    for split, examples in corpus.items():
        frames = [int(e["num_frames"]) for e in examples if "num_frames" in e]
        all_frames += frames
        split_words = [len(e["text"].split()) for e in examples]
        stats["splits"][split] = {
            "sequences": len(examples),
            "mean_words": float(np.mean(split_words)) if split_words else 0.0,
            "mean_frames": float(np.mean(frames)) if frames else 0.0,
        }
        for e in examples:
            words.update(e["text"].split())
            glosses.update(e["gloss"].split())
            signers.add(e["signer"])
    stats["word_types"] = len(words)
    stats["gloss_types"] = len(glosses)
    stats["signers"] = sorted(signers)
    stats["num_signers"] = len(signers)
    if all_frames:
        arr = np.asarray(all_frames)
        stats["frames"] = {
            "min": int(arr.min()),
            "mean": float(arr.mean()),
            "median": float(np.median(arr)),
            "max": int(arr.max()),
            "total": int(arr.sum()),
        }
    return stats
