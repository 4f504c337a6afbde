"""Training of the per-frame pose VAE (LGM encoder + PGM decoder) of NAR-SLP (Hwang et al., 2022).

:func:`train_pose_vae` trains it on normalised training frames with a plain PyTorch loop and a tqdm bar: the model
is a small MLP over single frames, so the Trainer's per-step machinery (padding collator, evaluation loop) buys
nothing. ``scripts/train_pose_vae.py`` and the demo call it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from signbridge.data.validation import check_pose_sequences
from signbridge.utils.distributed import (
    all_reduce_gradients,
    all_reduce_sum,
    broadcast_parameters,
    is_main_process,
    main_process_first,
    main_process_report,
    start_distributed,
    wait_for_everyone,
)
from signbridge.utils.reprs import short_repr
from signbridge.utils.runtime import Report, say, write_results

if TYPE_CHECKING:
    from signbridge.models.pose_vae import PoseVAEConfig, PoseVAEModel


@dataclass
class PoseVAETrainingArguments:
    """Optimisation settings of :func:`train_pose_vae` (also part of ``scripts/train_pose_vae.py``'s JSON)."""

    num_epochs: int = field(default=5, metadata={"help": "Passes over the (sub-sampled) training frames."})
    batch_size: int = field(default=512, metadata={"help": "Frames per optimisation step."})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    max_frames: int | None = field(
        default=None, metadata={"help": "Use at most this many training frames (random subset); None: all."}
    )
    seed: int = field(default=0, metadata={"help": "Random seed (initialisation, shuffling, sampling)."})

    def __post_init__(self):
        for name in ("num_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"PoseVAETrainingArguments.{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"PoseVAETrainingArguments.learning_rate must be > 0, got {self.learning_rate}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(
                f"PoseVAETrainingArguments.max_frames must be >= 1 or None, got {self.max_frames}"
            )


def _stack_frames(sequences: Sequence[np.ndarray], max_frames: int | None, seed: int) -> np.ndarray:
    frames = np.concatenate(sequences, axis=0)
    if max_frames is not None and max_frames < len(frames):
        rng = np.random.default_rng(seed)
        frames = frames[np.sort(rng.choice(len(frames), size=max_frames, replace=False))]
    return frames


def train_pose_vae(
    train_sequences: Sequence[np.ndarray],
    config: PoseVAEConfig | None = None,
    args: PoseVAETrainingArguments | None = None,
    *,
    dev_sequences: Sequence[np.ndarray] | None = None,
    output_dir: str | os.PathLike | None = None,
    progress: bool = True,
    report: Report | None = None,
    **config_overrides: Any,
) -> PoseVAEModel:
    """Train the per-frame pose VAE (LGM encoder + PGM decoder) of NAR-SLP on normalised frames.

    The joints are min-max normalised to [0, 1] with statistics fitted on *all* training frames
    and stored in the model's config (``normalization``), so the PGM output can be
    denormalised later. A plain loop over shuffled frames (AdamW, BCE + ``kl_weight`` * KL).

    Args:
        train_sequences: training pose sequences, each ``(T, J, K)`` in corpus coordinates.
        config: a :class:`~signbridge.models.pose_vae.PoseVAEConfig`; its statistics are replaced
            by the fitted ones. ``None`` builds one from the data layout and ``config_overrides``.
        args: optimisation settings (:class:`PoseVAETrainingArguments`).
        dev_sequences: optional held-out sequences; their mean absolute reconstruction error (corpus
            units) is reported and stored as ``model.dev_reconstruction_error``.
        output_dir: when given, the model is saved there with ``save_pretrained``, with a model card
            (:func:`~signbridge.training.model_folder.finish_model_folder`) holding ``args`` and the scores.
        progress: show a tqdm bar over the optimisation steps.
        report: callable receiving one-line summaries (default: the module logger).
        **config_overrides: ``PoseVAEConfig`` fields (``latent_dim``, ``hidden_sizes``, ``kl_weight``), and
            ``min_range``, the statistics' rule for joints that never move (see ``PoseNormalizer``).

    Returns:
        The trained :class:`~signbridge.models.pose_vae.PoseVAEModel`, in eval mode.
    """
    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.pose_vae import PoseVAEConfig, PoseVAEModel

    args = args or PoseVAETrainingArguments()
    log = say(report)
    seqs = check_pose_sequences(train_sequences, "train_sequences")
    num_joints, joint_dim = (int(v) for v in seqs[0].shape[1:])
    seqs = check_pose_sequences(seqs, "train_sequences", num_joints, joint_dim)
    from transformers import set_seed

    set_seed(args.seed)
    all_frames = np.concatenate(seqs, axis=0)
    min_range = config_overrides.pop("min_range", None)
    if config is None:
        config = PoseVAEConfig(num_joints=num_joints, joint_dim=joint_dim, **config_overrides)
    else:
        for key, value in config_overrides.items():
            setattr(config, key, value)
        if (config.num_joints, config.joint_dim) != (num_joints, joint_dim):
            raise ValueError(
                f"the PoseVAEConfig expects (J, K) = ({config.num_joints}, {config.joint_dim}), the training "
                f"poses have ({num_joints}, {joint_dim})"
            )
    if min_range is None:  # keep the rule of the config's statistics, if it has some
        min_range = config.normalizer.min_range if config.has_normalization else 0.0
    config.set_normalization(PoseNormalizer.fit([all_frames], min_range=min_range))
    model = PoseVAEModel(config)

    frames = _stack_frames([all_frames], args.max_frames, args.seed)
    normalised = model.normalize(torch.from_numpy(frames))
    rank, world_size, device = start_distributed()
    log = main_process_report(log)
    if world_size > 1:
        model.to(device)
        broadcast_parameters(model.parameters())
        # the reparameterisation noise (torch's global generator): a stream of its own on each process,
        # or every share of a batch would get the same noise
        torch.manual_seed(args.seed + rank)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    generator = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = math.ceil(len(normalised) / args.batch_size)
    model.train()
    start = time.time()
    with tqdm(
        total=steps_per_epoch * args.num_epochs,
        desc="pose VAE",
        disable=not progress or rank != 0,
        unit="step",
    ) as bar:
        for epoch in range(args.num_epochs):
            # every process draws the same order and takes its share of each batch (data parallel)
            order = torch.randperm(len(normalised), generator=generator)
            running = torch.zeros((), dtype=torch.float64)
            for begin in range(0, len(order), args.batch_size):
                batch_order = order[begin : begin + args.batch_size]
                share = torch.tensor_split(batch_order, world_size)[rank]
                optimizer.zero_grad(set_to_none=True)
                if len(share):
                    out = model(poses=normalised[share].to(device), return_dict=True)
                    # the loss is a mean over frames: weighting each share by its part of the batch and
                    # summing the gradients gives the gradient of the whole batch's mean
                    (out.loss * (len(share) / len(batch_order))).backward()
                    running += float(out.loss.detach()) * len(share)
                all_reduce_gradients(model.parameters())
                optimizer.step()
                bar.update(1)
                if len(share):
                    bar.set_postfix(
                        loss=f"{float(out.loss.detach()):.4f}",
                        bce=f"{float(out.reconstruction_loss.detach()):.4f}",
                    )
            running = float(all_reduce_sum(running))
            log(
                f"pose VAE epoch {epoch + 1}/{args.num_epochs}: loss {running / len(order):.5f} "
                f"({len(order)} frames, {time.time() - start:.0f} s"
                + (f", {world_size} processes)" if world_size > 1 else ")")
            )
    model.eval()
    model.to("cpu")
    model.train_loss = running / len(normalised)
    if dev_sequences is not None:
        dev = torch.from_numpy(
            np.concatenate(check_pose_sequences(dev_sequences, "dev_sequences", num_joints, joint_dim))
        )
        recon = model.reconstruct(dev)
        model.dev_reconstruction_error = float((recon - dev).abs().mean())
        mean_error = float((dev - torch.from_numpy(all_frames.mean(axis=0))).abs().mean())
        log(
            f"pose VAE dev reconstruction mean |error|: {model.dev_reconstruction_error:.5f} "
            f"(mean training pose: {mean_error:.5f})"
        )
    if output_dir is not None:
        if is_main_process():
            from .model_folder import finish_model_folder

            model.save_pretrained(output_dir)
            scores = {"train_loss": model.train_loss}
            if dev_sequences is not None:
                scores["dev_reconstruction_mae"] = model.dev_reconstruction_error
            finish_model_folder(
                output_dir,
                training_config={"training": asdict(args), "model": dict(config_overrides)},
                scores=scores,
            )
        wait_for_everyone()
    return model


@dataclass
class PoseVAEModelArguments:
    """Architecture of the pose VAE (see :class:`~signbridge.models.pose_vae.PoseVAEConfig`)."""

    latent_dim: int = field(default=64, metadata={"help": "per-frame latent size"})
    hidden_sizes: str = field(default="512,256", metadata={"help": "two hidden widths, comma-separated"})
    kl_weight: float = field(default=1e-4, metadata={"help": "lambda of the KL term (1e-4 in the paper)"})
    output_dir: str = field(default="runs/pose_vae", metadata={"help": "where the model is saved"})

    def __post_init__(self):
        try:
            [int(h) for h in self.hidden_sizes.split(",")]
        except ValueError:
            raise ValueError(
                f"--hidden_sizes must be comma-separated integers such as 512,256, got {short_repr(self.hidden_sizes)}"
            ) from None


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``scripts/train_pose_vae.py``: train, save, and compare the dev reconstruction with the mean pose."""
    from signbridge.data.loading import PoseDataArguments, load_text_pose_splits
    from signbridge.evaluation.production import mean_pose
    from signbridge.utils.arguments import parse_config_and_flags
    from signbridge.utils.files import check_output_folder

    data_args, model_args, train_args = parse_config_and_flags(
        (PoseDataArguments, PoseVAEModelArguments, PoseVAETrainingArguments), argv
    )
    check_output_folder(model_args.output_dir, "--output_dir", create=True)  # user errors before any work
    _, world_size, _ = (
        start_distributed()
    )  # under a launcher: the process group (one process builds the cache)
    with main_process_first():
        pairs = load_text_pose_splits(data_args, ("train", "dev"))
    poses = {split: [p["poses"] for p in examples] for split, examples in pairs.items()}
    model = train_pose_vae(
        poses["train"],
        args=train_args,
        dev_sequences=poses["dev"],
        output_dir=model_args.output_dir,
        report=print,
        latent_dim=model_args.latent_dim,
        hidden_sizes=[int(h) for h in model_args.hidden_sizes.split(",")],
        kl_weight=model_args.kl_weight,
    )
    dev = np.concatenate(poses["dev"])
    results = {
        "train_loss": model.train_loss,
        "dev_reconstruction_mae": model.dev_reconstruction_error,
        "dev_mean_pose_mae": float(np.abs(dev - mean_pose(poses["train"])).mean()),
        "output_dir": model_args.output_dir,
        "world_size": world_size,
    }
    if is_main_process():
        write_results(results, model_args.output_dir)
        from .model_folder import finish_model_folder

        card = {
            "data_args": asdict(data_args),
            "model_args": asdict(model_args),
            "training_args": asdict(train_args),
        }
        finish_model_folder(
            model_args.output_dir, dataset=data_args.dataset, training_config=card, scores=results
        )
    wait_for_everyone()
    return results


__all__ = ["main", "PoseVAEModelArguments", "PoseVAETrainingArguments", "train_pose_vae"]
