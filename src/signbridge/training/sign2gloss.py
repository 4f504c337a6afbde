"""Sign2Gloss pretraining of CV-SLT's sign side: the visual head and the shared encoder trained with a gloss CTC loss.

CV-SLT (like the SLRT code it builds on) does not learn to read signs from the translation loss alone: its visual
head starts from a Sign2Gloss checkpoint, a recogniser trained with CTC over the gloss sequences. This module is that
stage for our models: a linear gloss classifier on top of the encoder, CTC loss, AdamW, a linear warm-up then a
cosine decay. Only the visual head and the encoder's own layers, positions and layer norms are trained (the token
embeddings, shared with the decoder, are left alone), and only they are saved
(:func:`save_sign_encoder` / :func:`load_sign_encoder`), so that one stage can start every variant of an experiment.

Measured on ``phoenix14t_synthetic`` (``model_cards/results/base_config_probes.md``): translation loss alone leaves
the plain mBART twin repeating a few sentences (under 5 dev BLEU-4); three CTC epochs reach ~6 % gloss WER, and the
twin started from them, visual head frozen, translates (13-17 greedy dev BLEU-4, most outputs distinct).

Used by :func:`signbridge.training.train_cvslt` (``--sign2gloss_epochs``, ``--sign2gloss_checkpoint``,
``--freeze_visual_head``) and the experiment runner; usable on any :class:`CVSLTForConditionalGeneration`::

    history = train_sign2gloss(model, train_inputs, train_glosses, feature_extractor, epochs=3)
    save_sign_encoder(model, "sign2gloss.safetensors")
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "gloss_vocabulary",
    "sign2gloss_stage",
    "stage_for_training",
    "load_sign_encoder",
    "save_sign_encoder",
    "sign_encoder_state",
    "train_sign2gloss",
]


def gloss_vocabulary(glosses: Sequence[str]) -> dict[str, int]:
    """Gloss -> class index (1..N, in sorted order; 0 is the CTC blank) over whitespace-separated gloss strings."""
    types = sorted({g for sentence in glosses for g in str(sentence).split()})
    if not types:
        raise ValueError("Sign2Gloss needs gloss sequences, but every gloss string is empty")
    return {g: i + 1 for i, g in enumerate(types)}


def _trained_modules(model) -> list[tuple[str, torch.nn.Module]]:
    encoder = model.model.encoder
    return [("visual_head", model.visual_head)] + [
        (f"model.encoder.{name}", module)
        for name, module in encoder.named_children()
        if name != "embed_tokens"  # shared with the decoder and the text side: not trained by the stage
    ]


def sign_encoder_state(model) -> dict[str, torch.Tensor]:
    """The weights Sign2Gloss trains (visual head, encoder layers, positions, layer norms), by their model names."""
    state = {}
    for prefix, module in _trained_modules(model):
        for key, value in module.state_dict().items():
            state[f"{prefix}.{key}"] = value.detach().cpu().contiguous()
    return state


def save_sign_encoder(model, path: str | os.PathLike) -> Path:
    """Write :func:`sign_encoder_state` as one safetensors file (atomically)."""
    from safetensors.torch import save

    from ..utils.files import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = save(
        sign_encoder_state(model), metadata={"format": "pt", "content": "signbridge sign2gloss encoder"}
    )
    with atomic_write(path) as handle:
        handle.write(data)
    return path


def load_sign_encoder(model, path: str | os.PathLike) -> None:
    """Load a file of :func:`save_sign_encoder` into ``model``; every weight must be present with its shape."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Sign2Gloss checkpoint at {path}")
    saved = load_file(str(path))
    expected = sign_encoder_state(model)
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    shapes = [k for k in expected if k in saved and tuple(saved[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or shapes:
        raise ValueError(
            f"{path} does not fit this model's visual head and encoder: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}, different shapes {[(k, tuple(saved[k].shape)) for k in shapes[:5]]}"
        )
    for prefix, module in _trained_modules(model):
        sub = {k[len(prefix) + 1 :]: v for k, v in saved.items() if k.startswith(prefix + ".")}
        module.load_state_dict(sub, strict=True)


def _ctc_greedy(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    best = log_probs.argmax(-1).tolist()
    out = []
    for row, length in zip(best, lengths.tolist(), strict=True):
        row = row[:length]
        out.append([c for j, c in enumerate(row) if c and (j == 0 or c != row[j - 1])])
    return out


def _edit_distance(hyp: Sequence[int], ref: Sequence[int]) -> int:
    previous = list(range(len(ref) + 1))
    for i, a in enumerate(hyp, 1):
        current = [i]
        for j, b in enumerate(ref, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def train_sign2gloss(
    model,
    inputs: Sequence[np.ndarray],
    glosses: Sequence[str],
    feature_extractor,
    *,
    epochs: float = 3.0,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    warmup_steps: int = 150,
    max_grad_norm: float = 1.0,
    seed: int = 0,
    dev_inputs: Sequence[np.ndarray] | None = None,
    dev_glosses: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``model``'s visual head and encoder with a gloss CTC loss, in place.

    Args:
        model: a :class:`~signbridge.models.cvslt.CVSLTForConditionalGeneration` (its device is used).
        inputs: one sign sequence per training sentence (features ``(T, D)`` or poses, as ``feature_extractor``
            takes them).
        glosses: the gloss string of each sentence (whitespace-separated).
        feature_extractor: the model's feature extractor (checks, converts and pads the inputs).
        epochs: passes over the training sentences (may be fractional); steps = ceil(epochs * N / batch_size).
        dev_inputs, dev_glosses: if given, the greedy CTC gloss word error rate on them after each epoch.

    Returns:
        ``{"steps", "num_glosses", "history": [{"step", "epoch", "loss", "dev_wer"?}, ...]}``.
    """
    if len(inputs) != len(glosses):
        raise ValueError(f"{len(inputs)} sign sequences but {len(glosses)} gloss strings")
    if len(inputs) == 0:
        raise ValueError("Sign2Gloss needs at least one training sentence")
    if epochs <= 0:
        raise ValueError(f"epochs must be > 0, got {epochs}")
    vocab = gloss_vocabulary(glosses)
    targets = [[vocab[g] for g in str(s).split()] for s in glosses]
    empty = [i for i, t in enumerate(targets) if not t]
    if empty:
        raise ValueError(
            f"{len(empty)} training sentence(s) have an empty gloss sequence (first: index {empty[0]})"
        )
    device = next(model.parameters()).device
    classifier = torch.nn.Linear(model.config.d_model, len(vocab) + 1).to(device)
    params = [p for _, module in _trained_modules(model) for p in module.parameters()]
    params += list(classifier.parameters())
    steps = max(1, math.ceil(epochs * len(inputs) / batch_size))
    optimizer = torch.optim.AdamW(params, lr=learning_rate, betas=(0.9, 0.998), weight_decay=0.0)

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
        return warm * 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    rng = np.random.default_rng(seed)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)

    def encode(batch_inputs):
        prepared = feature_extractor(list(batch_inputs), return_tensors="pt", padding=True)
        features = prepared["input_features"].to(device)
        mask = prepared["attention_mask"].to(device).bool()
        embeds, mask = model.embed_sign(features, mask)
        hidden = model.model.encoder(inputs_embeds=embeds, attention_mask=mask.long()).last_hidden_state
        return classifier(hidden).float().log_softmax(-1), mask.sum(1)

    def dev_wer() -> float:
        model.eval()
        errors = words = 0
        with torch.no_grad():
            for start in range(0, len(dev_inputs), 64):
                log_probs, lengths = encode(dev_inputs[start : start + 64])
                for hyp, sentence in zip(
                    _ctc_greedy(log_probs, lengths), dev_glosses[start : start + 64], strict=True
                ):
                    ref = [vocab.get(g, -1) for g in str(sentence).split()]
                    errors += _edit_distance(hyp, ref)
                    words += len(ref)
        model.train()
        return 100.0 * errors / max(words, 1)

    was_training = model.training
    model.train()
    history: list[dict[str, Any]] = []
    steps_per_epoch = max(1, math.ceil(len(inputs) / batch_size))
    order: list[int] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="Sign2Gloss (gloss CTC)", unit="step")
    try:
        for step in range(1, steps + 1):
            if not order:
                order = rng.permutation(len(inputs)).tolist()
            ids = [order.pop() for _ in range(min(batch_size, len(order)))]
            log_probs, lengths = encode([inputs[i] for i in ids])
            batch_targets = [torch.tensor(targets[i], dtype=torch.long) for i in ids]
            loss = ctc(
                log_probs.transpose(0, 1),
                torch.cat(batch_targets).to(device),
                lengths,
                torch.tensor([len(t) for t in batch_targets], device=device),
            )
            if not torch.isfinite(loss):
                raise FloatingPointError(f"Sign2Gloss: the CTC loss is {loss.item()} at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            scheduler.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if step % steps_per_epoch == 0 or step == steps:
                record: dict[str, Any] = {
                    "step": step,
                    "epoch": round(step * batch_size / len(inputs), 3),
                    "loss": float(loss.item()),
                }
                if dev_inputs is not None and dev_glosses is not None:
                    record["dev_wer"] = dev_wer()
                history.append(record)
    finally:
        if bar is not None:
            bar.close()
        torch.random.set_rng_state(generator_state)
        model.train(was_training)
    return {"steps": steps, "num_glosses": len(vocab), "history": history}


class _Column:
    """One array column of a split, read row by row (a whole corpus' features need not be in memory at once)."""

    def __init__(self, split, key: str):
        self.split, self.key = split.select_columns([key]).with_format("numpy"), key

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.split[i][self.key] for i in range(*index.indices(len(self)))]
        return self.split[int(index)][self.key]


def sign2gloss_stage(
    model,
    train_split,
    dev_split,
    feature_extractor,
    *,
    checkpoint: str | os.PathLike | None,
    default_checkpoint: str | os.PathLike,
    epochs: float,
    learning_rate: float = 2e-3,
    batch_size: int = 32,
    seed: int = 0,
    input_key: str = "features",
    gloss_key: str = "gloss",
    dev_size: int = 200,
    progress: bool = True,
    save: bool = True,
) -> dict[str, Any]:
    """Load ``checkpoint`` into ``model`` if it exists; else train the stage on the splits' ``gloss_key`` column
    (:func:`train_sign2gloss`, greedy gloss WER on the first ``dev_size`` dev sentences) and save it to
    ``checkpoint`` (or ``default_checkpoint``). Returns what was done, with the stage's history when trained."""
    if checkpoint is not None and Path(checkpoint).is_file():
        load_sign_encoder(model, checkpoint)
        return {"checkpoint": str(checkpoint), "trained": False}
    if epochs <= 0:
        raise FileNotFoundError(
            f"Sign2Gloss checkpoint {checkpoint} does not exist; give sign2gloss_epochs > 0 to train it there"
        )
    for name, split in (("train", train_split), ("dev", dev_split)):
        if gloss_key not in split.column_names:
            raise ValueError(
                f"the Sign2Gloss stage needs a {gloss_key!r} column; the {name} split has {split.column_names}"
            )
    dev_split = dev_split.select(range(min(dev_size, len(dev_split))))
    stage = train_sign2gloss(
        model,
        _Column(train_split, input_key),
        list(train_split[gloss_key]),
        feature_extractor,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        dev_inputs=_Column(dev_split, input_key),
        dev_glosses=list(dev_split[gloss_key]),
        progress=progress,
    )
    target = Path(checkpoint if checkpoint is not None else default_checkpoint)
    if save:
        save_sign_encoder(model, target)
    return {"checkpoint": str(target), "trained": True, **stage}


def stage_for_training(
    model, model_args, data_args, training_args, raw_dataset, feature_extractor, output_dir
) -> dict[str, Any]:
    """:func:`sign2gloss_stage` with :func:`~signbridge.training.train_cvslt`'s arguments (``sign2gloss_*`` of the
    model arguments, the splits and columns of the data arguments, batch size and seed of the training ones)."""
    model.to(training_args.device)  # the Trainer would move it later; the stage runs where training will
    train = raw_dataset[data_args.train_split]
    if data_args.max_train_samples is not None:
        train = train.select(range(min(data_args.max_train_samples, len(train))))
    return sign2gloss_stage(
        model,
        train,
        raw_dataset[data_args.dev_split],
        feature_extractor,
        checkpoint=model_args.sign2gloss_checkpoint or None,
        default_checkpoint=Path(output_dir) / "sign2gloss.safetensors",
        epochs=model_args.sign2gloss_epochs,
        learning_rate=model_args.sign2gloss_learning_rate,
        batch_size=training_args.per_device_train_batch_size,
        seed=training_args.seed,
        input_key=data_args.input_key,
        gloss_key=data_args.gloss_key,
        progress=not training_args.disable_tqdm,
        save=training_args.process_index == 0,
    )
