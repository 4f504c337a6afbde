"""``Seq2SeqTrainer`` for CV-SLT: annealing by optimizer step, loss-part logging, per-module learning rates.

The reference CV-SLT recipe (Zhao et al., AAAI 2024, built on SLRT/MMTLB) trains with Adam
(beta1 0.9, beta2 0.998), a cosine schedule and two learning rates: 1e-3 for the visual head and
its mapper, 1e-5 for mBART and the Gaussian network. :class:`CVSLTTrainingArguments` carries those
defaults and :class:`CVSLTTrainer` implements them on top of :class:`~transformers.Seq2SeqTrainer`,
so ``predict_with_generate=True`` with beam search and ``compute_metrics`` work as for any
seq2seq model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments
from transformers.utils import logging

from signbridge.evaluation.translation import decode_sequences, make_translation_compute_metrics

from .callbacks import KLAnnealingCallback, ProcessSeedCallback, set_model_global_step, unwrap_model

logger = logging.get_logger(__name__)

#: Output fields of ``CVSLTForConditionalGeneration`` logged next to the Trainer's ``loss``.
LOSS_PART_FIELDS: tuple[str, ...] = (
    "posterior_ce_loss",
    "prior_ce_loss",
    "kl_loss",
    "sd_loss",
    "annealing_weight",
)


@dataclass
class CVSLTTrainingArguments(Seq2SeqTrainingArguments):
    """:class:`~transformers.Seq2SeqTrainingArguments` with the CV-SLT recipe's defaults and module learning rates.

    ``learning_rate`` applies to mBART (and, unless ``latent_network_learning_rate`` is given, to the
    Gaussian network); ``visual_head_learning_rate`` to the visual head and mapper.
    """

    # the collators read the raw columns (features / poses, text); transformers' default (True) drops every column
    # the model's forward does not name, so the collator would see none of them
    remove_unused_columns: bool = field(
        default=False,
        metadata={
            "help": "Drop dataset columns the model's forward does not take (False: the collator needs them)."
        },
    )
    # ---- CV-SLT optimisation recipe ----
    adam_beta2: float = field(
        default=0.998, metadata={"help": "Adam beta2 (0.998 in the CV-SLT/SLRT recipe)."}
    )
    lr_scheduler_type: str = field(
        default="cosine", metadata={"help": "Learning-rate schedule (cosine in the CV-SLT recipe)."}
    )
    visual_head_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Learning rate of the `visual_head` submodule (visual head + mapper; 1e-3 in the "
            "reference). None: `learning_rate`."
        },
    )
    latent_network_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Learning rate of the `latent_network` submodule (Gaussian network). None: `learning_rate`."
        },
    )
    torch_num_threads: int | None = field(
        default=None,
        metadata={
            "help": "torch.set_num_threads for CPU training (1 is much faster than 2 on a CPU shared with "
            "other jobs). None: leave torch's default."
        },
    )
    log_loss_parts: bool = field(
        default=True, metadata={"help": "Log each loss part and the annealing weight next to `loss`."}
    )

    def __post_init__(self):
        super().__post_init__()
        for name in ("visual_head_learning_rate", "latent_network_learning_rate"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive float or None, got {value!r}")
        if self.torch_num_threads is not None and self.torch_num_threads < 1:
            raise ValueError(f"torch_num_threads must be >= 1 or None, got {self.torch_num_threads!r}")

    def module_learning_rates(self) -> dict[str, float]:
        """The ``{submodule prefix: learning rate}`` overrides these arguments ask for."""
        rates = {}
        if self.visual_head_learning_rate is not None:
            rates["visual_head"] = float(self.visual_head_learning_rate)
        if self.latent_network_learning_rate is not None:
            rates["latent_network"] = float(self.latent_network_learning_rate)
        return rates


def _module_of(name: str, prefixes: Sequence[str]) -> str | None:
    for prefix in prefixes:
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return None


class CVSLTTrainer(Seq2SeqTrainer):
    """:class:`~transformers.Seq2SeqTrainer` for :class:`~signbridge.models.cvslt.CVSLTForConditionalGeneration`.

    On top of the parent it

    * gives each process its own random stream under DDP (:class:`ProcessSeedCallback`: seed + process
      index), so the shares of a global batch draw different latent noise and dropout masks;
    * sets ``model.set_global_step(step)`` before every training micro-batch (and adds a
      :class:`KLAnnealingCallback`), so the KL / self-distillation annealing follows *optimizer*
      steps, also under gradient accumulation, and continues from the step a loaded model was saved at;
    * logs each loss part (``posterior_ce_loss``, ``prior_ce_loss``, ``kl_loss``, ``sd_loss``) and the
      ``annealing_weight``, averaged over the logging interval like the Trainer's ``loss``;
    * builds one optimizer parameter group per (module, weight decay) pair, with the learning rates of
      ``module_learning_rates`` (``{"visual_head": 1e-3}`` style, prefixes of parameter names) or
      of :class:`CVSLTTrainingArguments`; the schedule scales every group alike.

    The model computes its own (label-smoothed) composite loss, so ``label_smoothing_factor`` must stay
    0 in the arguments: set ``CVSLTConfig.label_smoothing`` instead.

    Args:
        module_learning_rates: optional ``{parameter-name prefix: learning rate}``; overrides the
            ones derived from :class:`CVSLTTrainingArguments`. Parameters matching no prefix use
            ``args.learning_rate``.
        All other arguments are those of :class:`~transformers.Seq2SeqTrainer`.
    """

    def __init__(self, *args, module_learning_rates: Mapping[str, float] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.args.label_smoothing_factor:
            raise ValueError(
                "CVSLTTrainer: label_smoothing_factor must be 0 (got "
                f"{self.args.label_smoothing_factor}); the Trainer's label smoother would replace the model's "
                "composite CV-SLT loss by a smoothed CE of the prior logits. Set the model config's "
                "label_smoothing instead."
            )
        rates = {}
        if isinstance(self.args, CVSLTTrainingArguments):
            rates.update(self.args.module_learning_rates())
        if module_learning_rates:
            rates.update({str(k): float(v) for k, v in module_learning_rates.items()})
        for prefix, lr in rates.items():
            if not lr > 0:
                raise ValueError(f"module_learning_rates[{prefix!r}] must be positive, got {lr!r}")
        self.module_learning_rates: dict[str, float] = rates
        self.log_loss_parts = getattr(self.args, "log_loss_parts", True)
        self._loss_part_sums: dict[str, torch.Tensor] = {}
        self._loss_part_counts: dict[str, int] = {}
        if not any(isinstance(cb, KLAnnealingCallback) for cb in self.callback_handler.callbacks):
            self.add_callback(KLAnnealingCallback())
        self._annealing_callback = next(
            cb for cb in self.callback_handler.callbacks if isinstance(cb, KLAnnealingCallback)
        )
        if not any(isinstance(cb, ProcessSeedCallback) for cb in self.callback_handler.callbacks):
            self.add_callback(ProcessSeedCallback())  # each process its own noise under DDP

    # ---- evaluation over several processes ----

    def evaluation_loop(self, *args, **kwargs):
        """The parent's loop, gathering with ``accelerator.gather_for_metrics``.

        ``Seq2SeqTrainer.evaluate``/``predict`` gather with ``accelerator.gather``, which keeps the
        examples the distributed sampler repeats to give every process full batches: 6 test examples on
        2 processes with batches of 4 came back as 8 predictions, two of them scored twice.
        ``gather_for_metrics`` drops them, so predictions and scores cover each example once, in corpus order.
        """
        self.gather_function = self.accelerator.gather_for_metrics
        return super().evaluation_loop(*args, **kwargs)

    # ---- optimizer ----

    def create_optimizer(self, model=None) -> torch.optim.Optimizer:
        """Adam(W) with one parameter group per (module learning rate, weight decay) pair."""
        opt_model = self.model if model is None else model
        if self.optimizer is not None:
            return self.optimizer
        decay_names = set(self.get_decay_parameter_names(opt_model))
        # Names of the unwrapped model match the prefixes ("visual_head.…"); strip wrapper prefixes.
        prefixes = sorted(self.module_learning_rates, key=len, reverse=True)
        inner = unwrap_model(opt_model)
        for prefix in prefixes:
            if any(_module_of(n, [prefix]) for n, _ in opt_model.named_parameters()):
                continue
            if hasattr(inner, prefix.split(".")[0]):  # e.g. latent_network=None when use_latent=False
                logger.warning("module_learning_rates: the model has no trainable parameter under %r", prefix)
            else:
                raise ValueError(
                    f"module_learning_rates names the submodule {prefix!r}, but the model "
                    f"{type(opt_model).__name__} has no such submodule"
                )
        groups: dict[tuple[str | None, bool], list[nn.Parameter]] = {}
        for name, param in opt_model.named_parameters():
            if not param.requires_grad:
                continue
            key = (_module_of(name, prefixes), name in decay_names)
            groups.setdefault(key, []).append(param)
        param_groups = []
        # The default group first: the Trainer logs the learning rate of group 0 as `learning_rate`.
        for (prefix, decay), params in sorted(
            groups.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or "", not kv[0][1])
        ):
            group = {
                "params": params,
                "weight_decay": self.args.weight_decay if decay else 0.0,
                "lr": self.module_learning_rates[prefix] if prefix is not None else self.args.learning_rate,
                "name": f"{prefix or 'default'}{'' if decay else '_no_decay'}",
            }
            param_groups.append(group)
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        optimizer_kwargs = dict(optimizer_kwargs)
        optimizer_kwargs.pop("params", None)
        self.optimizer = optimizer_cls(param_groups, **optimizer_kwargs)
        logger.info(
            "CVSLTTrainer optimizer groups: %s",
            ", ".join(
                f"{g['name']} lr={g['lr']:g} ({sum(p.numel() for p in g['params'])} params)"
                for g in param_groups
            ),
        )
        return self.optimizer

    # ---- annealing + loss parts ----

    def training_step(
        self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch=None
    ) -> torch.Tensor:
        callback = self._annealing_callback
        if callback in self.callback_handler.callbacks:
            set_model_global_step(model, callback.model_step(self.state))
        else:  # the callback was removed
            set_model_global_step(model, self.state.global_step)
        return super().training_step(model, inputs, num_items_in_batch)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(
            model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch
        )
        if self.log_loss_parts and model.training:
            self._record_loss_parts(outputs)
        return (loss, outputs) if return_outputs else loss

    def _record_loss_parts(self, outputs) -> None:
        for name in LOSS_PART_FIELDS:
            value = outputs.get(name) if isinstance(outputs, Mapping) else getattr(outputs, name, None)
            if value is None:
                continue
            value = value.detach().float().mean() if torch.is_tensor(value) else torch.tensor(float(value))
            if name in self._loss_part_sums:
                self._loss_part_sums[name] = self._loss_part_sums[name] + value.to(
                    self._loss_part_sums[name].device
                )
            else:
                self._loss_part_sums[name] = value
            self._loss_part_counts[name] = self._loss_part_counts.get(name, 0) + 1

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the averaged loss parts to training logs (those carrying ``loss``), then log."""
        if "loss" in logs and self._loss_part_sums:
            for name, total in self._loss_part_sums.items():
                mean = total / self._loss_part_counts[name]
                if self.args.world_size > 1:
                    mean = self.accelerator.reduce(mean.to(self.args.device), reduction="mean")
                logs[name] = round(float(mean), 6)
            self._loss_part_sums = {}
            self._loss_part_counts = {}
        if "learning_rate" in logs and self.module_learning_rates and self.args.learning_rate > 0:
            # Schedules are multiplicative (LambdaLR), so every group keeps its ratio to the base rate.
            scale = logs["learning_rate"] / self.args.learning_rate
            for prefix, lr in self.module_learning_rates.items():
                logs[f"learning_rate_{prefix}"] = lr * scale
        super().log(logs, start_time)


