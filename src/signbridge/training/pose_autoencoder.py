"""Training of the pose autoencoder (TAE), the feature extractor of the Fréchet Gesture Distance.

:func:`train_pose_autoencoder` cuts fixed-length windows from the training sequences and trains
:class:`~signbridge.models.pose_autoencoder.PoseAutoencoderModel` with the transformers ``Trainer``.
``scripts/train_pose_autoencoder.py`` and the demo call it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from signbridge.data.validation import check_pose_sequences
from signbridge.training.callbacks import ProcessSeedCallback, use_callbacks
from signbridge.utils.distributed import (
    check_distributed_arguments,
    is_main_process,
    main_process_report,
    wait_for_everyone,
)
from signbridge.utils.runtime import Report, say, write_results

if TYPE_CHECKING:
    from transformers import TrainerCallback, TrainingArguments

    from signbridge.models.pose_autoencoder import PoseAutoencoderModel


class WindowDataset(torch.utils.data.Dataset):
    """Pose windows as ``{"poses": (window, J, K)}`` examples for the Trainer."""

    def __init__(self, windows: np.ndarray):
        self.windows = torch.from_numpy(windows)

    def __len__(self) -> int:
        return self.windows.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"poses": self.windows[index]}


def cut_windows(sequences: Sequence[np.ndarray], window: int, stride: int) -> np.ndarray:
    """All ``window``-frame windows starting every ``stride`` frames: ``(N, window, J, K)``.

    Sequences shorter than a window give none; at least one window overall is required.
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    chunks = [s[i : i + window] for s in sequences for i in range(0, len(s) - window + 1, stride)]
    if not chunks:
        longest = max((len(s) for s in sequences), default=0)
        raise ValueError(f"no sequence has {window} frames (the longest has {longest}): no window to use")
    return np.stack(chunks).astype(np.float32)


def train_pose_autoencoder(
    train_sequences: Sequence[np.ndarray],
    training_args: TrainingArguments,
    *,
    window_stride: int = 8,
    eval_sequences: Sequence[np.ndarray] | None = None,
    report: Report | None = None,
    callbacks: list[TrainerCallback] | None = None,
    **config_kwargs: Any,
) -> tuple[PoseAutoencoderModel, dict[str, Any]]:
    """Train the TAE (:class:`~signbridge.models.pose_autoencoder.PoseAutoencoderModel`) with the ``Trainer``.

    Windows of ``window_size`` (34) frames are cut every ``window_stride`` frames from the training
    sequences; the poses are min-max normalised with statistics stored in the config
    (``normalization``, the ``PoseNormalizer.to_dict()`` format).
    ``scripts/train_pose_autoencoder.py`` and the demo both call this. With ``eval_sequences``
    (e.g. the dev split, cut into non-overlapping windows) the reconstruction loss is measured
    before and after training. ``callbacks`` go to the ``Trainer``.

    Returns:
        ``(model, metrics)`` with the model in eval mode; ``metrics`` holds the Trainer's train
        metrics, ``train_windows`` and, with ``eval_sequences``, ``dev_windows``,
        ``dev_loss_before`` and ``dev_loss_after``.
    """
    from transformers import Trainer, set_seed

    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel

    seqs = check_pose_sequences(train_sequences, "train_sequences")
    num_joints, joint_dim = (int(v) for v in seqs[0].shape[1:])
    config = PoseAutoencoderConfig(
        num_joints=num_joints,
        joint_dim=joint_dim,
        normalization=PoseNormalizer.fit(seqs).to_dict(),
        **config_kwargs,
    )
    set_seed(training_args.seed)  # before the model is built: its initialisation is part of the run
    model = PoseAutoencoderModel(config)
    windows = cut_windows(seqs, config.window_size, window_stride)
    eval_windows = None
    if eval_sequences is not None:
        eval_seqs = check_pose_sequences(eval_sequences, "eval_sequences", num_joints, joint_dim)
        eval_windows = cut_windows(eval_seqs, config.window_size, config.window_size)
    check_distributed_arguments(training_args)
    if not torch.cuda.is_available():
        training_args.use_cpu = True
    training_args.label_names = ["poses"]  # the autoencoder's target is its input
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=WindowDataset(windows),
        eval_dataset=WindowDataset(eval_windows) if eval_windows is not None else None,
    )
    use_callbacks(
        trainer, [ProcessSeedCallback(), *(callbacks or [])]
    )  # each process its own dropout under DDP
    main_process_report(say(report))(
        f"pose autoencoder (TAE): {len(windows)} training windows of {config.window_size} frames"
        + (f", {len(eval_windows)} dev windows" if eval_windows is not None else "")
    )
    metrics: dict[str, Any] = {"train_windows": len(windows)}
    if eval_windows is not None:
        # Not trainer.evaluate(): before train() it marks the model as prepared for evaluation, and under DDP
        # train() then never wraps it, so each process would train its own copy (transformers 5.x)
        metrics["dev_windows"] = len(eval_windows)
        metrics["dev_loss_before"] = window_loss(
            model, eval_windows, training_args.per_device_eval_batch_size
        )
    result = trainer.train()
    metrics.update(result.metrics)
    if eval_windows is not None:
        metrics["dev_loss_after"] = window_loss(model, eval_windows, training_args.per_device_eval_batch_size)
    model.eval()
    return model, metrics


