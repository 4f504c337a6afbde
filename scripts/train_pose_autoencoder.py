#!/usr/bin/env python
"""Train the pose transformer autoencoder (TAE), the feature extractor of the FGD metric.

Usage::

    python scripts/train_pose_autoencoder.py scripts/configs/pose_autoencoder_synthetic.json
    python scripts/train_pose_autoencoder.py scripts/configs/pose_autoencoder_synthetic.json --num_train_epochs 1
    python scripts/train_pose_autoencoder.py my_config.json --dataset phoenix14t_skels --data_dir ../shared/data/phoenix14t-skels-sample

The positional argument is a JSON file whose keys are fields of ``signbridge.training.pose_autoencoder.TAEModelArguments``,
``signbridge.data.loading.PoseDataArguments`` and ``transformers.TrainingArguments``; ``--key value`` flags after it
override single keys. Poses come from the embedded corpus or any ``load_sign_dataset`` corpus with poses
(``--dataset phoenix14t_skels --data_dir DIR``); windows of ``window_size`` frames are
taken every ``window_stride`` frames from the training sequences (non-overlapping on dev). The
min-max statistics of the training poses are stored in the model config, so the saved TAE maps
corpus-unit poses itself. Outputs in ``output_dir``: the model (``save_pretrained``) and
``results.json`` (losses, window counts, an FGD sanity check: dev against train windows, and dev
against the mean-pose baseline, which must be far larger).
"""

from transformers.utils import logging

from signbridge.training.pose_autoencoder import main
from signbridge.utils.errors import run_entry
from signbridge.utils.runtime import print_results

if __name__ == "__main__":
    logging.set_verbosity_info()
    logging.enable_progress_bar()
    print_results(run_entry(main))  # once, by the main process
