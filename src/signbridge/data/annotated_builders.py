"""Builders of the corpora with real language and a synthesised sign signal.

==========================  =========================================  ==================================
name                        reads                                      columns
==========================  =========================================  ==================================
``phoenix14t_synthetic``    SLRT ``phoenix-2014t_cleaned.{train,...}``  name, signer, gloss, text,
                                                                       num_frames, poses (T, 50, 3),
``csl_daily_synthetic``     SLRT ``csl-daily.{train,dev,test}``         features (ceil(T / 4), F)
==========================  =========================================  ==================================

Every sample keeps the annotation's real text, gloss sequence, signer and frame count; ``poses`` and
``features`` are synthesised from the glosses (:mod:`signbridge.data.synthetic.annotated`).
Options are :class:`~signbridge.data.synthetic.SyntheticCorpusConfig` fields (``seed``,
``feature_dim``, noise levels...; not the split sizes) and ``max_samples`` (the first N samples of
each split, for quick runs). The data is Arrow-cached like every corpus: the fingerprint covers the
annotation files, the generator's source and the options.

:data:`SCORE_LEVELS` says how each corpus' translations are scored: word-level BLEU/ROUGE for
German, character-level for Chinese (CSL-Daily's text is unsegmented).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import datasets

from .builders import SPLITS, _SLRTBuilder, synthetic_corpus_features

__all__ = [
    "AnnotatedSyntheticBuilder",
    "Phoenix14TSyntheticBuilder",
    "CSLDailySyntheticBuilder",
    "SCORE_LEVELS",
    "annotated_config_kwargs",
]

#: BLEU/ROUGE tokenisation of each corpus' text (``level`` of :func:`signbridge.metrics.translation_scores`)
SCORE_LEVELS = {
    "phoenix14t": "word",
    "phoenix14t_synthetic": "word",
    "phoenix14t_skels": "word",
    "synthetic": "word",
    "csl_daily": "char",
    "csl_daily_synthetic": "char",
}

_SIZE_FIELDS = ("train_size", "dev_size", "test_size")


class AnnotatedSyntheticBuilder(_SLRTBuilder):
    """Real SLRT annotations with poses and features synthesised from the glosses."""

    #: ``"word"`` or ``"char"``: how the corpus' translations are scored
    SCORE_LEVEL = "word"

    def _corpus_config(self):
        from .synthetic import SyntheticCorpusConfig

        options = {k: v for k, v in self.config.corpus_options.items() if k != "max_samples"}
        if "speed_range" in options:
            options["speed_range"] = tuple(options["speed_range"])
        return SyntheticCorpusConfig(**options)

    def _info(self):
        cfg = self._corpus_config()
        return datasets.DatasetInfo(
            description=(
                f"{self.CORPUS_NAME}: real {self.ANNOTATION_PREFIX} annotations (text, gloss, signer, "
                f"frame count) with synthesised poses and features; scored at {self.SCORE_LEVEL} level"
            ),
            features=synthetic_corpus_features(cfg.feature_dim),
        )

    def data_files(self) -> list[Path]:
        from . import synthetic

        return [self.annotation_file(s) for s in SPLITS] + sorted(
            Path(synthetic.__file__).parent.glob("*.py")
        )

    def _generate_examples(self, split):
        from .slrt import read_slrt_annotations
        from .synthetic.annotated import synthesize_annotated

        records = read_slrt_annotations(self.annotation_file(split))
        limit = self.config.corpus_options.get("max_samples")
        if limit is not None:
            records = records[:limit]
        yield from enumerate(synthesize_annotated(records, split, self._corpus_config()))


class Phoenix14TSyntheticBuilder(AnnotatedSyntheticBuilder):
    """PHOENIX14T's annotations (SLRT release) with a synthesised sign signal; word-level scoring."""

    VERSION = datasets.Version("1.0.0")
    CORPUS_NAME = "phoenix14t_synthetic"
    ANNOTATION_PREFIX = "phoenix-2014t_cleaned"
    SCORE_LEVEL = "word"


class CSLDailySyntheticBuilder(AnnotatedSyntheticBuilder):
    """CSL-Daily's annotations (SLRT release) with a synthesised sign signal; character-level scoring."""

    VERSION = datasets.Version("1.0.0")
    CORPUS_NAME = "csl_daily_synthetic"
    ANNOTATION_PREFIX = "csl-daily"
    SCORE_LEVEL = "char"


def annotated_config_kwargs(name: str, data_dir: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The builder config of ``name`` from ``load_sign_dataset``'s options, checked with clear errors."""
    from .synthetic import SyntheticCorpusConfig

    if data_dir is None:
        raise ValueError(f"{name}: data_dir is required (the folder of the SLRT annotation files)")
    options = dict(options)
    prefix = options.pop("annotation_prefix", None)
    max_samples = options.pop("max_samples", None)
    if max_samples is not None and (
        not isinstance(max_samples, int) or isinstance(max_samples, bool) or max_samples < 1
    ):
        raise ValueError(f"{name}: max_samples must be None or an integer >= 1, got {max_samples!r}")
    known = {f.name for f in fields(SyntheticCorpusConfig)} - set(_SIZE_FIELDS)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"{name}: unknown options {unknown}; known: annotation_prefix, max_samples and the "
            f"SyntheticCorpusConfig fields {sorted(known)}"
        )
    SyntheticCorpusConfig(**options)  # validate early, with the dataclass' own errors
    corpus_options = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    if max_samples is not None:
        corpus_options["max_samples"] = max_samples
    kwargs: dict[str, Any] = {"data_dir": str(Path(data_dir).resolve()), "corpus_options": corpus_options}
    if prefix is not None:
        kwargs["annotation_prefix"] = prefix
    return kwargs
