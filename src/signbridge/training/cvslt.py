"""The CV-SLT training entry shared by ``scripts/train_cvslt.py`` and the demo.

``train_cvslt(model_args, data_args, training_args)`` loads a corpus with
:func:`signbridge.data.builders.load_sign_dataset`, builds or loads a tokenizer and a
:class:`~signbridge.models.cvslt.CVSLTForConditionalGeneration`, trains it with
:class:`~signbridge.training.CVSLTTrainer`, then translates the dev and test splits with beam
search, writes the predictions and returns BLEU-1..4 / ROUGE-L per split (also written to
``<output_dir>/scores.json``).

Sign input is either the corpus' visual ``features`` (S3D-style, ``feature_dim`` = 832) or its
``poses`` (T, J, K): these are normalised per joint and coordinate with a
:class:`~signbridge.data.normalization.PoseNormalizer` fitted on the training split and flattened to
(T, J*K) (150 for the 50-joint skeleton) by a
:class:`~signbridge.models.cvslt.SignPoseFeatureExtractor` holding the statistics (visual features go through a
:class:`~signbridge.models.cvslt.SignFeatureExtractor`). The collator pads with that feature extractor, and the saved
model folder holds it inside a :class:`~signbridge.models.cvslt.CVSLTProcessor` (``processor_config.json``,
``preprocessor_config.json``), so ``AutoProcessor.from_pretrained(model_dir)`` prepares new input exactly like the
training input. The folder is made Hub-ready by :func:`~signbridge.training.model_folder.finish_model_folder`
(model card with the scores, the translation pipeline, a generation config with one length limit).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from transformers.utils import logging

from signbridge.data.collators import poses_to_features
from signbridge.data.normalization import POSE_NORMALIZER_FILE
from signbridge.utils.arguments import json_object_argument
from signbridge.utils.distributed import check_distributed_arguments, wait_for_everyone
from signbridge.utils.files import atomic_write_text

from .callbacks import use_callbacks
from .model_folder import finish_model_folder, hub_generation_config
from .trainer import CVSLTTrainer, CVSLTTrainingArguments, decode_sequences, make_translation_compute_metrics

if TYPE_CHECKING:
    from datasets import DatasetDict
    from transformers import TrainerCallback


logger = logging.get_logger(__name__)

POSE_FEATURE_KEY = "pose_features"


@dataclass
class CVSLTModelArguments:
    """What model to train: from scratch (``model_config``), from a saved CV-SLT folder, or from mBART."""

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "A saved CVSLTForConditionalGeneration folder to continue training."}
    )
    mbart_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "An mBART checkpoint (e.g. a local copy of facebook/mbart-large-cc25) to build the model "
            "from with CVSLTForConditionalGeneration.from_mbart."
        },
    )
    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "An mBART(-style) tokenizer folder. None: the one saved with model_name_or_path / "
            "mbart_name_or_path, else a tokenizer trained on the training text."
        },
    )
    tokenizer_level: str = field(
        default="word", metadata={"help": "Level of the corpus tokenizer when one is trained: word or char."}
    )
    lang_code: str = field(default="de_DE", metadata={"help": "Target language code token (de_DE, zh_CN)."})
    use_latent: bool = field(
        default=True,
        metadata={
            "help": "False removes the latent (Gaussian) network: a plain mBART of the same size, for the "
            "comparison run."
        },
    )
    model_config: dict | str | None = field(
        default=None,
        metadata={
            "help": "CVSLTConfig fields (JSON object) for a model trained from scratch, or overrides for "
            "from_mbart / a saved model."
        },
    )

    sign2gloss_epochs: float = field(
        default=0.0,
        metadata={
            "help": "Epochs of Sign2Gloss pretraining (gloss CTC on the visual head and encoder) before translation, "
            "as CV-SLT starts from a Sign2Gloss visual head; 0: none. Needs the corpus' gloss column."
        },
    )
    sign2gloss_learning_rate: float = field(
        default=2e-3, metadata={"help": "Learning rate of the Sign2Gloss stage."}
    )
    sign2gloss_checkpoint: str | None = field(
        default=None,
        metadata={
            "help": "A Sign2Gloss file to load; missing and sign2gloss_epochs > 0: trained and saved there."
        },
    )
    freeze_visual_head: bool = field(
        default=False,
        metadata={
            "help": "No translation updates to the visual head (after Sign2Gloss: keeps what it learnt)."
        },
    )

    def __post_init__(self):
        self.model_config = json_object_argument(self.model_config, "model_config")
        if self.sign2gloss_epochs < 0:
            raise ValueError(f"sign2gloss_epochs must be >= 0, got {self.sign2gloss_epochs}")
        if self.tokenizer_level not in ("word", "char"):
            raise ValueError(f"tokenizer_level must be 'word' or 'char', got {self.tokenizer_level!r}")
        if self.model_name_or_path and self.mbart_name_or_path:
            raise ValueError("give model_name_or_path or mbart_name_or_path, not both")


@dataclass
class CVSLTDataArguments:
    """Which corpus, which input, how to decode and where to write the predictions."""

    dataset_name: str = field(
        default="synthetic",
        metadata={"help": "load_sign_dataset name: synthetic, phoenix14t, csl-daily, ..."},
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "Folder of the corpus files (real corpora)."}
    )
    dataset_options: dict | str | None = field(
        default=None, metadata={"help": "Extra keyword options for load_sign_dataset (JSON object)."}
    )
    hash_data_files: bool = field(
        default=True,
        metadata={
            "help": "Real corpora: key the Arrow cache on the files' SHA-256 (false: on size and modification "
            "time, faster for huge corpora never rewritten in place)."
        },
    )
    input_key: str = field(
        default="features",
        metadata={
            "help": "features: visual features (T, F); poses: (T, J, K) poses, normalised and flattened."
        },
    )
    normalize_poses: bool = field(
        default=True, metadata={"help": "Normalise poses (input_key=poses) per joint."}
    )
    text_key: str = field(default="text", metadata={"help": "Column of the target text."})
    gloss_key: str = field(
        default="gloss", metadata={"help": "Column of the gloss sequence (Sign2Gloss stage)."}
    )
    train_split: str = field(default="train")
    dev_split: str = field(default="dev")
    test_split: str = field(default="test")
    score_level: str = field(
        default="word", metadata={"help": "BLEU/ROUGE tokenisation: word (German) or char (Chinese)."}
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use the first N training examples."}
    )
    eval_subset_size: int | None = field(
        default=None,
        metadata={
            "help": "Evaluate on the first N dev examples while training (final scores use the full splits)."
        },
    )
    max_target_length: int = field(
        default=64, metadata={"help": "Longest target (tokens) the collator keeps."}
    )
    num_beams: int = field(
        default=5, metadata={"help": "Beam size of the final evaluation (5 in the paper)."}
    )
    length_penalty: float = field(
        default=1.0, metadata={"help": "Length penalty of the beam search (1 in the paper)."}
    )
    max_new_tokens: int = field(default=64, metadata={"help": "Most tokens generated per sentence."})
    eval_splits: str = field(
        default="dev,test", metadata={"help": "Comma-separated splits translated and scored after training."}
    )
    save_model: bool = field(
        default=True, metadata={"help": "Save the final model + tokenizer to output_dir/model."}
    )

    def __post_init__(self):
        self.dataset_options = json_object_argument(self.dataset_options, "dataset_options")
        if "hash_data_files" in self.dataset_options:
            if self.dataset_options["hash_data_files"] != self.hash_data_files:
                raise ValueError(
                    f"dataset_options sets hash_data_files={self.dataset_options['hash_data_files']!r} and the "
                    f"flag hash_data_files={self.hash_data_files!r}: give it once, as --hash_data_files"
                )
            self.dataset_options = {k: v for k, v in self.dataset_options.items() if k != "hash_data_files"}
        if self.input_key not in ("features", "poses"):
            raise ValueError(f"input_key must be 'features' or 'poses', got {self.input_key!r}")
        if self.score_level not in ("word", "char"):
            raise ValueError(f"score_level must be 'word' or 'char', got {self.score_level!r}")
        if self.num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {self.num_beams}")


def parse_cvslt_args(
    argv: Sequence[str] | None = None,
) -> tuple[CVSLTModelArguments, CVSLTDataArguments, CVSLTTrainingArguments]:
    """Parse ``CONFIG.json [--key value ...]`` (or plain ``--key value`` flags) into the three dataclasses.

    The JSON file gives the defaults; flags after it override single keys, e.g.
    ``train_cvslt.py scripts/configs/cvslt_synthetic.json --use_latent false --output_dir runs/plain``.
    """
    from signbridge.utils.arguments import parse_config_and_flags

    return parse_config_and_flags((CVSLTModelArguments, CVSLTDataArguments, CVSLTTrainingArguments), argv)


# ---- data ----


def _load_dataset(data_args: CVSLTDataArguments):
    from signbridge.data.builders import load_sign_dataset

    return load_sign_dataset(
        data_args.dataset_name,
        data_args.data_dir,
        hash_data_files=data_args.hash_data_files,
        **dict(data_args.dataset_options),
    )


def _check_dataset(dataset, data_args: CVSLTDataArguments, split_names: Sequence[str]) -> None:
    for split in split_names:
        if split not in dataset:
            raise ValueError(
                f"dataset {data_args.dataset_name!r} has no split {split!r}; it has {sorted(dataset)}"
            )
        columns = dataset[split].column_names
        for key in (data_args.input_key, data_args.text_key):
            if key not in columns:
                raise ValueError(
                    f"dataset {data_args.dataset_name!r} split {split!r} has no column {key!r} (columns: {columns}); "
                    "input_key=poses needs a corpus with poses"
                )


def _prepare_split(split, input_key: str, text_key: str):
    """Keep only the columns the collator reads; serve the array column as numpy (40x faster than lists)."""
    keep = [c for c in ("name", text_key, input_key) if c in split.column_names]
    return split.select_columns(keep).with_format("numpy", columns=[input_key], output_all_columns=True)


def _fit_pose_normalizer(train_split, pose_key: str, max_sequences: int = 2000):
    from signbridge.data.normalization import PoseNormalizer

    count = min(len(train_split), max_sequences)
    sequences = [np.asarray(train_split[i][pose_key], dtype=np.float32) for i in range(count)]
    return PoseNormalizer.fit(sequences)


def _build_tokenizer(model_args: CVSLTModelArguments, train_texts: list[str]):
    from transformers import AutoTokenizer

    source = (
        model_args.tokenizer_name_or_path or model_args.model_name_or_path or model_args.mbart_name_or_path
    )
    if source is not None:
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            # mBART tokenizers append "</s> <src_lang>": the collator tokenizes the target text, so make the
            # target language the one appended (labels "tokens </s> de_DE" as in the reference).
            for attribute in ("src_lang", "tgt_lang"):
                if hasattr(tokenizer, attribute):
                    setattr(tokenizer, attribute, model_args.lang_code)
            return tokenizer
        except (OSError, ValueError) as err:
            if model_args.tokenizer_name_or_path:
                raise ValueError(f"could not load the tokenizer from {source}: {err}") from err
            logger.warning("no tokenizer in %s (%s); training one on the corpus", source, err)
    from signbridge.tokenization import train_corpus_tokenizer

    return train_corpus_tokenizer(
        train_texts, level=model_args.tokenizer_level, lang_code=model_args.lang_code
    )


def _build_model(model_args: CVSLTModelArguments, tokenizer, feature_dim: int):
    from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration

    overrides = dict(model_args.model_config)
    overrides["use_latent"] = model_args.use_latent
    lang_id = tokenizer.convert_tokens_to_ids(model_args.lang_code)
    if lang_id is None or lang_id == tokenizer.unk_token_id:
        raise ValueError(
            f"the tokenizer has no language code token {model_args.lang_code!r}; set lang_code to one it has"
        )
    if model_args.model_name_or_path:
        model = CVSLTForConditionalGeneration.from_pretrained(model_args.model_name_or_path, **overrides)
    elif model_args.mbart_name_or_path:
        # The language code is appended to the sign sequence and starts decoding (mBART convention).
        overrides.setdefault("tgt_lang_code_id", lang_id)
        model = CVSLTForConditionalGeneration.from_mbart(model_args.mbart_name_or_path, **overrides)
    else:
        defaults = {
            "vocab_size": len(tokenizer),
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id if tokenizer.bos_token_id is not None else 0,
            "eos_token_id": tokenizer.eos_token_id,
            "feature_dim": feature_dim,
        }
        defaults["tgt_lang_code_id"] = lang_id
        defaults.update(overrides)
        config = CVSLTConfig(**defaults)
        model = CVSLTForConditionalGeneration(config)
    config_dim = getattr(model.config, "feature_dim", feature_dim)
    if config_dim != feature_dim:
        raise ValueError(
            f"the model expects feature_dim={config_dim}, but the corpus input is {feature_dim}-dimensional; "
            "set model_config.feature_dim or input_key"
        )
    if model.config.vocab_size < len(tokenizer):
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but the model's vocabulary only {model.config.vocab_size}"
        )
    return model


# ---- main entry ----


def train_cvslt(
    model_args: CVSLTModelArguments,
    data_args: CVSLTDataArguments,
    training_args: CVSLTTrainingArguments,
    dataset: DatasetDict | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> dict[str, Any]:
    """Train a CV-SLT model and score it on the evaluation splits with beam search.

    Args:
        model_args, data_args, training_args: as parsed by :func:`parse_cvslt_args`.
        dataset: an already loaded ``DatasetDict`` (skips ``load_sign_dataset``).
        callbacks: extra ``TrainerCallback`` objects for the ``Trainer`` (e.g. progress reporting).

    Returns:
        ``{"train": {...runtime, loss...}, "<split>": {bleu1..bleu4, rouge_l, ...}, "output_dir": ...}``,
        also written to ``<output_dir>/scores.json``; predictions go to
        ``<output_dir>/predictions_<split>.tsv`` (``hypothesis<TAB>reference`` per line, in corpus order).
    """
    from transformers import set_seed

    from signbridge.data.collators import SignTranslationCollator
    from signbridge.models.cvslt import CVSLTProcessor

    start = time.time()
    set_seed(training_args.seed)  # before anything random: model initialisation included
    check_distributed_arguments(training_args)
    if not torch.cuda.is_available() and not training_args.use_cpu:
        training_args.use_cpu = True
    # The collator needs the raw columns (features / poses / text): keep them.
    training_args.remove_unused_columns = False
    # Dev/test scores come from generated translations (beam search), also while training.
    training_args.predict_with_generate = True
    output_dir = Path(training_args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    if dataset is None:
        with training_args.main_process_first(desc="loading the corpus"):  # one process builds the cache
            dataset = _load_dataset(data_args)
    if training_args.torch_num_threads is not None:
        torch.set_num_threads(training_args.torch_num_threads)
    eval_split_names = [s.strip() for s in data_args.eval_splits.split(",") if s.strip()]
    _check_dataset(dataset, data_args, [data_args.train_split, data_args.dev_split, *eval_split_names])
    raw_dataset = dataset
    dataset = {
        name: _prepare_split(dataset[name], data_args.input_key, data_args.text_key)
        for name in dict.fromkeys([data_args.train_split, data_args.dev_split, *eval_split_names])
    }
    train_split = dataset[data_args.train_split]
    if data_args.max_train_samples is not None:
        train_split = train_split.select(range(min(data_args.max_train_samples, len(train_split))))

    train_texts = list(train_split[data_args.text_key])
    tokenizer = _build_tokenizer(model_args, train_texts)

    feature_extractor = _build_feature_extractor(data_args, train_split)
    feature_dim = feature_extractor.feature_size

    model = _build_model(model_args, tokenizer, feature_dim)
    sign2gloss = None
    if model_args.sign2gloss_checkpoint or model_args.sign2gloss_epochs > 0:
        from signbridge.training.sign2gloss import stage_for_training

        sign2gloss = stage_for_training(
            model, model_args, data_args, training_args, raw_dataset, feature_extractor, output_dir
        )
    if model_args.freeze_visual_head:  # the optimizer skips parameters that take no gradient
        model.visual_head.requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("CVSLT model: %.2fM parameters, use_latent=%s", n_params / 1e6, model_args.use_latent)

    collator = SignTranslationCollator(
        tokenizer,
        feature_key=data_args.input_key,
        text_key=data_args.text_key,
        max_label_length=data_args.max_target_length,
        feature_extractor=feature_extractor,
    )

    gen_config = model.generation_config
    gen_config.num_beams = data_args.num_beams
    gen_config.length_penalty = data_args.length_penalty
    # One length limit only (max_length counts the decoder start token), so generate() never sees two.
    gen_config.max_new_tokens = None
    gen_config.max_length = data_args.max_new_tokens + 1
    if training_args.generation_num_beams is None:
        training_args.generation_num_beams = data_args.num_beams
    if training_args.generation_max_length is None:
        training_args.generation_max_length = gen_config.max_length

    eval_dataset = None
    if training_args.eval_strategy != "no":
        eval_dataset = dataset[data_args.dev_split]
        if data_args.eval_subset_size is not None:
            eval_dataset = eval_dataset.select(range(min(data_args.eval_subset_size, len(eval_dataset))))

    trainer = CVSLTTrainer(
        model=model,
        args=training_args,
        data_collator=collator,
        train_dataset=train_split,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        compute_metrics=make_translation_compute_metrics(tokenizer, level=data_args.score_level),
    )
    use_callbacks(trainer, callbacks)
    if training_args.max_steps == 0:  # score the given model as it is (model_name_or_path), no training step
        train_metrics: dict[str, Any] = {}
    else:
        train_metrics = dict(
            trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint).metrics
        )
    results: dict[str, Any] = {
        "train": train_metrics,
        "num_parameters": n_params,
        "use_latent": model_args.use_latent,
        "input_key": data_args.input_key,
    }
    if sign2gloss is not None:
        results["sign2gloss"] = sign2gloss

    model_dir = output_dir / "model"
    if data_args.save_model:
        trainer.save_model(
            str(model_dir)
        )  # every process: FSDP gathers the weights; only the main one writes
    if data_args.save_model and trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(model_dir))
        # one length limit in the saved generation config: generate(max_new_tokens=...) then never warns
        hub_generation_config(gen_config, data_args.max_new_tokens).save_pretrained(str(model_dir))
        processor = CVSLTProcessor(feature_extractor, tokenizer)
        finish_model_folder(model_dir, processor=processor, **_card_details(model_args, data_args))
    if data_args.save_model:
        results["model_dir"] = str(model_dir)

    for split in eval_split_names:
        split_start = time.time()
        prediction = trainer.predict(
            dataset[split],
            metric_key_prefix=split,
            num_beams=data_args.num_beams,
            length_penalty=data_args.length_penalty,
            max_length=gen_config.max_length,
        )
        if len(prediction.predictions) != len(dataset[split]):
            raise RuntimeError(
                f"{split}: {len(prediction.predictions)} predictions for {len(dataset[split])} examples "
                f"(world size {training_args.world_size}); the evaluation gather must return each example once"
            )
        if trainer.is_world_process_zero():
            hyps = decode_sequences(tokenizer, prediction.predictions)
            refs = [" ".join(str(t).split()) for t in dataset[split][data_args.text_key]]
            write_predictions(output_dir / f"predictions_{split}.tsv", hyps, refs)
        metrics = {k[len(split) + 1 :]: v for k, v in prediction.metrics.items() if k.startswith(split + "_")}
        metrics["decode_seconds"] = round(time.time() - split_start, 1)
        metrics["num_examples"] = len(dataset[split])
        results[split] = metrics
        logger.info("%s: %s", split, {k: round(v, 2) for k, v in metrics.items() if isinstance(v, float)})

    results["wall_seconds"] = round(time.time() - start, 1)
    results["config"] = {
        "model_args": asdict(model_args),
        "data_args": asdict(data_args),
    }
    results["world_size"] = training_args.world_size
    if trainer.is_world_process_zero():
        write_scores(results, output_dir / "scores.json")
        if "model_dir" in results:  # the model card gets the measured scores
            scores = {split: results[split] for split in eval_split_names}
            finish_model_folder(model_dir, **_card_details(model_args, data_args), scores=scores)
    wait_for_everyone()  # the other processes return once the files are written
    return results


def write_predictions(path: str | os.PathLike, hypotheses: Sequence[str], references: Sequence[str]) -> Path:
    """``predictions_<split>.tsv``: a ``hypothesis<TAB>reference`` header, then one line per example.

    Written atomically: a failed write (a full disk) keeps the previous file.
    """
    lines = ["hypothesis\treference\n"]
    lines += [f"{hyp}\t{ref}\n" for hyp, ref in zip(hypotheses, references, strict=True)]
    return atomic_write_text(path, "".join(lines))


def write_scores(results: dict[str, Any], path: str | os.PathLike) -> Path:
    """``scores.json``: the results as indented JSON (numpy values as numbers), written atomically."""
    return atomic_write_text(path, json.dumps(results, indent=2, default=_json_default))


def _build_feature_extractor(data_args: CVSLTDataArguments, train_split):
    """The feature extractor of the model's input: features as they are, or poses normalised with statistics fitted
    on the training split (``normalize_poses``) and flattened."""
    from signbridge.models.cvslt import SignFeatureExtractor, SignPoseFeatureExtractor

    first = np.asarray(train_split[0][data_args.input_key])
    if data_args.input_key != "poses":
        return SignFeatureExtractor(feature_size=int(first.shape[-1]))
    if first.ndim != 3:
        raise ValueError(f"input_key=poses needs (T, J, K) poses, the corpus has shape {first.shape}")
    normalizer = _fit_pose_normalizer(train_split, "poses") if data_args.normalize_poses else None
    joints, dims = (int(n) for n in first.shape[1:])
    return SignPoseFeatureExtractor(
        skeleton="skeleton50" if (joints, dims) == (50, 3) else f"{joints}x{dims}",
        num_joints=joints,
        num_dims=dims,
        normalization=None if normalizer is None else normalizer.to_dict(),
    )


def _card_details(model_args: CVSLTModelArguments, data_args: CVSLTDataArguments) -> dict[str, Any]:
    return {
        "dataset": data_args.dataset_name,
        "training_config": {"model_args": asdict(model_args), "data_args": asdict(data_args)},
    }


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry: ``python scripts/train_cvslt.py CONFIG.json [--key value ...]``."""
    from signbridge.utils.files import check_model_folder, check_output_folder

    model_args, data_args, training_args = parse_cvslt_args(argv)
    check_output_folder(training_args.output_dir, "--output_dir", create=True)  # user errors before any work
    for flag, path, model_type, description in (
        ("--model_name_or_path", model_args.model_name_or_path, "cvslt", "a CV-SLT model"),
        ("--mbart_name_or_path", model_args.mbart_name_or_path, "mbart", "an mBART checkpoint"),
    ):
        if path:
            check_model_folder(path, model_type, description, flag, allow_hub_id=True)
    logging.set_verbosity_info() if os.environ.get("SIGNBRIDGE_VERBOSE") else None
    return train_cvslt(model_args, data_args, training_args)


__all__ = [
    "POSE_NORMALIZER_FILE",
    "CVSLTDataArguments",
    "CVSLTModelArguments",
    "main",
    "parse_cvslt_args",
    "poses_to_features",
    "train_cvslt",
    "write_predictions",
    "write_scores",
]
