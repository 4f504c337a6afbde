"""The embedded corpus: synthetic German weather forecasts with gloss, 3D poses and visual features.

The generator lives in :mod:`.corpus`; the sentence and gloss grammar in :mod:`.grammar`.
"""

from .corpus import (
    NUM_JOINTS,
    SPLITS,
    Signer,
    SyntheticCorpusConfig,
    corpus_statistics,
    generate_corpus,
    iter_split,
    make_signers,
    poses_to_features,
    write_corpus,
)

__all__ = [
    "NUM_JOINTS",
    "SPLITS",
    "SyntheticCorpusConfig",
    "Signer",
    "make_signers",
    "iter_split",
    "generate_corpus",
    "poses_to_features",
    "write_corpus",
    "corpus_statistics",
]