def recipe_training_args(
    output_dir: str,
    *,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    warmup_steps: int,
    seed: int,
    use_cpu: bool = True,
    eval_batch_size: int = 64,
    **extra: Any,
) -> CVSLTTrainingArguments:
    """The training arguments of the package's own CV-SLT runs (the demo, the experiment grids): one learning
    rate for every module, AdamW beta2 0.998 (the release's), a cosine schedule after ``warmup_steps``, gradient
    norm clipped at 1, no evaluation or checkpoints while training, quiet; ``extra`` adds or overrides fields."""
    values: dict[str, Any] = {
        "output_dir": output_dir,
        "num_train_epochs": epochs,
        "per_device_train_batch_size": batch_size,
        "per_device_eval_batch_size": eval_batch_size,
        "learning_rate": learning_rate,
        "visual_head_learning_rate": learning_rate,
        "latent_network_learning_rate": learning_rate,
        "adam_beta2": 0.998,
        "lr_scheduler_type": "cosine",
        "warmup_steps": warmup_steps,
        "max_grad_norm": 1.0,
        "eval_strategy": "no",
        "save_strategy": "no",
        "logging_steps": 50,
        "report_to": "none",
        "use_cpu": use_cpu,
        "seed": seed,
        "disable_tqdm": True,
        "dataloader_pin_memory": False,
    }
    values.update(extra)
    return CVSLTTrainingArguments(**values)


__all__ = [
    "LOSS_PART_FIELDS",
    "CVSLTTrainer",
    "CVSLTTrainingArguments",
    "decode_sequences",
    "make_translation_compute_metrics",
    "recipe_training_args",
    "unwrap_model",
]
