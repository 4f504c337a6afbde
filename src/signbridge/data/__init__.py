"""Sign language corpora: loaders of the real formats, the embedded corpus, normalisation, collators.

- :func:`load_sign_dataset` builds a :class:`datasets.DatasetDict` for ``"phoenix14t"``,
  ``"csl_daily"``, ``"phoenix14t_skels"``, ``"pose_files"`` or ``"synthetic"`` (Arrow-cached);
- safe readers and writers of the real formats: SLRT gzip pickles (:mod:`.slrt`, restricted
  unpickler), Progressive Transformers skeletons (:mod:`.skels`), pose-format files (:mod:`.pose_files`);
- a user's sign files (``.pose``, ``.skels``, videos with the ``video`` extra) as poses of the models' skeleton
  (:mod:`.sign_input`);
- the embedded corpus (:mod:`.synthetic`), :class:`PoseNormalizer`, and the collators.
"""

from __future__ import annotations

from ..utils.lazy import lazy_exports

#: public name -> submodule that defines it (imported on first use, so that importing one reader, or a model
#: folder that shares data.normalization, does not pull in `datasets` and every other reader)
_LAZY_NAMES: dict[str, str] = {
    "SIGN_DATASET_BUILDERS": "builders",
    "CSLDailyBuilder": "builders",
    "CSLDailySyntheticBuilder": "annotated_builders",
    "Phoenix14TSyntheticBuilder": "annotated_builders",
    "SCORE_LEVELS": "annotated_builders",
    "Phoenix14TBuilder": "builders",
    "Phoenix14TSkelsBuilder": "builders",
    "PoseFilesBuilder": "builders",
    "SignCorpusConfig": "builders",
    "SyntheticBuilder": "builders",
    "get_sign_dataset_builder": "builders",
    "load_sign_dataset": "builders",
    "PoseProductionCollator": "collators",
    "SignTranslationCollator": "collators",
    "JOINT_MAPS": "joint_maps",
    "NoSignerError": "joint_maps",
    "UnknownPoseLayoutError": "joint_maps",
    "skeleton_from_pose": "joint_maps",
    "PoseNormalizer": "normalization",
    "PoseArray": "pose_files",
    "PoseFileError": "pose_files",
    "PoseIndexError": "pose_files",
    "read_pose_index": "pose_files",
    "read_pose_file": "pose_files",
    "render_pose_gif": "pose_files",
    "skeleton50_header": "pose_files",
    "write_pose_file": "pose_files",
    "find_sign_files": "sign_input",
    "read_sign_file": "sign_input",
    "SkelsFormatError": "skels",
    "read_skels": "skels",
    "write_skels": "skels",
    "SLRTFormatError": "slrt",
    "UnsafePickleError": "slrt",
    "iter_slrt_features": "slrt",
    "iter_slrt_records": "slrt",
    "read_slrt_annotations": "slrt",
    "read_slrt_features": "slrt",
    "safe_load_pickle": "slrt",
    "write_slrt_annotations": "slrt",
    "write_slrt_features": "slrt",
    "SyntheticCorpusConfig": "synthetic",
    "corpus_statistics": "synthetic",
    "generate_corpus": "synthetic",
    "iter_split": "synthetic",
    "write_corpus": "synthetic",
}


__getattr__, __dir__ = lazy_exports(
    __name__, globals(), {name: f"{__name__}.{module}" for name, module in _LAZY_NAMES.items()}
)

__all__ = list(_LAZY_NAMES)
