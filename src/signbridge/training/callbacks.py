"""Trainer callbacks for variational sign language models.

:class:`KLAnnealingCallback` hands the Trainer's optimizer step count to any model that exposes
``set_global_step(step)`` (``CVSLTForConditionalGeneration`` does), so that the KL annealing weight
rises with *optimizer* steps. Counting forward calls inside the model would run the schedule
``gradient_accumulation_steps`` times too fast and would also count evaluation forwards.
"""

from __future__ import annotations

from torch import nn
from transformers import TrainerCallback
from transformers.utils import logging

logger = logging.get_logger(__name__)


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the model under DDP/FSDP/``torch.compile`` style wrappers (``.module`` / ``._orig_mod``)."""
    seen = set()
    while id(model) not in seen:
        seen.add(id(model))
        if hasattr(model, "set_global_step"):
            return model
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None:
            break
        model = inner
    return model


def set_model_global_step(model: nn.Module | None, step: int) -> bool:
    """Call ``model.set_global_step(step)`` on the (unwrapped) model; return whether it had the hook."""
    if model is None:
        return False
    target = unwrap_model(model)
    hook = getattr(target, "set_global_step", None)
    if hook is None:
        return False
    hook(int(step))
    return True


class KLAnnealingCallback(TrainerCallback):
    """Drive a model's KL/self-distillation annealing from ``TrainerState.global_step``.

    ``on_step_begin`` fires once per optimizer step (before the first micro-batch of a gradient
    accumulation group), when ``state.global_step`` is the number of optimizer updates done so far:
    every micro-batch of the group therefore sees the same annealing step. ``on_train_begin`` sets the
    step too, so that a run resumed from a checkpoint continues the schedule where it stopped.

    Works with the plain :class:`~transformers.Trainer` / :class:`~transformers.Seq2SeqTrainer`:
    ``trainer.add_callback(KLAnnealingCallback())``. :class:`~signbridge.training.CVSLTTrainer` adds
    it (and sets the step in ``training_step`` as well).
    """

    def __init__(self) -> None:
        self._warned = False

    def _apply(self, state, model) -> None:
        if not set_model_global_step(model, state.global_step) and not self._warned:
            self._warned = True
            logger.warning(
                "KLAnnealingCallback: the model %s has no `set_global_step(step)` method; annealing is not driven",
                type(model).__name__,
            )

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._apply(state, model)

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        self._apply(state, model)


__all__ = ["KLAnnealingCallback", "set_model_global_step", "unwrap_model"]
