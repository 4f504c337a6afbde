"""Trainer callbacks for variational sign language models.

:class:`KLAnnealingCallback` hands the Trainer's optimizer step count to any model that exposes
``set_global_step(step)`` (``CVSLTForConditionalGeneration`` does), so that the KL annealing weight
rises with *optimizer* steps. Counting forward calls inside the model would run the schedule
``gradient_accumulation_steps`` times too fast and would also count evaluation forwards.

:class:`ProcessSeedCallback` gives each training process its own random stream (seed + process index) when
training starts, so that the shares of a global batch draw different latent noise and dropout masks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn
from transformers import TrainerCallback
from transformers.utils import logging

if TYPE_CHECKING:
    from transformers import Trainer

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


class ProcessSeedCallback(TrainerCallback):
    """Under several processes, reseed each with ``args.seed + args.process_index`` when training starts.

    The ``Trainer`` seeds every process with ``args.seed``, so under DDP each process' share of a global batch
    would draw the same random numbers: the same latent noise (CV-SLT's Gaussian sampling) and the same
    dropout masks, a correlated batch instead of independent samples. This reseeds python, numpy and torch
    (what ``accelerate.utils.set_seed(seed, device_specific=True)`` does) on ``on_train_begin``:

    * after the model is built (the same initial weights everywhere) and after the training data loader
      captured its seed (the same data order everywhere; that sampler has a generator of its own);
    * before a resumed run restores the checkpoint's per-process random states (the Trainer does that at the
      start of its first epoch), so resuming still reproduces an uninterrupted run.

    With one process it does nothing: single-process runs are bit-identical to runs without it. Process 0
    keeps ``args.seed``, so the first share of a global batch sees the stream a single process would.
    """

    def on_train_begin(self, args, state, control, **kwargs):
        if int(args.world_size) > 1:
            from transformers import set_seed

            set_seed(int(args.seed) + int(args.process_index))


class KLAnnealingCallback(TrainerCallback):
    """Drive a model's KL/self-distillation annealing from ``TrainerState.global_step``.

    ``on_step_begin`` fires once per optimizer step (before the first micro-batch of a gradient
    accumulation group), when ``state.global_step`` is the number of optimizer updates done so far:
    every micro-batch of the group therefore sees the same annealing step. ``on_step_end`` sets the
    step again after the update, so a model saved at that point (checkpoints, ``save_model``) stores
    the number of optimizer steps it has been trained for.

    The model's step is saved with its weights. ``on_train_begin`` reads it: a model loaded from a saved
    folder and trained by a new ``Trainer`` (whose ``state.global_step`` starts at 0) continues the
    schedule from its saved step (``step_offset``), and a run resumed from a checkpoint (whose
    ``state.global_step`` equals the saved step) continues from there. To restart the annealing on
    purpose, call ``model.set_global_step(0)`` before training.

    Works with the plain :class:`~transformers.Trainer` / :class:`~transformers.Seq2SeqTrainer`:
    ``trainer.add_callback(KLAnnealingCallback())``. :class:`~signbridge.training.CVSLTTrainer` adds
    it (and sets the step in ``training_step`` as well).
    """

    def __init__(self) -> None:
        self._warned = False
        self.step_offset = 0

    def model_step(self, state) -> int:
        """The annealing step for the Trainer's ``state``: the saved step the run started from plus the
        optimizer steps of this run."""
        return self.step_offset + int(state.global_step)

    def _apply(self, state, model) -> None:
        if not set_model_global_step(model, self.model_step(state)) and not self._warned:
            self._warned = True
            logger.warning(
                "KLAnnealingCallback: the model %s has no `set_global_step(step)` method; annealing is not driven",
                type(model).__name__,
            )

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        saved = getattr(unwrap_model(model), "global_step", None) if model is not None else None
        try:  # CV-SLT: a 0-d tensor buffer saved with the weights
            saved = int(saved) if saved is not None else 0
        except (TypeError, ValueError, RuntimeError):
            saved = 0
        self.step_offset = max(0, saved - int(state.global_step))
        if self.step_offset:
            logger.info(
                "KLAnnealingCallback: the model was trained for %d steps before; annealing continues from "
                "there",
                self.step_offset,
            )
        self._apply(state, model)

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        self._apply(state, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._apply(state, model)


class ProgressEventsCallback(TrainerCallback):
    """Report training progress as ``(kind, name, value)`` events to ``events.put`` instead of the
    Trainer's own progress bar and log printer.

    ``events`` is anything with ``put``: a ``multiprocessing`` queue when the training runs in a
    worker process and the parent draws the bars (the demo does this), or an object that draws them
    itself. Events: ``("total", name, max_steps)``, ``("step", name, global_step)`` every 5 steps,
    ``("loss", name, loss)`` at each log, ``("trained", name, global_step)`` at the end.
    The training functions of signbridge (``train_cvslt``, ``train_nar_slp``,
    ``train_pose_autoencoder``) remove the Trainer's own bar and printer when given one of these
    (see :func:`use_callbacks`), so a worker prints nothing of its own.
    """

    replaces_trainer_progress = True

    def __init__(self, events, name: str, every: int = 5):
        self.events = events
        self.name = name
        self.every = max(1, int(every))

    def on_train_begin(self, args, state, control, **kwargs):
        self.events.put(("total", self.name, int(state.max_steps)))

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self.events.put(("step", self.name, int(state.global_step)))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.events.put(("loss", self.name, float(logs["loss"])))

    def on_train_end(self, args, state, control, **kwargs):
        self.events.put(("trained", self.name, int(state.global_step)))


def use_callbacks(trainer: Trainer, callbacks: list[TrainerCallback] | None) -> None:
    """Add ``callbacks`` to ``trainer``; when one of them reports progress itself
    (``replaces_trainer_progress``), drop the Trainer's progress bar and log printer."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    callbacks = list(callbacks or [])
    for callback in callbacks:
        trainer.add_callback(callback)
    if any(getattr(callback, "replaces_trainer_progress", False) for callback in callbacks):
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)


__all__ = [
    "KLAnnealingCallback",
    "ProcessSeedCallback",
    "ProgressEventsCallback",
    "set_model_global_step",
    "unwrap_model",
    "use_callbacks",
]
