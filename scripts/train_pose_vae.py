#!/usr/bin/env python
"""Train the per-frame pose VAE of NAR-SLP (the LGM teacher and the PGM generator).

Usage::

    python scripts/train_pose_vae.py scripts/configs/pose_vae_synthetic.json
    python scripts/train_pose_vae.py scripts/configs/pose_vae_synthetic.json --dataset phoenix14t_skels \
        --data_dir /data/phoenix14t-skels --output_dir runs/pose_vae_phoenix14t

The JSON keys are fields of PoseVAEDataArguments, PoseVAEModelArguments and
signbridge.training.pose_vae.PoseVAETrainingArguments; `--key value` flags after the file override them.
The VAE trains with a plain PyTorch loop over shuffled single frames (a tqdm bar shows progress):
frames are min-max normalised to [0, 1] with statistics fitted on every training frame and stored
in the saved config. Writes `output_dir` (config.json with the statistics, model.safetensors) and
`output_dir/results.json` (losses, dev reconstruction error, the mean-pose baseline's error).
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from transformers import HfArgumentParser
from transformers.utils import logging

from signbridge.evaluation.production import mean_pose
from signbridge.training.pose_vae import PoseVAETrainingArguments, train_pose_vae


@dataclass
class PoseVAEDataArguments:
    """Where the poses come from."""

    dataset: str = field(default="synthetic", metadata={"help": "load_sign_dataset name: synthetic, phoenix14t_skels"})
    data_dir: str | None = field(default=None, metadata={"help": "corpus folder (real corpora)"})
    train_size: int = field(default=4000, metadata={"help": "embedded corpus: training sequences"})
    dev_size: int = field(default=300, metadata={"help": "embedded corpus: dev sequences"})
    output_dir: str = field(default="runs/pose_vae", metadata={"help": "where the model is saved"})


@dataclass
class PoseVAEModelArguments:
    """Architecture (see PoseVAEConfig)."""

    latent_dim: int = field(default=64, metadata={"help": "per-frame latent size"})
    hidden_sizes: str = field(default="512,256", metadata={"help": "two hidden widths, comma-separated"})
    kl_weight: float = field(default=1e-4, metadata={"help": "lambda of the KL term (1e-4 in the paper)"})


def load_poses(data: PoseVAEDataArguments) -> dict[str, list[np.ndarray]]:
    if data.dataset == "synthetic":
        from signbridge.data.synthetic import SyntheticCorpusConfig, iter_split

        config = SyntheticCorpusConfig(train_size=data.train_size, dev_size=data.dev_size)
        return {s: [e["poses"] for e in iter_split(s, config)] for s in ("train", "dev")}
    from signbridge.data.builders import load_sign_dataset

    dataset = load_sign_dataset(data.dataset, data.data_dir).with_format("numpy")
    return {s: [np.asarray(p, dtype=np.float32) for p in dataset[s]["poses"]] for s in ("train", "dev")}


def main(argv: list[str]) -> dict:
    parser = HfArgumentParser((PoseVAEDataArguments, PoseVAEModelArguments, PoseVAETrainingArguments))
    if argv and argv[0].endswith(".json"):
        values = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
        argv = [f"--{k}={v}" for k, v in values.items() if not k.startswith("_")] + list(argv[1:])
    data, model_args, train_args = parser.parse_args_into_dataclasses(args=argv)
    poses = load_poses(data)
    model = train_pose_vae(
        poses["train"], args=train_args, dev_sequences=poses["dev"], output_dir=data.output_dir, report=print,
        latent_dim=model_args.latent_dim, hidden_sizes=[int(h) for h in model_args.hidden_sizes.split(",")],
        kl_weight=model_args.kl_weight,
    )
    dev = np.concatenate(poses["dev"])
    results = {
        "train_loss": model.train_loss,
        "dev_reconstruction_mae": model.dev_reconstruction_error,
        "dev_mean_pose_mae": float(np.abs(dev - mean_pose(poses["train"])).mean()),
        "output_dir": data.output_dir,
    }
    Path(data.output_dir, "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    logging.set_verbosity_info()
    print(json.dumps(main(sys.argv[1:]), indent=2))
