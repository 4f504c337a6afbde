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

    # also the paired comparisons of the rows (each producer vs Mean and Random, w/ KD vs w/o KD): a
    # bootstrap over the test sentences (1000 resamples), A-B with its 95% interval and P(A<B)
    python scripts/evaluate_production.py ... --comparisons --num_resamples 1000 --comparisons_json comparisons.json

    # PHOENIX14T (Progressive Transformers skeletons)
    python scripts/evaluate_production.py --dataset phoenix14t_skels --data_dir /data/phoenix14t-skels ...

Arguments: signbridge.evaluation.production.ProductionEvaluationArguments and
signbridge.data.loading.PoseDataArguments (a JSON config file first is accepted too).
`--backtranslator` is a folder written by `scripts/train_cvslt.py` with `input_key: poses`
(`scripts/configs/backtranslator_synthetic.json`); without it BLEU/ROUGE are left out (NaN).
"""

from transformers.utils import logging

from signbridge.evaluation.production import main
from signbridge.utils.errors import run_entry

if __name__ == "__main__":
    logging.set_verbosity_warning()
    logging.enable_progress_bar()
    run_entry(main)
