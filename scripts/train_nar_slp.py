#!/usr/bin/env python
"""Train a NARSignProducer (NAR-SLP: text -> sign poses) on top of a trained pose VAE.

Usage::

    python scripts/train_pose_vae.py scripts/configs/pose_vae_synthetic.json
    python scripts/train_nar_slp.py scripts/configs/nar_slp_synthetic.json
    python scripts/train_nar_slp.py scripts/configs/nar_slp_synthetic.json --use_distillation false \
        --output_dir runs/nar_slp_synthetic_no_kd
    python scripts/train_nar_slp.py scripts/configs/nar_slp_phoenix14t.json --data_dir /data/phoenix14t-skels \
        --pose_vae_name_or_path runs/pose_vae_phoenix14t --text_encoder_name_or_path /models/bert-base-german-cased

The JSON keys are fields of signbridge.data.loading.PoseDataArguments,
signbridge.training.nar_slp.NARSignProducerArguments and
transformers.TrainingArguments; `--key value` flags after the file override them. The text encoder
is a BERT trained from scratch by `text_encoder_config` with a WordPiece tokenizer trained on the
corpus, or any BERT checkpoint (`text_encoder_name_or_path`, its tokenizer included). The VAE is
frozen. Training runs through the transformers Trainer (`pose_labels`/`pose_mask` are the label
names). Writes the producer and its tokenizer to `output_dir` (what `signbridge produce --model`
loads) and `output_dir/results.json` (training metrics, dev DurACC and DTW).
"""

from transformers.utils import logging

from signbridge.training.nar_slp import main
from signbridge.utils.errors import run_entry
from signbridge.utils.runtime import print_results

if __name__ == "__main__":
    logging.set_verbosity_info()
    logging.enable_progress_bar()
    print_results(run_entry(main))  # once, by the main process
