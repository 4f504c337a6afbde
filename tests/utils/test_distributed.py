"""signbridge.utils.distributed: the launch checks of the training entries (the launches themselves:
tests/training/test_several_processes.py)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from signbridge.utils import distributed


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "ACCELERATE_USE_CPU"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_launched_world_size(clean_env):
    assert distributed.launched_world_size() == 1
    clean_env.setenv("WORLD_SIZE", "4")
    assert distributed.launched_world_size() == 4
    for bad in ("two", "0", "-1"):
        clean_env.setenv("WORLD_SIZE", bad)
        with pytest.raises(distributed.DistributedLaunchError, match="WORLD_SIZE"):
            distributed.launched_world_size()


def test_enable_cpu_distributed_only_for_several_processes_without_a_gpu(clean_env):
    clean_env.setattr(distributed, "has_gpu", lambda: False)
    assert distributed.enable_cpu_distributed() is False  # one process: nothing to do
    assert "ACCELERATE_USE_CPU" not in os.environ

    clean_env.setenv("WORLD_SIZE", "2")
    clean_env.setattr(distributed, "has_gpu", lambda: True)
    assert distributed.enable_cpu_distributed() is False  # GPUs: NCCL, as transformers sets it up
    assert "ACCELERATE_USE_CPU" not in os.environ

    clean_env.setattr(distributed, "has_gpu", lambda: False)
    clean_env.setattr(distributed, "_ANNOUNCED", False)
    assert distributed.enable_cpu_distributed() is True
    assert os.environ["ACCELERATE_USE_CPU"] == "true"
    assert distributed.enable_cpu_distributed() is True  # already on


def test_training_arguments_see_the_cpu_flag(clean_env):
    """What enable_cpu_distributed sets is what TrainingArguments read (one process here, so no group starts)."""
    from transformers import TrainingArguments

    clean_env.setenv("ACCELERATE_USE_CPU", "true")
    args = TrainingArguments(output_dir="unused", report_to="none")
    assert args.device.type == "cpu" and args.n_gpu == 0


def test_check_distributed_arguments_refuses_a_one_process_setup_under_a_launch(clean_env):
    distributed.check_distributed_arguments(SimpleNamespace(world_size=1))  # no launcher: fine
    clean_env.setenv("WORLD_SIZE", "2")
    distributed.check_distributed_arguments(SimpleNamespace(world_size=2))
    with pytest.raises(
        distributed.DistributedLaunchError, match="2 processes were launched.*set up 1.*use_cpu"
    ):
        distributed.check_distributed_arguments(SimpleNamespace(world_size=1))


def test_the_parser_turns_cpu_ddp_on_for_training_arguments_only(clean_env):
    from transformers import TrainingArguments

    from signbridge.utils.arguments import parse_config_and_flags

    calls = []
    clean_env.setattr(distributed, "enable_cpu_distributed", lambda: calls.append(1) or False)
    parse_config_and_flags((TrainingArguments,), ["--output_dir", "unused", "--report_to", "none"])
    assert calls == [1]
    from signbridge.data.loading import PoseDataArguments

    parse_config_and_flags((PoseDataArguments,), ["--train_size", "3"])
    assert calls == [1]


def test_main_process_and_single_process_entries(clean_env):
    assert distributed.is_main_process() and distributed.process_index() == 0
    distributed.wait_for_everyone()  # no group: returns at once
    distributed.require_single_process("evaluate_production.py")
    clean_env.setenv("RANK", "1")
    clean_env.setenv("WORLD_SIZE", "2")
    assert not distributed.is_main_process()
    with pytest.raises(
        distributed.DistributedLaunchError, match="evaluate_production.py runs in one process"
    ):
        distributed.require_single_process("evaluate_production.py")


def test_evaluate_production_refuses_a_launch_of_several_processes(clean_env):
    from signbridge.evaluation import production

    clean_env.setenv("WORLD_SIZE", "2")
    with pytest.raises(distributed.DistributedLaunchError, match="start it with python"):
        production.main(["--tae", "unused"])


def test_start_distributed_alone_is_one_cpu_process(clean_env):
    import torch

    assert distributed.start_distributed() == (0, 1, torch.device("cpu"))


def test_main_process_report_is_silent_elsewhere(clean_env):
    lines = []
    distributed.main_process_report(lines.append)("from the main process")
    clean_env.setenv("RANK", "1")
    distributed.main_process_report(lines.append)("from process 1")
    assert lines == ["from the main process"]
