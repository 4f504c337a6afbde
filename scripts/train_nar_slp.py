#!/usr/bin/env python
"""Train a NARSignProducer (NAR-SLP: text -> sign poses) on top of a trained pose VAE.

Usage::

    python scripts/train_pose_vae.py scripts/configs/pose_vae_synthetic.json
    python scripts/train_nar_slp.py scripts/configs/nar_slp_synthetic.json
    python scripts/train_nar_slp.py scripts/configs/nar_slp_synthetic.json --use_distillation false \
        --output_dir runs/nar_slp_synthetic_no_kd
    python scripts/train_nar_slp.py scripts/configs/nar_slp_phoenix14t.json --data_dir /data/phoenix14t-skels \
        --pose_vae_name_or_path runs/pose_vae_phoenix14t --text_encoder_name_or_path /models/bert-base-german-cased

The JSON keys are fields of NARDataArguments, signbridge.training.nar_slp.NARSignProducerArguments and
transformers.TrainingArguments; `--key value` flags after the file override them. The text encoder
is a BERT trained from scratch by `text_encoder_config` with a WordPiece tokenizer trained on the
corpus, or any BERT checkpoint (`text_encoder_name_or_path`, its tokenizer included). The VAE is
frozen. Training runs through the transformers Trainer (`pose_labels`/`pose_mask` are the label
names). Writes the producer and its tokenizer to `output_dir` (what `signbridge produce --model`
loads) and `output_dir/results.json` (training metrics, dev DurACC and DTW).
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer, HfArgumentParser, TrainingArguments
from transformers.utils import logging

from signbridge.evaluation.production import produce_poses
from signbridge.training.nar_slp import (
    NARSignProducerArguments,
    build_nar_tokenizer,
    save_producer,
    train_nar_slp,
)


@dataclass
class NARDataArguments:
    """Where the text/pose pairs come from."""

    dataset: str = field(default="synthetic", metadata={"help": "load_sign_dataset name: synthetic, phoenix14t_skels"})
    data_dir: str | None = field(default=None, metadata={"help": "corpus folder (real corpora)"})
    train_size: int = field(default=4000, metadata={"help": "embedded corpus: training sequences"})
    dev_size: int = field(default=300, metadata={"help": "embedded corpus: dev sequences"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use the first N training pairs"})


def load_pairs(data: NARDataArguments) -> dict[str, list[dict]]:
    if data.dataset == "synthetic":
        from signbridge.data.synthetic import SyntheticCorpusConfig, iter_split

        config = SyntheticCorpusConfig(train_size=data.train_size, dev_size=data.dev_size)
        splits = {s: [{"text": e["text"], "poses": e["poses"]} for e in iter_split(s, config)] for s in ("train", "dev")}
    else:
        from signbridge.data.builders import load_sign_dataset

        dataset = load_sign_dataset(data.dataset, data.data_dir).with_format("numpy")
        splits = {
            s: [{"text": str(t), "poses": np.asarray(p, dtype=np.float32)}
                for t, p in zip(dataset[s]["text"], dataset[s]["poses"], strict=True)]
            for s in ("train", "dev")
        }
    if data.max_train_samples is not None:
        splits["train"] = splits["train"][: data.max_train_samples]
    return splits


def main(argv: list[str]) -> dict:
    from signbridge.metrics import dtw_distance, duration_accuracy
    from signbridge.models.pose_vae import PoseVAEModel

    parser = HfArgumentParser((NARDataArguments, NARSignProducerArguments, TrainingArguments))
    if argv and argv[0].endswith(".json"):
        values = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
        argv = [
            f"--{k}={json.dumps(v) if isinstance(v, (dict, list)) else str(v).lower() if isinstance(v, bool) else v}"
            for k, v in values.items() if not k.startswith("_") and v is not None
        ] + list(argv[1:])
    data, model_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    if not model_args.pose_vae_name_or_path:
        raise ValueError("pose_vae_name_or_path is required: train one with scripts/train_pose_vae.py first")
    pairs = load_pairs(data)
    pose_vae = PoseVAEModel.from_pretrained(model_args.pose_vae_name_or_path)
    source = model_args.tokenizer_name_or_path or model_args.text_encoder_name_or_path
    if source:
        tokenizer = AutoTokenizer.from_pretrained(source)
    else:
        tokenizer = build_nar_tokenizer([p["text"] for p in pairs["train"]], model_args.tokenizer_vocab_size)
    model, metrics = train_nar_slp(pairs["train"], pose_vae, tokenizer, training_args, model_args, report=print)
    save_producer(model, tokenizer, training_args.output_dir)
    produced, lengths = produce_poses(model, tokenizer, [p["text"] for p in pairs["dev"]], progress=True)
    true_lengths = [len(p["poses"]) for p in pairs["dev"]]
    results = {
        "train": {k: v for k, v in metrics.items() if isinstance(v, (int, float))},
        "dev_dur_acc": duration_accuracy(lengths, true_lengths),
        "dev_dtw": float(np.mean([dtw_distance(h, p["poses"]) for h, p in zip(produced, pairs["dev"], strict=True)])),
        "use_distillation": model_args.use_distillation,
        "output_dir": training_args.output_dir,
    }
    Path(training_args.output_dir, "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    logging.set_verbosity_info()
    logging.enable_progress_bar()
    print(json.dumps(main(sys.argv[1:]), indent=2))
