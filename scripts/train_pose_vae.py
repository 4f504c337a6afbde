#!/usr/bin/env python
"""Train the per-frame pose VAE of NAR-SLP (the LGM teacher and the PGM generator).

Usage::

    python scripts/train_pose_vae.py scripts/configs/pose_vae_synthetic.json
    python scripts/train_pose_vae.py scripts/configs/pose_vae_synthetic.json --dataset phoenix14t_skels \
        --data_dir /data/phoenix14t-skels --output_dir runs/pose_vae_phoenix14t

The JSON keys are fields of signbridge.data.loading.PoseDataArguments and
signbridge.training.pose_vae.PoseVAEModelArguments / PoseVAETrainingArguments; `--key value` flags after the file override them.
The VAE trains with a plain PyTorch loop over shuffled single frames (a tqdm bar shows progress):
frames are min-max normalised to [0, 1] with statistics fitted on every training frame and stored
in the saved config. Writes `output_dir` (config.json with the statistics, model.safetensors) and
`output_dir/results.json` (losses, dev reconstruction error, the mean-pose baseline's error).
"""

from transformers.utils import logging

from signbridge.training.pose_vae import main
from signbridge.utils.errors import run_entry
from signbridge.utils.runtime import print_results

if __name__ == "__main__":
    logging.set_verbosity_info()
    logging.enable_progress_bar()
    print_results(run_entry(main))  # once, by the main process
