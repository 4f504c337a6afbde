"""Evaluation of trained models: the NAR-SLP paper's production table and back-translation.

- :mod:`.production`: the Ground Truth / Mean / Random baselines, :func:`~.production.produce_poses`,
  :func:`~.production.score_production` (one Table-1 row), :func:`~.production.evaluate_production` and
  :func:`~.production.evaluate_production_with_comparisons` (the table and its rows compared pairwise);
- :mod:`.comparison`: paired bootstrap over test sentences of two rows' FGD and DurACC (interval of A - B,
  P(A<B));
- :mod:`.back_translation`: :class:`~.back_translation.BackTranslator`, a pose-input CV-SLT model that turns
  produced poses back into text for BLEU/ROUGE.

Import the submodules; this file imports nothing so that ``import signbridge.evaluation`` stays light.
"""
