#!/usr/bin/env python
"""Prune an mBART checkpoint's vocabulary to the tokens a sign-language corpus uses (before building CV-SLT).

Usage::

    python scripts/prune_mbart_vocab.py --mbart_name_or_path /models/mbart-large-cc25 \\
        --dataset phoenix14t --data_dir /data/phoenix14t --lang_code de_DE --output_dir /models/mbart-cc25-phoenix
    python scripts/prune_mbart_vocab.py --mbart_name_or_path /models/mbart-large-cc25 \\
        --text_file train.txt dev.txt test.txt --output_dir /models/mbart-cc25-pruned

Arguments: signbridge.training.cvslt_vocabulary.PruneVocabularyArguments (a JSON config file first is accepted
too). What is kept and what the output folder holds: see that module's docstring.
"""

from transformers.utils import logging

from signbridge.training.cvslt_vocabulary import main
from signbridge.utils.errors import run_entry
from signbridge.utils.runtime import print_results

if __name__ == "__main__":
    logging.set_verbosity_info()
    print_results(run_entry(main))  # once, by the main process
