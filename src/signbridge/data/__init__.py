"""Sign language corpora: loaders of the real formats, the embedded corpus, normalisation, collators.

- :func:`load_sign_dataset` builds a :class:`datasets.DatasetDict` for ``"phoenix14t"``,
  ``"csl_daily"``, ``"phoenix14t_skels"``, ``"pose_files"`` or ``"synthetic"`` (Arrow-cached);
- safe readers and writers of the real formats: SLRT gzip pickles (:mod:`.slrt`, restricted
  unpickler), Progressive Transformers skeletons (:mod:`.skels`), pose-format files (:mod:`.pose_files`);
- the embedded corpus (:mod:`.synthetic`), :class:`PoseNormalizer`, and the collators.
"""

from .builders import (
    SIGN_DATASET_BUILDERS,
    CSLDailyBuilder,
    Phoenix14TBuilder,
    Phoenix14TSkelsBuilder,
    PoseFilesBuilder,
    SignCorpusConfig,
    SyntheticBuilder,
    get_sign_dataset_builder,
    load_sign_dataset,
)
from .collators import PoseProductionCollator, SignTranslationCollator
from .normalization import PoseNormalizer
from .pose_files import (
    PoseArray,
    PoseFileError,
    read_pose_file,
    render_pose_gif,
    skeleton50_header,
    write_pose_file,
)
from .skels import SkelsFormatError, read_skels, write_skels
from .slrt import (
    SLRTFormatError,
    UnsafePickleError,
    iter_slrt_features,
    iter_slrt_records,
    read_slrt_annotations,
    read_slrt_features,
    safe_load_pickle,
    write_slrt_annotations,
    write_slrt_features,
)
from .synthetic import SyntheticCorpusConfig, corpus_statistics, generate_corpus, iter_split, write_corpus

__all__ = [
    "SIGN_DATASET_BUILDERS",
    "get_sign_dataset_builder",
    "load_sign_dataset",
    "SignCorpusConfig",
    "Phoenix14TBuilder",
    "CSLDailyBuilder",
    "Phoenix14TSkelsBuilder",
    "PoseFilesBuilder",
    "SyntheticBuilder",
    "iter_slrt_features",
    "iter_slrt_records",
    "SignTranslationCollator",
    "PoseProductionCollator",
    "PoseNormalizer",
    "PoseArray",
    "PoseFileError",
    "read_pose_file",
    "write_pose_file",
    "skeleton50_header",
    "render_pose_gif",
    "SkelsFormatError",
    "read_skels",
    "write_skels",
    "SLRTFormatError",
    "UnsafePickleError",
    "safe_load_pickle",
    "read_slrt_annotations",
    "read_slrt_features",
    "write_slrt_annotations",
    "write_slrt_features",
    "SyntheticCorpusConfig",
    "generate_corpus",
    "iter_split",
    "write_corpus",
    "corpus_statistics",
]
