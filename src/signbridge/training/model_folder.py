"""Hub-ready model folders: what every training script and the demo add to a folder after ``save_pretrained``.

:func:`finish_model_folder` makes a saved folder complete for the Hugging Face Hub and for users without signbridge:

* the processor (CV-SLT: :class:`~signbridge.models.cvslt.CVSLTProcessor`, saved as ``processor_config.json`` plus
  the feature extractor's own ``preprocessor_config.json``, with their code for remote loading);
* the pipeline the model serves, declared in ``config.json``'s ``custom_pipelines`` with its file beside the model, so
  ``pipeline(task, model=folder, trust_remote_code=True)`` works without signbridge;
* a generation config with one length limit (:func:`hub_generation_config`): ``max_new_tokens``, no ``max_length``, so
  ``generate(max_new_tokens=...)`` never warns about two limits;
* ``README.md``, a model card with the Hub's YAML metadata (``library_name``, ``tags``, ``language``, ``datasets``,
  ``metrics``, ``pipeline_tag``), how the model was trained (command and configuration) and its measured scores.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from signbridge.utils.files import atomic_write_text

__all__ = ["KINDS", "finish_model_folder", "hub_generation_config", "model_card_text"]

#: model_type -> what its card says and which pipeline it serves
KINDS: dict[str, dict[str, Any]] = {
    "cvslt": {
        "title": "CVSLTForConditionalGeneration (CV-SLT)",
        "summary": "Sign language translation: a sequence of sign features or 3D poses in, spoken-language text "
        "out. The conditional variational autoencoder of CV-SLT (Zhao et al., AAAI 2024) on transformers' mBART.",
        "pipeline_tag": "translation",
        "task": "sign-language-translation",
        "tags": ["sign-language", "sign-language-translation", "cvae", "mbart"],
        "metrics": ["bleu", "rouge"],
    },
    "nar_slp": {
        "title": "NARSignProducer (NAR-SLP)",
        "summary": "Sign language production: text in, a 3D pose sequence out, all frames in parallel. The "
        "non-autoregressive producer of Hwang et al. (2022), distilled from a per-frame pose VAE.",
        "pipeline_tag": "text-to-3d",
        "task": "sign-language-production",
        "tags": ["sign-language", "sign-language-production", "text-to-pose", "non-autoregressive"],
        "metrics": ["duracc", "dtw"],
    },
    "pose_vae": {
        "title": "PoseVAEModel (NAR-SLP's per-frame pose VAE)",
        "summary": "The per-frame pose VAE of NAR-SLP: its encoder is the Latent Guiding Module (the teacher of "
        "knowledge distillation), its decoder the Pose Generating Module.",
        "pipeline_tag": "feature-extraction",
        "task": None,
        "tags": ["sign-language", "pose", "vae"],
        "metrics": [],
    },
    "pose_autoencoder": {
        "title": "PoseAutoencoderModel (the FGD feature extractor)",
        "summary": "A transformer autoencoder of pose windows; its window features are what the Fréchet Gesture "
        "Distance (FGD) compares.",
        "pipeline_tag": "feature-extraction",
        "task": None,
        "tags": ["sign-language", "pose", "autoencoder", "fgd"],
        "metrics": ["fgd"],
    },
}

#: corpus name -> (Hub dataset name in the card, language)
_CORPORA = {
    "synthetic": ("signbridge-synthetic", "de"),
    "phoenix14t": ("phoenix14t", "de"),
    "phoenix14t_skels": ("phoenix14t", "de"),
    "csl-daily": ("csl-daily", "zh"),
    "csl_daily": ("csl-daily", "zh"),
}


def hub_generation_config(generation_config, max_new_tokens: int):
    """A copy of ``generation_config`` whose one length limit is ``max_new_tokens`` (``max_length`` unset), as a
    saved folder should hold it: ``generate(max_new_tokens=...)`` then overrides it without a warning."""
    import copy

    fixed = copy.deepcopy(generation_config)
    fixed.max_length = None
    fixed.max_new_tokens = int(max_new_tokens)
    return fixed


def _command() -> str:
    """This process's command line as a user typed it: ``signbridge ...`` for the command (also run as
    ``python -m signbridge``), ``python script.py ...`` for a script."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    if program.name == "signbridge" or program.parts[-2:] == ("signbridge", "__main__.py"):
        head = "signbridge"
    else:
        head = f"python {shlex.quote(sys.argv[0])}" if sys.argv and sys.argv[0] else "python"
    return " ".join([head, *(shlex.quote(a) for a in sys.argv[1:])])


def _scores_table(scores: Mapping[str, Any]) -> str:
    rows = []
    for key, value in scores.items():
        if isinstance(value, Mapping):
            for inner, number in value.items():
                if isinstance(number, (int, float)) and not isinstance(number, bool):
                    rows.append((f"{key} {inner}", number))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append((key, value))
    if not rows:
        return "No scores were measured when this folder was saved.\n"
    lines = ["| measurement | value |", "| --- | --- |"]
    lines += [
        f"| {name} | {value:.4g} |" if isinstance(value, float) else f"| {name} | {value} |"
        for name, value in rows
    ]
    return "\n".join(lines) + "\n"


