"""Corpus builders (``datasets.GeneratorBasedBuilder``) and :func:`load_sign_dataset`.

datasets 4+ has no loading scripts, so each corpus is a builder class inside the package,
instantiated directly (``download_and_prepare()`` then ``as_dataset()``):

==================  ===============================================  ==================================
name                reads                                            columns
==================  ===============================================  ==================================
``phoenix14t``      SLRT ``phoenix-2014t_cleaned.{train,dev,test}``  name, signer, gloss, text,
                    (+ SLRT feature files with ``features_dir``)     num_frames [, features (T', F)]
``csl_daily``       SLRT ``csl-daily.{train,dev,test}`` (+ features)  same
``phoenix14t_skels`` Progressive Transformers ``<split>.skels`` etc.  name, text, gloss, num_frames,
                                                                     poses (T, 50, 3)
``pose_files``      a folder of ``.pose`` files + ``index.csv``      the CSV columns, poses (T, J, K),
                                                                     mask (T, J), fps
``synthetic``       the embedded corpus (no data needed)             name, signer, gloss, text,
                                                                     num_frames, poses, features
==================  ===============================================  ==================================

``phoenix14t_synthetic`` and ``csl_daily_synthetic`` (real annotations, synthesised signal) are in
:mod:`signbridge.data.annotated_builders`.

Splits are named ``train``, ``dev`` and ``test`` like the files (``pose_files``: ``train`` only).

Caching: the Arrow cache lives under ``cache_dir/<name>/<config>/<VERSION>/<fingerprint>``, where
the fingerprint hashes the builder name and version, the options and, for every data file, its
resolved path and the SHA-256 of its content. Editing a data file (even one rewritten with the same
size and modification time), bumping a builder's ``VERSION`` or changing an option therefore
prepares fresh data instead of serving a stale cache. Hashing reads every data file once per load
(about 0.3 s per 200 MiB here, so 2-3 s for a PHOENIX-size feature corpus of 1.4 GB);
``load_sign_dataset(..., hash_data_files=False)`` keys on size and modification time instead
(instant, but a file rewritten with the same size and time is then served from the stale cache).

Memory: feature files are streamed record by record (:func:`~signbridge.data.slrt.iter_slrt_features`)
and Arrow batches are small (``DEFAULT_WRITER_BATCH_SIZE``), so preparing a PHOENIX-size feature
corpus (7096 x ~60 x 832 floats) stays well under 1 GiB of peak memory.

Reading back: ``Array2D``/``Array3D`` columns with a variable first dimension come out of
``with_format("numpy")`` as one array per sequence; wrapping them with ``torch.from_numpy`` is
about 40x faster than ``with_format("torch")`` (see ``benchmarks/bench_data.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from ..utils.reprs import short_repr
from .skels import read_skels
from .slrt import iter_slrt_features, read_slrt_annotations

logger = datasets.utils.logging.get_logger(__name__)

__all__ = [
    "SignCorpusConfig",
    "Phoenix14TBuilder",
    "CSLDailyBuilder",
    "Phoenix14TSkelsBuilder",
    "PoseFilesBuilder",
    "SyntheticBuilder",
    "SIGN_DATASET_BUILDERS",
    "get_sign_dataset_builder",
    "load_sign_dataset",
    "data_fingerprint",
]

SPLITS = ("train", "dev", "test")


@dataclass
class SignCorpusConfig(datasets.BuilderConfig):
    """Builder config shared by the signbridge corpora.

    Args:
        features_dir: SLRT builders only: folder with the SLRT feature files of the splits.
        feature_dim: SLRT builders: values per feature step (832 for S3D block-4 features).
        annotation_prefix: SLRT builders: annotation files are ``<prefix>.<split>``; default the
            release's name (``phoenix-2014t_cleaned``, ``csl-daily``); ``"synthetic"`` reads what
            ``write_corpus(..., format="slrt")`` wrote.
        index_file: ``pose_files`` only: the index CSV inside ``data_dir``.
        corpus_options: ``synthetic`` only: :class:`~signbridge.data.synthetic.SyntheticCorpusConfig`
            fields (sizes, seed, feature_dim, ...).
    """

    features_dir: str | None = None
    feature_dim: int = 832
    annotation_prefix: str | None = None
    index_file: str = "index.csv"
    corpus_options: dict = field(default_factory=dict)


def _file_entry(path: Path, hash_content: bool) -> list:
    if hash_content:
        with open(path, "rb") as f:
            return [str(path.resolve()), hashlib.file_digest(f, "sha256").hexdigest()]
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def data_fingerprint(
    builder_name: str, version: str, files: list[Path], options: dict, hash_data_files: bool = True
) -> str:
    """Hash of builder name + version, options and, for every data file, its path and content hash
    (``hash_data_files``, the default) or its path, size and modification time."""
    payload = {
        "builder": builder_name,
        "version": str(version),
        "options": options,
        "files": [_file_entry(Path(f), hash_data_files) for f in sorted(map(str, files))],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _SignBuilder(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = SignCorpusConfig
    #: small Arrow batches bound the writer's memory (datasets' default is 1000 examples)
    DEFAULT_WRITER_BATCH_SIZE = 64
    CORPUS_NAME = ""

    def _data_dir(self) -> Path:
        if not self.config.data_dir:
            raise ValueError(f"{self.CORPUS_NAME}: data_dir is required")
        path = Path(self.config.data_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"{self.CORPUS_NAME}: data_dir {path} is not a folder")
        return path

    def data_files(self) -> list[Path]:
        """Every file the builder reads (their stats enter the cache fingerprint)."""
        raise NotImplementedError

    def _split_generators(self, dl_manager):
        return [datasets.SplitGenerator(name=s, gen_kwargs={"split": s}) for s in self._splits()]

    def _splits(self):
        return SPLITS


# ----------------------------------------------------------------------------------------------
# SLRT corpora
# ----------------------------------------------------------------------------------------------


class _SLRTBuilder(_SignBuilder):
    ANNOTATION_PREFIX = ""

    def _info(self):
        feats = {
            "name": datasets.Value("string"),
            "signer": datasets.Value("string"),
            "gloss": datasets.Value("string"),
            "text": datasets.Value("string"),
            "num_frames": datasets.Value("int32"),
        }
        if self.config.features_dir:
            feats["features"] = datasets.Array2D(shape=(None, self.config.feature_dim), dtype="float32")
        return datasets.DatasetInfo(
            description=f"{self.CORPUS_NAME} (SLRT annotation files)", features=datasets.Features(feats)
        )

    def _prefix(self) -> str:
        return self.config.annotation_prefix or self.ANNOTATION_PREFIX

    def annotation_file(self, split: str) -> Path:
        path = self._data_dir() / f"{self._prefix()}.{split}"
        if not path.is_file():
            raise FileNotFoundError(f"{self.CORPUS_NAME}: annotation file {path} not found")
        return path

    def feature_file(self, split: str) -> Path:
        folder = Path(self.config.features_dir)
        prefix = self._prefix()
        names = [
            f"{prefix}.{split}.features",
            f"{prefix}.{split}",
            split,
            f"{split}.pkl",
            f"{split}.pkl.gz",
            f"{split}.gz",
        ]
        for name in names:
            if (folder / name).is_file():
                return folder / name
        raise FileNotFoundError(
            f"{self.CORPUS_NAME}: no feature file for split {split!r} in {folder} (tried {names})"
        )

    def data_files(self) -> list[Path]:
        files = [self.annotation_file(s) for s in SPLITS]
        if self.config.features_dir:
            files += [self.feature_file(s) for s in SPLITS]
        return files

    def _generate_examples(self, split):
        ann_path = self.annotation_file(split)
        records = read_slrt_annotations(ann_path)
        columns = ("name", "signer", "gloss", "text", "num_frames")
        if not self.config.features_dir:
            for i, rec in enumerate(records):
                yield i, {k: rec[k] for k in columns}
            return
        by_name = {}
        for rec in records:
            if rec["name"] in by_name:
                raise ValueError(f"{ann_path}: duplicate name {short_repr(rec['name'])}")
            by_name[rec["name"]] = rec
        feat_path = self.feature_file(split)
        seen = set()
        for i, (name, feats, _) in enumerate(iter_slrt_features(feat_path)):
            rec = by_name.get(name)
            if rec is None:
                raise ValueError(
                    f"{feat_path}: features for {short_repr(name)}, which {ann_path} does not list"
                )
            if name in seen:
                raise ValueError(f"{feat_path}: duplicate features for {short_repr(name)}")
            if feats.shape[1] != self.config.feature_dim:
                raise ValueError(
                    f"{feat_path}: features of {short_repr(name)} have {feats.shape[1]} values per step, "
                    f"expected feature_dim={self.config.feature_dim}"
                )
            seen.add(name)
            yield i, {**{k: rec[k] for k in columns}, "features": feats}
        missing = [n for n in by_name if n not in seen]
        if missing:
            raise ValueError(
                f"{feat_path}: no features for {len(missing)} sequences of {ann_path}, e.g. {missing[:3]}"
            )


class Phoenix14TBuilder(_SLRTBuilder):
    """RWTH-PHOENIX-Weather 2014T from the SLRT annotation files (+ optional feature files)."""

    VERSION = datasets.Version("1.0.0")
    CORPUS_NAME = "phoenix14t"
    ANNOTATION_PREFIX = "phoenix-2014t_cleaned"


class CSLDailyBuilder(_SLRTBuilder):
    """CSL-Daily from the SLRT annotation files (+ optional feature files)."""

    VERSION = datasets.Version("1.0.0")
    CORPUS_NAME = "csl_daily"
    ANNOTATION_PREFIX = "csl-daily"


# ----------------------------------------------------------------------------------------------
# Progressive Transformers skeletons
# ----------------------------------------------------------------------------------------------


class Phoenix14TSkelsBuilder(_SignBuilder):
    """PHOENIX14T 3D skeletons in the Progressive Transformers ``.skels`` format."""

    VERSION = datasets.Version("1.0.0")
    CORPUS_NAME = "phoenix14t_skels"

    def _info(self):
        return datasets.DatasetInfo(
            description="PHOENIX14T skeletons (Progressive Transformers format), poses in real units",
            features=datasets.Features(
                {
                    "name": datasets.Value("string"),
                    "text": datasets.Value("string"),
                    "gloss": datasets.Value("string"),
                    "num_frames": datasets.Value("int32"),
                    "poses": datasets.Array3D(shape=(None, 50, 3), dtype="float32"),
                }
            ),
        )

    def data_files(self) -> list[Path]:
        root = self._data_dir()
        return [
            root / f"{s}.{suf}"
            for s in SPLITS
            for suf in ("skels", "text", "gloss", "files")
            if (root / f"{s}.{suf}").exists()
        ]

    def _generate_examples(self, split):
        yield from enumerate(read_skels(self._data_dir(), split))


# ----------------------------------------------------------------------------------------------
# pose-format folders
# ----------------------------------------------------------------------------------------------


class PoseFilesBuilder(_SignBuilder):
    """A folder of ``.pose`` files listed in an index CSV (column ``path`` + label columns).

    Label columns may not be named like the columns filled from each file (:attr:`BUILT_IN_COLUMNS`:
    ``num_frames``, ``fps``, ``poses``, ``mask``) nor repeat a name: such an index is refused
    rather than one value silently overwriting the other.

    Paths are resolved inside ``data_dir``; a path that leaves the folder (``../x.pose``, an
    absolute path, a symlink pointing outside) is refused. When ``<folder>/<path>`` does not exist
    but a file with the same name lies directly in the folder (a lexicon whose index was written
    one level up, like ``lexicon-sgg/index.csv`` listing ``sgg/kleine.pose``), that file is used.
    """

    VERSION = datasets.Version("1.0.0")
    CORPUS_NAME = "pose_files"
    #: columns every example gets from its .pose file; an index label column may not use these names
    BUILT_IN_COLUMNS = ("num_frames", "fps", "poses", "mask")

    def _splits(self):
        return ("train",)

    def _index(self) -> tuple[Path, list[dict]]:
        from .pose_files import read_pose_index

        path = self._data_dir() / self.config.index_file
        return path, read_pose_index(path, self.BUILT_IN_COLUMNS)

    def _resolve(self, rel: str, index_path: Path, line: int) -> Path:
        root = self._data_dir().resolve()
        if not rel or os.path.isabs(rel):
            raise ValueError(f"{index_path}, line {line}: path {short_repr(rel)} must be relative to {root}")
        candidate = (root / rel).resolve()
        if not candidate.is_relative_to(root):
            raise ValueError(
                f"{index_path}, line {line}: path {short_repr(rel)} leaves the folder {root}; refused"
            )
        if not candidate.is_file():
            flat = (root / Path(rel).name).resolve()
            if flat.is_file() and flat.is_relative_to(root):
                return flat
            raise FileNotFoundError(f"{index_path}, line {line}: {short_repr(rel)} not found in {root}")
        return candidate

    def _first_pose(self):
        from .pose_files import read_pose_file

        index_path, rows = self._index()
        return read_pose_file(self._resolve(rows[0]["path"], index_path, 2)), rows

    def _info(self):
        pose, rows = self._first_pose()
        j, k = pose.data.shape[1:]
        feats = {c: datasets.Value("string") for c in rows[0] if c is not None}
        feats.update(
            {
                "num_frames": datasets.Value("int32"),
                "fps": datasets.Value("float32"),
                "poses": datasets.Array3D(shape=(None, j, k), dtype="float32"),
                "mask": datasets.Array2D(shape=(None, j), dtype="bool"),
            }
        )
        return datasets.DatasetInfo(
            description="pose-format files with an index CSV", features=datasets.Features(feats)
        )

    def data_files(self) -> list[Path]:
        index_path, rows = self._index()
        return [index_path] + [self._resolve(r["path"], index_path, i + 2) for i, r in enumerate(rows)]

    def _generate_examples(self, split):
        from .pose_files import read_pose_file

        index_path, rows = self._index()
        shape = self.info.features["poses"].shape[1:]
        for i, row in enumerate(rows):
            path = self._resolve(row["path"], index_path, i + 2)
            pose = read_pose_file(path)
            if pose.data.shape[1:] != shape:
                raise ValueError(
                    f"{path}: {pose.data.shape[1:]} points x dims, the folder's first file has {shape}"
                )
            yield (
                i,
                {
                    **{k: v for k, v in row.items() if k is not None},
                    "num_frames": pose.num_frames,
                    "fps": pose.fps,
                    "poses": pose.data,
                    "mask": pose.mask,
                },
            )


# ----------------------------------------------------------------------------------------------
# embedded corpus
# ----------------------------------------------------------------------------------------------


def synthetic_corpus_features(feature_dim: int) -> datasets.Features:
    """The columns of a corpus whose sign signal is synthesised (the embedded corpus, and real annotations with a
    synthesised signal): both modalities, poses on the 50-joint skeleton and ``feature_dim``-wide features."""
    return datasets.Features(
        {
            "name": datasets.Value("string"),
            "signer": datasets.Value("string"),
            "gloss": datasets.Value("string"),
            "text": datasets.Value("string"),
            "num_frames": datasets.Value("int32"),
            "poses": datasets.Array3D(shape=(None, 50, 3), dtype="float32"),
            "features": datasets.Array2D(shape=(None, feature_dim), dtype="float32"),
        }
    )


class SyntheticBuilder(_SignBuilder):
    """The embedded synthetic corpus (:mod:`signbridge.data.synthetic`); needs no data_dir."""

    VERSION = datasets.Version("1.0.0")
    CORPUS_NAME = "synthetic"

    def _corpus_config(self):
        from .synthetic import SyntheticCorpusConfig

        return SyntheticCorpusConfig(**self.config.corpus_options)

    def _info(self):
        cfg = self._corpus_config()
        return datasets.DatasetInfo(
            description="signbridge embedded synthetic weather-forecast corpus",
            features=synthetic_corpus_features(cfg.feature_dim),
        )

    def data_files(self) -> list[Path]:
        from . import synthetic

        # the generator's own source is its "data": editing it must invalidate the cache
        return sorted(Path(synthetic.__file__).parent.glob("*.py"))

    def _generate_examples(self, split):
        from .synthetic import iter_split

        for i, ex in enumerate(iter_split(split, self._corpus_config())):
            yield (
                i,
                {k: ex[k] for k in ("name", "signer", "gloss", "text", "num_frames", "poses", "features")},
            )


# ----------------------------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------------------------

SIGN_DATASET_BUILDERS: dict[str, type[_SignBuilder]] = {
    "phoenix14t": Phoenix14TBuilder,
    "csl_daily": CSLDailyBuilder,
    "phoenix14t_skels": Phoenix14TSkelsBuilder,
    "pose_files": PoseFilesBuilder,
    "synthetic": SyntheticBuilder,
}
_ANNOTATED_SYNTHETIC = ("phoenix14t_synthetic", "csl_daily_synthetic")


def _json_able(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_able(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_able(v) for k, v in value.items()}
    return value


def get_sign_dataset_builder(
    name: str,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    writer_batch_size: int | None = None,
    hash_data_files: bool = True,
    **options: Any,
) -> _SignBuilder:
    """Instantiate the builder of corpus ``name`` with its fingerprinted cache location.

    ``options`` are the :class:`SignCorpusConfig` fields (``features_dir``, ``feature_dim``,
    ``index_file``); for ``synthetic`` they are :class:`SyntheticCorpusConfig` fields
    (``train_size=100``, ``seed=3``, ...).
    """
    if name not in SIGN_DATASET_BUILDERS:
        raise ValueError(f"unknown sign dataset {name!r}; available: {sorted(SIGN_DATASET_BUILDERS)}")
    cls = SIGN_DATASET_BUILDERS[name]
    if name in _ANNOTATED_SYNTHETIC:
        from .annotated_builders import annotated_config_kwargs

        config_kwargs = annotated_config_kwargs(name, data_dir, options)
    elif name == "synthetic":
        if data_dir is not None:
            raise ValueError("the synthetic corpus is generated, it takes no data_dir")
        from .synthetic import SyntheticCorpusConfig

        SyntheticCorpusConfig(**options)  # validate early, with the dataclass' own errors
        config_kwargs = {"corpus_options": _json_able(options)}
    else:
        if data_dir is None:
            raise ValueError(f"{name}: data_dir is required (see the README for where to get the data)")
        known = {"features_dir", "feature_dim", "annotation_prefix", "index_file"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"{name}: unknown options {unknown}; known: {sorted(known)}")
        config_kwargs = {
            k: (str(v) if k == "features_dir" and v is not None else v) for k, v in options.items()
        }
        config_kwargs["data_dir"] = str(Path(data_dir).resolve())
        if config_kwargs.get("features_dir"):
            config_kwargs["features_dir"] = str(Path(config_kwargs["features_dir"]).resolve())
    # a throw-away instance (no cache dir created) tells which files the builder will read
    probe = cls.__new__(cls)
    probe.config = SignCorpusConfig(name=name, **config_kwargs)
    fingerprint = data_fingerprint(name, str(cls.VERSION), probe.data_files(), config_kwargs, hash_data_files)
    return cls(
        cache_dir=None if cache_dir is None else str(cache_dir),
        dataset_name=name,
        config_name=name,
        hash=fingerprint,
        writer_batch_size=writer_batch_size,
        **config_kwargs,
    )


def load_sign_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    writer_batch_size: int | None = None,
    hash_data_files: bool = True,
    **options: Any,
) -> datasets.DatasetDict:
    """Load a sign language corpus as a :class:`datasets.DatasetDict` (Arrow-cached).

    Args:
        name: ``"phoenix14t"``, ``"csl_daily"``, ``"phoenix14t_skels"``, ``"pose_files"``,
            ``"synthetic"``, or ``"phoenix14t_synthetic"`` / ``"csl_daily_synthetic"`` (real SLRT
            annotations, synthesised poses and features; options: SyntheticCorpusConfig fields and
            ``max_samples``).
        data_dir: folder with the corpus files (not for ``synthetic``).
        cache_dir: Arrow cache root (default: the datasets cache).
        writer_batch_size: examples per Arrow write (default: the builder's small batch).
        hash_data_files: key the cache on the data files' content (default; reads them once per
            call, about 0.3 s per 200 MiB); ``False`` keys it on their size and modification time
            (instant, but a file rewritten with the same size and time gets the stale cache).
        **options: ``features_dir=`` / ``feature_dim=`` (SLRT corpora), ``index_file=``
            (``pose_files``), or :class:`~signbridge.data.synthetic.SyntheticCorpusConfig` fields.

    Example:
        >>> ds = load_sign_dataset("synthetic", train_size=8, dev_size=2, test_size=2)
        >>> ds["train"].with_format("torch")[0]["features"].shape[-1]
        832
    """
    builder = get_sign_dataset_builder(
        name, data_dir, cache_dir, writer_batch_size, hash_data_files, **options
    )
    try:
        builder.download_and_prepare()
    except datasets.exceptions.DatasetGenerationError as exc:
        # datasets wraps the reader's error; surface the clear one (it names the file)
        cause = exc.__cause__
        if isinstance(cause, (ValueError, OSError)):
            raise cause.with_traceback(cause.__traceback__) from None
        raise
    return builder.as_dataset()


def _register_annotated_builders() -> None:
    # defined in their own module (they extend the SLRT builder above); registered here so that every
    # corpus name is known to load_sign_dataset
    from .annotated_builders import CSLDailySyntheticBuilder, Phoenix14TSyntheticBuilder

    SIGN_DATASET_BUILDERS["phoenix14t_synthetic"] = Phoenix14TSyntheticBuilder
    SIGN_DATASET_BUILDERS["csl_daily_synthetic"] = CSLDailySyntheticBuilder


_register_annotated_builders()
