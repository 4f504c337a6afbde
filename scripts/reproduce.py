#!/usr/bin/env python
"""Reproduce the papers' tables and figures with seeds: one named experiment as a (variant x seed) grid.

Each finished job writes ``model_cards/results/<experiment>/<variant>-seed<k>.json``; jobs whose file
exists are skipped, so a long grid can be finished over several sittings by running the same command
again. The table (``results.md``: mean ± std over seeds, per-seed values, the papers' claims) and the
PNG figures are assembled from those files.

Usage::

    # check the whole path in seconds (tiny sizes on the embedded corpus; the scores mean nothing)
    python scripts/reproduce.py cvslt_table4 --smoke --results_dir /tmp/smoke

    # the real grid on phoenix14t_synthetic (PHOENIX14T's annotations, synthesised signal), 3 seeds
    python scripts/reproduce.py cvslt_table4 --data_dir ../shared/data/phoenix-2014t

Experiments: cvslt_table4, cvslt_lambda, cvslt_modality_gap, nar_slp_tables, nar_slp_backtranslation
(see signbridge.experiments.registry).
"""

import logging
import sys

from signbridge.experiments.runner import main

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
