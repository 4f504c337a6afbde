"""Text/pose pairs of a corpus split by split, for the production scripts (pose VAE, NAR-SLP, TAE, Table 1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class PoseDataArguments:
    """Which corpus the pose scripts read: the embedded one, or a ``load_sign_dataset`` corpus with poses."""

    dataset: str = field(
        default="synthetic",
        metadata={
            "help": "'synthetic' (the embedded corpus) or a load_sign_dataset name with poses "
            "(phoenix14t_skels, pose_files)"
        },
    )
    data_dir: str | None = field(default=None, metadata={"help": "corpus folder (real corpora)"})
    corpus_seed: int = field(default=0, metadata={"help": "embedded corpus: its seed"})
    train_size: int = field(default=4000, metadata={"help": "embedded corpus: training sequences"})
    dev_size: int = field(default=300, metadata={"help": "embedded corpus: dev sequences"})
    test_size: int = field(default=300, metadata={"help": "embedded corpus: test sequences"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use the first N training pairs"})
    hash_data_files: bool = field(
        default=True,
        metadata={
            "help": "real corpora: key the Arrow cache on the files' SHA-256 (false: on size and modification "
            "time, faster for huge corpora never rewritten in place)"
        },
    )


def load_text_pose_splits(
    args: PoseDataArguments, splits: Sequence[str] = ("train", "dev")
) -> dict[str, list[dict[str, Any]]]:
    """``{split: [{"text": str, "poses": float32 (T, J, K)}, ...]}`` for each split named."""
    if args.dataset == "synthetic":
        from signbridge.data.synthetic import SyntheticCorpusConfig, iter_split

        config = SyntheticCorpusConfig(
            seed=args.corpus_seed,
            train_size=args.train_size,
            dev_size=args.dev_size,
            test_size=args.test_size,
        )
        pairs = {s: [{"text": e["text"], "poses": e["poses"]} for e in iter_split(s, config)] for s in splits}
    else:
        from signbridge.data.builders import load_sign_dataset

        if args.data_dir is None:
            raise ValueError(f"--dataset {args.dataset} needs --data_dir")
        dataset = load_sign_dataset(args.dataset, args.data_dir, hash_data_files=args.hash_data_files)
        dataset = dataset.with_format("numpy")
        pairs = {
            s: [
                {"text": str(t), "poses": np.asarray(p, dtype=np.float32)}
                for t, p in zip(dataset[s]["text"], dataset[s]["poses"], strict=True)
            ]
            for s in splits
        }
    if args.max_train_samples is not None and "train" in pairs:
        pairs["train"] = pairs["train"][: args.max_train_samples]
    return pairs


__all__ = ["PoseDataArguments", "load_text_pose_splits"]
