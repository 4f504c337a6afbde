#!/usr/bin/env python
"""Train the pose transformer autoencoder (TAE), the feature extractor of the FGD metric.

Usage::

    python scripts/train_pose_autoencoder.py scripts/configs/pose_autoencoder_synthetic.json
    python scripts/train_pose_autoencoder.py scripts/configs/pose_autoencoder_synthetic.json --num_train_epochs 1
    python scripts/train_pose_autoencoder.py my_config.json --dataset phoenix14t_skels --data_dir ../shared/data/phoenix14t-skels-sample

The positional argument is a JSON file whose keys are fields of ``TAEModelArguments``,
``TAEDataArguments`` and ``transformers.TrainingArguments``; ``--key value`` flags after it
override single keys. Poses come from the embedded corpus (``signbridge.data.synthetic``) or the
Progressive Transformers format (``signbridge.data.skels``); windows of ``window_size`` frames are
taken every ``window_stride`` frames from the training sequences (non-overlapping on dev). The
min-max statistics of the training poses are stored in the model config, so the saved TAE maps
corpus-unit poses itself. Outputs in ``output_dir``: the model (``save_pretrained``) and
``results.json`` (losses, window counts, an FGD sanity check: dev against train windows, and dev
against the mean-pose baseline, which must be far larger).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from transformers import HfArgumentParser, TrainingArguments
from transformers.utils import logging

from signbridge.metrics.fgd import FGD
from signbridge.training.pose_autoencoder import train_pose_autoencoder

logger = logging.get_logger("train_pose_autoencoder")


@dataclass
class TAEModelArguments:
    """Architecture of the autoencoder (see PoseAutoencoderConfig)."""

    window_size: int = field(default=34, metadata={"help": "frames per window (34 in NAR-SLP)"})
    d_model: int = 256
    encoder_layers: int = 4
    decoder_layers: int = 4
    num_attention_heads: int = 4
    ffn_dim: int = 1024
    latent_dim: int = 32
    dropout: float = 0.1
    loss_type: str = field(default="mse", metadata={"help": "'mse' or 'bce' (the paper's choice)"})


@dataclass
class TAEDataArguments:
    """Where the poses come from and how windows are cut."""

    dataset: str = field(default="synthetic", metadata={"help": "'synthetic' or 'phoenix14t_skels'"})
    data_dir: str | None = field(default=None, metadata={"help": "folder of the phoenix14t_skels files"})
    seed_corpus: int = field(default=0, metadata={"help": "seed of the embedded corpus"})
    train_size: int = field(default=4000, metadata={"help": "embedded corpus: training sequences"})
    dev_size: int = field(default=300, metadata={"help": "embedded corpus: dev sequences"})
    window_stride: int = field(default=8, metadata={"help": "frames between training windows"})


def load_sequences(data: TAEDataArguments) -> dict[str, list[np.ndarray]]:
    """Pose sequences (T, J, K) of the train and dev splits."""
    if data.dataset == "synthetic":
        from signbridge.data.synthetic import iter_split

        overrides = dict(seed=data.seed_corpus, train_size=data.train_size, dev_size=data.dev_size)
        return {
            split: [example["poses"] for example in iter_split(split, **overrides)]
            for split in ("train", "dev")
        }
    if data.dataset == "phoenix14t_skels":
        if data.data_dir is None:
            raise ValueError("--dataset phoenix14t_skels needs --data_dir")
        from signbridge.data.skels import read_skels

        return {split: [ex["poses"] for ex in read_skels(data.data_dir, split)] for split in ("train", "dev")}
    raise ValueError(f"--dataset must be 'synthetic' or 'phoenix14t_skels', got {data.dataset!r}")


def main(argv: list[str]) -> dict:
    """Train, save and sanity-check a TAE; returns the results written to results.json."""
    parser = HfArgumentParser((TAEModelArguments, TAEDataArguments, TrainingArguments))
    if argv and argv[0].endswith(".json"):
        config_values = json.loads(Path(argv[0]).read_text())
        flags = [
            f"--{key}={value}" if not isinstance(value, (list, dict)) else f"--{key}={json.dumps(value)}"
            for key, value in config_values.items()
        ]
        argv = flags + list(argv[1:])
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    started = time.time()

    sequences = load_sequences(data_args)
    model, metrics = train_pose_autoencoder(
        sequences["train"], training_args, window_stride=data_args.window_stride,
        eval_sequences=sequences["dev"], report=logger.info, **asdict(model_args),
    )
    output_dir = Path(training_args.output_dir)
    model.save_pretrained(output_dir)

    model.eval()
    fgd = FGD(model=model)
    rng = np.random.default_rng(0)
    train_subset = [
        sequences["train"][i] for i in rng.permutation(len(sequences["train"]))[: len(sequences["dev"])]
    ]
    mean_pose = np.concatenate(sequences["train"]).mean(0)
    mean_baseline = [np.repeat(mean_pose[None], seq.shape[0], axis=0) for seq in sequences["dev"]]
    real = fgd.compute(predictions=train_subset, references=sequences["dev"])
    mean = fgd.compute(predictions=mean_baseline, references=sequences["dev"])
    results = {
        "train_windows": metrics["train_windows"],
        "dev_windows": metrics["dev_windows"],
        "dev_loss_before": metrics["dev_loss_before"],
        "dev_loss_after": metrics["dev_loss_after"],
        "train_loss": metrics["train_loss"],
        "fgd_x10_train_vs_dev": real["fgd_x10"],
        "fgd_x10_mean_pose_vs_dev": mean["fgd_x10"],
        "wall_seconds": time.time() - started,
        "output_dir": str(output_dir),
    }
    (output_dir / "results.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    logging.set_verbosity_info()
    logging.enable_progress_bar()
    print(json.dumps(main(sys.argv[1:]), indent=2))
