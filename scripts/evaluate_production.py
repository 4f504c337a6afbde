#!/usr/bin/env python
"""Score sign language production the way the NAR-SLP paper's Table 1 does.

Rows: Ground Truth, Mean (the mean training pose repeated for the true length), Random (a random
training sequence) and every producer given; columns: FGD x10 (features of the pose autoencoder,
TAE), BLEU-1..4 and ROUGE-L of the back-translation (a pose-input CV-SLT translating the produced
poses, normalised like its training input), DurACC (length within 1 s at 25 fps) and DTW.

Usage::

    python scripts/evaluate_production.py \
        --producer runs/nar_slp_synthetic --producer_no_kd runs/nar_slp_synthetic_no_kd \
        --tae runs/pose_autoencoder_synthetic --backtranslator runs/backtranslator_synthetic/model \
        --dataset synthetic --train_size 1500 --dev_size 100 --test_size 100 --output_json table.json

    # PHOENIX14T (Progressive Transformers skeletons)
    python scripts/evaluate_production.py --dataset phoenix14t_skels --data_dir /data/phoenix14t-skels ...

`--backtranslator` is a folder written by `scripts/train_cvslt.py` with `input_key: poses`
(`scripts/configs/backtranslator_synthetic.json`); without it BLEU/ROUGE are left out (NaN).
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer, HfArgumentParser
from transformers.utils import logging

from signbridge.evaluation.back_translation import BackTranslator
from signbridge.evaluation.production import (
    NAR_WITH_KD,
    NAR_WITHOUT_KD,
    evaluate_production,
    format_markdown_table,
)


@dataclass
class EvaluationArguments:
    producer: str | None = field(default=None, metadata={"help": "NARSignProducer folder trained with KD"})
    producer_no_kd: str | None = field(default=None, metadata={"help": "NARSignProducer folder trained without KD"})
    tae: str = field(default="runs/pose_autoencoder_synthetic", metadata={"help": "PoseAutoencoderModel folder (FGD)"})
    backtranslator: str | None = field(default=None, metadata={"help": "pose-input CV-SLT folder (BLEU/ROUGE)"})
    num_beams: int = field(default=5, metadata={"help": "beam size of the back-translation"})
    dataset: str = field(default="synthetic", metadata={"help": "synthetic or a load_sign_dataset name with poses"})
    data_dir: str | None = field(default=None, metadata={"help": "corpus folder (real corpora)"})
    seed: int = field(default=0, metadata={"help": "embedded corpus seed and the Random baseline's seed"})
    train_size: int = field(default=4000, metadata={"help": "embedded corpus: training sequences"})
    dev_size: int = field(default=300, metadata={"help": "embedded corpus: dev sequences"})
    test_size: int = field(default=300, metadata={"help": "embedded corpus: test sequences"})
    splits: str = field(default="dev,test", metadata={"help": "comma-separated splits to score"})
    output_json: str | None = field(default=None, metadata={"help": "also write the rows here"})


def load_splits(args: EvaluationArguments, splits: list[str]) -> dict[str, list[dict]]:
    if args.dataset == "synthetic":
        from signbridge.data.synthetic import SyntheticCorpusConfig, iter_split

        config = SyntheticCorpusConfig(seed=args.seed, train_size=args.train_size, dev_size=args.dev_size,
                                       test_size=args.test_size)
        return {s: [{"text": e["text"], "poses": e["poses"]} for e in iter_split(s, config)] for s in ["train", *splits]}
    from signbridge.data.builders import load_sign_dataset

    dataset = load_sign_dataset(args.dataset, args.data_dir).with_format("numpy")
    return {
        s: [{"text": str(t), "poses": np.asarray(p, dtype=np.float32)}
            for t, p in zip(dataset[s]["text"], dataset[s]["poses"], strict=True)]
        for s in ["train", *splits]
    }


def main(argv: list[str]) -> dict:
    from signbridge.models.nar_slp import NARSignProducer
    from signbridge.models.pose_autoencoder import PoseAutoencoderModel

    (args,) = HfArgumentParser(EvaluationArguments).parse_args_into_dataclasses(args=argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    data = load_splits(args, splits)
    producers = {}
    for name, path in ((NAR_WITHOUT_KD, args.producer_no_kd), (NAR_WITH_KD, args.producer)):
        if path:
            producers[name] = (NARSignProducer.from_pretrained(path), AutoTokenizer.from_pretrained(path))
    tae = PoseAutoencoderModel.from_pretrained(args.tae).eval()
    back_translator = (
        BackTranslator.from_pretrained(args.backtranslator, num_beams=args.num_beams) if args.backtranslator else None
    )
    results = evaluate_production(
        producers, {s: data[s] for s in splits}, data["train"], tae=tae, back_translator=back_translator,
        seed=args.seed, report=print,
    )
    print(format_markdown_table(results))
    if args.output_json:
        Path(args.output_json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    logging.set_verbosity_warning()
    logging.enable_progress_bar()
    main(sys.argv[1:])
