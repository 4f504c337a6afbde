"""Several processes: what the training entries do when launched by ``torchrun`` or ``accelerate launch``.

A launcher starts one copy of the script per process and tells each its place through environment
variables (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``). transformers and accelerate then set up data
parallel training (DDP) over NCCL on GPUs, or over gloo on CPUs, but only when asked for the CPU
(``use_cpu``): without it, on a machine without CUDA, every process would run the whole training
alone and write the same output folder. The helpers here close that gap and keep the output files
single:

- :func:`enable_cpu_distributed` turns CPU DDP on by itself (accelerate's ``ACCELERATE_USE_CPU``)
  when the launch asks for several processes and there is no GPU; the argument parser of every
  training script calls it before building the ``TrainingArguments``.
- :func:`check_distributed_arguments` refuses ``TrainingArguments`` that set up one process under a
  several-process launch (arguments built before that call), instead of training twice.
- :func:`is_main_process` / :func:`wait_for_everyone` / :func:`main_process_first`: only the main process writes files; the
  others wait for it at a barrier.
- :func:`require_single_process`: entries that do not train (``evaluate_production.py``) refuse a several-process
  launch instead of running whole in each process.
- :func:`start_distributed` / :func:`all_reduce_gradients`: the process group and the gradient
  sum of a plain PyTorch loop (the pose VAE's).

Nothing here imports torch at module level.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any

from transformers.utils import logging

__all__ = [
    "DistributedLaunchError",
    "all_reduce_gradients",
    "all_reduce_sum",
    "broadcast_parameters",
    "check_distributed_arguments",
    "enable_cpu_distributed",
    "has_gpu",
    "is_main_process",
    "launched_world_size",
    "main_process_first",
    "main_process_report",
    "process_index",
    "require_single_process",
    "start_distributed",
    "wait_for_everyone",
]

logger = logging.get_logger("signbridge")

_ANNOUNCED = False


class DistributedLaunchError(ValueError):
    """The launch and the arguments disagree about the number of processes."""


def launched_world_size() -> int:
    """How many processes the launcher started (``WORLD_SIZE``; 1 without a launcher)."""
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        size = int(value)
    except ValueError:
        raise DistributedLaunchError(f"WORLD_SIZE must be a whole number, got {value[:40]!r}") from None
    if size < 1:
        raise DistributedLaunchError(f"WORLD_SIZE must be >= 1, got {size}")
    return size


def has_gpu() -> bool:
    """Whether this machine has a device transformers/accelerate run DDP on (CUDA, XPU, NPU, ...).

    Apple's MPS does not count: it has no distributed backend, so DDP there runs on the CPU.
    """
    import torch

    if torch.cuda.is_available():
        return True
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and accelerator.is_available():
        device = accelerator.current_accelerator()
        return device is not None and device.type not in ("cpu", "mps")
    return False


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def enable_cpu_distributed() -> bool:
    """Under a several-process launch on a machine without a GPU, make DDP run over gloo on the CPU.

    Sets accelerate's ``ACCELERATE_USE_CPU=true`` (what ``accelerate launch --cpu`` sets), which
    ``TrainingArguments`` built afterwards read as ``use_cpu``; the main process logs once that it did.
    Call it before building the ``TrainingArguments``. Returns whether this process trains on CPUs
    with several processes (also when ``ACCELERATE_USE_CPU`` was already set); False for one process
    or when a GPU is there.
    """
    global _ANNOUNCED
    if launched_world_size() < 2:
        return False
    if _env_flag("ACCELERATE_USE_CPU"):
        return True
    if has_gpu():
        return False
    os.environ["ACCELERATE_USE_CPU"] = "true"
    if not _ANNOUNCED and os.environ.get("RANK", "0") == "0":
        logger.warning(
            "%d processes launched on a machine without a GPU: training with CPU DDP over gloo "
            "(use_cpu set automatically)",
            launched_world_size(),
        )
    _ANNOUNCED = True
    return True


def check_distributed_arguments(training_args: Any) -> None:
    """Refuse ``TrainingArguments`` that set up fewer processes than the launcher started.

    That happens when they were built before :func:`enable_cpu_distributed` on a machine without a
    GPU and without ``use_cpu``: each process would train alone and write the same files.

    Raises:
        DistributedLaunchError: naming both numbers and the fix.
    """
    launched = launched_world_size()
    if launched > 1 and int(training_args.world_size) != launched:
        raise DistributedLaunchError(
            f"{launched} processes were launched but the TrainingArguments set up "
            f"{training_args.world_size}: on a machine without a GPU pass use_cpu=True (--use_cpu true), or "
            "call signbridge.utils.distributed.enable_cpu_distributed() before building the TrainingArguments"
        )


def main_process_report(report):
    """``report`` on the main process, a no-op on the others (one progress line per run, not per process)."""
    if is_main_process():
        return report
    return lambda message: None


def require_single_process(entry: str) -> None:
    """Refuse a several-process launch of an entry that runs in one process (it would run whole in each).

    Raises:
        DistributedLaunchError: naming the entry and how to start it.
    """
    launched = launched_world_size()
    if launched > 1:
        raise DistributedLaunchError(
            f"{entry} runs in one process, but {launched} were launched: start it with python, not torchrun or "
            "accelerate launch"
        )


def _group_active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def process_index() -> int:
    """This process' rank: the process group's when one is set up, else the launcher's ``RANK`` (0 alone)."""
    if _group_active():
        import torch.distributed as dist

        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)


def is_main_process() -> bool:
    """Whether this process writes the output files (rank 0, or the only process)."""
    return process_index() == 0


def wait_for_everyone() -> None:
    """A barrier across the processes (nothing with one process)."""
    if _group_active():
        import torch.distributed as dist

        dist.barrier()


@contextmanager
def main_process_first():
    """Run the block on the main process first, then on the others (e.g. building a dataset cache once)."""
    if not is_main_process():
        wait_for_everyone()
    try:
        yield
    finally:
        if is_main_process():
            wait_for_everyone()


def start_distributed() -> tuple[int, int, Any]:
    """``(rank, world_size, device)`` for a plain PyTorch loop, setting up the process group when launched.

    With one process: ``(0, 1, cpu)``. Under a launcher: accelerate's ``PartialState`` sets up the
    group (gloo on a machine without a GPU, NCCL on GPUs) and the device is this process' own.
    """
    import torch

    if launched_world_size() < 2:
        return 0, 1, torch.device("cpu")
    from accelerate import PartialState

    state = PartialState(cpu=enable_cpu_distributed())
    return state.process_index, state.num_processes, state.device


def all_reduce_gradients(parameters) -> None:
    """Sum every parameter's gradient over the processes (a missing gradient counts as zeros)."""
    import torch

    if not _group_active():
        return
    import torch.distributed as dist

    for param in parameters:
        if not param.requires_grad:
            continue
        if param.grad is None:
            param.grad = torch.zeros_like(param)
        dist.all_reduce(param.grad, op=dist.ReduceOp.SUM)


def broadcast_parameters(parameters, source: int = 0) -> None:
    """Copy the ``source`` process' parameter values to every process (the same start everywhere)."""
    if not _group_active():
        return
    import torch.distributed as dist

    for param in parameters:
        dist.broadcast(param.data, src=source)


def all_reduce_sum(value):
    """``value`` (a tensor) summed over the processes; itself with one process."""
    if not _group_active():
        return value
    import torch.distributed as dist
    from accelerate import PartialState

    total = value.to(PartialState().device)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.cpu()