def model_card_text(
    model_type: str,
    *,
    dataset: str | None = None,
    command: str | None = None,
    training_config: Mapping[str, Any] | None = None,
    scores: Mapping[str, Any] | None = None,
) -> str:
    """The ``README.md`` of a saved folder of ``model_type`` (see :data:`KINDS`): YAML metadata, how to use it, how it
    was trained (``command``, ``training_config``) and ``scores``."""
    from huggingface_hub import ModelCard, ModelCardData

    if model_type not in KINDS:
        raise ValueError(f"no model card for model_type {model_type!r}; known: {sorted(KINDS)}")
    kind = KINDS[model_type]
    hub_dataset, language = _CORPORA.get(dataset or "synthetic", (dataset, None))
    data = ModelCardData(
        library_name="transformers",
        license="apache-2.0",
        language=[language] if language else None,
        tags=[*kind["tags"], "signbridge"],
        datasets=[hub_dataset] if hub_dataset else None,
        metrics=kind["metrics"] or None,
        pipeline_tag=kind["pipeline_tag"],
    )
    usage = _usage(model_type, kind["task"])
    config_text = json.dumps(training_config or {}, indent=2, ensure_ascii=False, default=str)
    body = (
        f"# {kind['title']}\n\n{kind['summary']}\n\nSaved by [signbridge](https://github.com/signbridge); the folder "
        "carries its own code, so it also loads where signbridge is not installed (`trust_remote_code=True`).\n\n"
        f"## Use\n\n```python\n{usage}```\n\n"
        f"## Training\n\nCorpus: `{dataset or 'not recorded'}`. Command:\n\n```bash\n{command or _command()}\n```\n\n"
        f"Configuration:\n\n```json\n{config_text}\n```\n\n"
        f"## Scores\n\n{_scores_table(scores or {})}"
    )
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def _usage(model_type: str, task: str | None) -> str:
    if model_type == "cvslt":
        return (
            "from transformers import AutoModelForSeq2SeqLM, AutoProcessor, pipeline\n\n"
            'translator = pipeline("sign-language-translation", model="FOLDER", trust_remote_code=True)\n'
            "translator(sign)  # (frames, features) array, or (frames, 50, 3) poses for a pose-input model\n\n"
            'model = AutoModelForSeq2SeqLM.from_pretrained("FOLDER", trust_remote_code=True)\n'
            'processor = AutoProcessor.from_pretrained("FOLDER", trust_remote_code=True)\n'
            'ids = model.generate(**processor(sign=[sign], return_tensors="pt"), max_new_tokens=40)\n'
            "processor.batch_decode(ids, skip_special_tokens=True)\n"
        )
    if task is not None:
        return (
            "from transformers import pipeline\n\n"
            f'producer = pipeline("{task}", model="FOLDER", trust_remote_code=True)\n'
            'producer("am tag regen im norden")["poses"]  # (frames, joints, 3)\n'
        )
    return 'from transformers import AutoModel\n\nmodel = AutoModel.from_pretrained("FOLDER", trust_remote_code=True)\n'


def _declare_pipeline(folder: Path, task: str) -> None:
    """Copy the pipeline's file (and what it imports from its folder) into ``folder`` and declare it in
    ``config.json``'s ``custom_pipelines``."""
    from transformers.dynamic_module_utils import custom_object_save
    from transformers.pipelines import PIPELINE_REGISTRY

    from signbridge.models.auto_registration import custom_pipeline_entry

    pipeline_class = PIPELINE_REGISTRY.supported_tasks[task]["impl"]
    custom_object_save(pipeline_class, folder)
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["custom_pipelines"] = {task: custom_pipeline_entry(task, pipeline_class)}
    atomic_write_text(config_file, json.dumps(config, indent=2, sort_keys=True) + "\n")


def finish_model_folder(
    folder: str | os.PathLike,
    *,
    processor: Any = None,
    dataset: str | None = None,
    training_config: Mapping[str, Any] | None = None,
    scores: Mapping[str, Any] | None = None,
    command: str | None = None,
) -> Path:
    """Complete a folder written by ``save_pretrained`` (see the module): processor, pipeline declaration, model card.

    Args:
        folder: the saved model folder (its ``config.json`` says which model it holds).
        processor: saved into the folder when given (and its feature extractor as ``preprocessor_config.json``).
        dataset: the corpus name the model was trained on (for the card's ``datasets`` and ``language``).
        training_config: the arguments of the run, shown in the card.
        scores: measured scores, shown in the card.
        command: the command line of the run (default: this process's ``sys.argv``).
    """
    folder = Path(folder)
    model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    if model_type not in KINDS:
        raise ValueError(f"{folder}: not a signbridge model folder (model_type {model_type!r})")
    import signbridge.models.auto  # noqa: F401  (registers the models and their pipelines)

    if processor is not None:
        processor.save_pretrained(folder)
        extractor = getattr(processor, "feature_extractor", None)
        if extractor is not None:
            extractor.save_pretrained(folder)
    task = KINDS[model_type]["task"]
    if task is not None:
        _declare_pipeline(folder, task)
    text = model_card_text(
        model_type, dataset=dataset, command=command, training_config=training_config, scores=scores
    )
    atomic_write_text(folder / "README.md", text)
    return folder
