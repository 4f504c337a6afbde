"""Scores for sign language translation and production.

The FGD ``evaluate`` metric lives in :mod:`signbridge.metrics.fgd` (it needs the ``metrics``
extra, ``evaluate``), and is not imported here.
"""

from .frechet import feature_statistics, frechet_distance, frechet_distance_from_statistics
from .pose_sequences import dtw_distance, duration_accuracy, duration_correct
from .translation import WhitespaceTokenizer, prepare_for_scoring, translation_scores

__all__ = [
    "WhitespaceTokenizer",
    "dtw_distance",
    "duration_accuracy",
    "duration_correct",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "prepare_for_scoring",
    "translation_scores",
]