@torch.no_grad()
def window_loss(model: PoseAutoencoderModel, windows: np.ndarray, batch_size: int = 64) -> float:
    """The model's reconstruction loss over all ``windows`` (each weighs the same), in eval mode.

    Every process computes it whole (the same number everywhere, whatever the number of processes).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    for begin in range(0, len(windows), batch_size):
        batch = torch.from_numpy(windows[begin : begin + batch_size]).to(device)
        total += float(model(poses=batch, return_dict=True).loss) * len(batch)
    model.train(was_training)
    return total / len(windows)


@dataclass
class TAEModelArguments:
    """Architecture of the autoencoder (see :class:`~signbridge.models.pose_autoencoder.PoseAutoencoderConfig`)
    and how training windows are cut."""

    window_size: int = field(default=34, metadata={"help": "frames per window (34 in NAR-SLP)"})
    window_stride: int = field(default=8, metadata={"help": "frames between training windows"})
    d_model: int = 256
    encoder_layers: int = 4
    decoder_layers: int = 4
    num_attention_heads: int = 4
    ffn_dim: int = 1024
    latent_dim: int | None = field(
        default=None,
        metadata={"help": "a linear bottleneck for the FGD features; unset: the pooled encoder output"},
    )
    dropout: float = 0.1
    loss_type: str = field(default="bce", metadata={"help": "'bce' (the paper's choice) or 'mse'"})


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``scripts/train_pose_autoencoder.py``: train and save a TAE, then FGD of train-vs-dev and mean-pose-vs-dev
    as a sanity check (real motion must score far below the mean pose)."""
    from transformers import TrainingArguments

    from signbridge.data.loading import PoseDataArguments, load_text_pose_splits
    from signbridge.evaluation.production import baseline_mean
    from signbridge.metrics.fgd import FGD
    from signbridge.utils.arguments import parse_config_and_flags
    from signbridge.utils.files import check_output_folder

    model_args, data_args, training_args = parse_config_and_flags(
        (TAEModelArguments, PoseDataArguments, TrainingArguments), argv
    )
    check_output_folder(training_args.output_dir, "--output_dir", create=True)  # user errors before any work
    started = time.time()
    with training_args.main_process_first(desc="loading the corpus"):  # one process builds the cache
        pairs = load_text_pose_splits(data_args, ("train", "dev"))
    sequences = {split: [p["poses"] for p in examples] for split, examples in pairs.items()}
    config_kwargs = asdict(model_args)
    window_stride = config_kwargs.pop("window_stride")
    model, metrics = train_pose_autoencoder(
        sequences["train"],
        training_args,
        window_stride=window_stride,
        eval_sequences=sequences["dev"],
        report=print,
        **config_kwargs,
    )
    output_dir = Path(training_args.output_dir)
    if is_main_process():
        model.save_pretrained(output_dir)
    fgd = FGD(model=model.eval())
    rng = np.random.default_rng(0)
    train_subset = [
        sequences["train"][i] for i in rng.permutation(len(sequences["train"]))[: len(sequences["dev"])]
    ]
    mean_baseline = baseline_mean(sequences["train"], [len(s) for s in sequences["dev"]])
    real = fgd.compute(predictions=train_subset, references=sequences["dev"], breakdowns=False)
    mean = fgd.compute(predictions=mean_baseline, references=sequences["dev"], breakdowns=False)
    results = {
        **{
            k: metrics[k]
            for k in ("train_windows", "dev_windows", "dev_loss_before", "dev_loss_after", "train_loss")
        },
        "fgd_x10_train_vs_dev": real["fgd_x10"],
        "fgd_x10_mean_pose_vs_dev": mean["fgd_x10"],
        "wall_seconds": time.time() - started,
        "output_dir": str(output_dir),
        "world_size": training_args.world_size,
    }
    if is_main_process():
        write_results(results, output_dir)
        from .model_folder import finish_model_folder

        finish_model_folder(
            output_dir,
            dataset=data_args.dataset,
            training_config={"model_args": asdict(model_args), "data_args": asdict(data_args)},
            scores=results,
        )
    wait_for_everyone()
    return results


__all__ = [
    "main",
    "TAEModelArguments",
    "WindowDataset",
    "cut_windows",
    "train_pose_autoencoder",
    "window_loss",
]
