#!/usr/bin/env python
"""Train CV-SLT (CVSLTForConditionalGeneration) and score it on dev/test with beam search.

Usage::

    python scripts/train_cvslt.py scripts/configs/cvslt_synthetic.json
    python scripts/train_cvslt.py scripts/configs/cvslt_synthetic.json --use_latent false --output_dir runs/plain
    python scripts/train_cvslt.py scripts/configs/cvslt_phoenix14t.json --data_dir /data/phoenix14t \
        --mbart_name_or_path /models/mbart-large-cc25-pruned

The single positional argument is a JSON file whose keys are fields of CVSLTModelArguments,
CVSLTDataArguments and CVSLTTrainingArguments (a Seq2SeqTrainingArguments subclass); `--key value`
flags after it override single keys (`--model_name_or_path DIR --max_steps 0` scores a saved model without
training it). Outputs in `output_dir`: `model/` (weights, config, tokenizer, the processor with the pose
statistics for pose input, a README.md model card with the scores), `predictions_<split>.tsv`
(hypothesis<TAB>reference per line)
and `scores.json` (BLEU-1..4, ROUGE-L per split, training metrics, wall time).
"""

from transformers.utils import logging

from signbridge.training.cvslt import main
from signbridge.utils.errors import run_entry
from signbridge.utils.runtime import print_results

if __name__ == "__main__":
    logging.set_verbosity_info()
    logging.enable_progress_bar()
    results = run_entry(main)
    summary = {
        split: {
            k: round(v, 2)
            for k, v in results[split].items()
            if k in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l")
        }
        for split in results
        if isinstance(results[split], dict) and "bleu4" in results[split]
    }
    print_results({"scores": summary, "wall_seconds": results["wall_seconds"]})  # once, by the main process
