"""Evaluation of trained models: the NAR-SLP paper's production table and back-translation.

- :mod:`.production`: the Ground Truth / Mean / Random baselines, :func:`~.production.produce_poses`,
  :func:`~.production.score_production` (one Table-1 row) and :func:`~.production.evaluate_production`;
- :mod:`.back_translation`: :class:`~.back_translation.BackTranslator`, a pose-input CV-SLT model that turns
  produced poses back into text for BLEU/ROUGE.

Import the submodules; this file imports nothing so that ``import signbridge.evaluation`` stays light.
"""
