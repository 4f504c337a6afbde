"""The training scripts on several processes (issue 12, item 10): ``torchrun --nproc_per_node 2`` against one process.

Each test launches a script on 2 CPU processes (``python -m torch.distributed.run --standalone``, or
``accelerate launch --config_file scripts/configs/accelerate_cpu.yaml`` for the pose VAE; no GPU visible, no
``--use_cpu``: CPU DDP over gloo must turn itself on) and runs the same configuration in one process with the
same global batch (per-process batch halved x 2 processes), then compares what was written.

What must match, and why it can:

- **Data order.** The Trainer's seeded sampler gives both runs one permutation; the 2-process run's step k takes
  batches 2k and 2k+1 of half the size, i.e. the one-process run's batch k. The pose VAE's own loop splits each
  global batch between the processes. So every optimizer step sees the same examples.
- **Gradients.** DDP averages the processes' gradients: the gradient of the global batch's mean loss when each
  share's loss is a mean over the same number of values (TAE windows are all 34 frames; the VAE weights each
  share by its size). The TAE and the VAE (its sampling noise switched off) must then agree to float rounding.
  CV-SLT's visual head has a (masked) batch norm: its statistics are synchronised across the processes, as
  SLRT's SyncBatchNorm. Its latent network samples noise on each process from a stream of its own (seed + process
  index, set when training starts; process 0's is the one-process stream, for the first share only), so CV-SLT
  agrees closely, not to rounding; its test trains with SGD, because Adam turns rounding-level differences of
  near-zero gradients into steps of +-lr.
- **Scores.** Evaluation of one model must give the same predictions, in corpus order, one per example,
  whatever the number of processes: the dev and test splits have 5 and 3 examples, so the distributed
  sampler pads them (before the fix: more predictions than examples and a crash in scoring). This is
  checked exactly by scoring the 2-process model again in one process (``--max_steps 0``: no training).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
CONFIGS = SCRIPTS / "configs"

torch.set_num_threads(1)

AUTO_CPU_MESSAGE = "training with CPU DDP over gloo"


def torchrun(
    tmp_path: Path, script: Path, args: list[str], nproc: int = 2, launcher: list[str] | None = None
) -> str:
    """Run ``script`` on ``nproc`` processes (``launcher``: another launch command); returns stdout + stderr
    (the test fails with its tail)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ACCELERATE_USE_CPU", "WORLD_SIZE", "RANK")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]),
        OMP_NUM_THREADS="1",
        CUDA_VISIBLE_DEVICES="",  # a CPU test, also on a machine with one GPU
        HF_DATASETS_CACHE=str(tmp_path / "hf_cache"),
    )
    command = launcher or [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
    ]
    run = subprocess.run(
        [*command, str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    return output


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def assert_close_weights(folder_a: Path, folder_b: Path, atol: float) -> float:
    a, b = load_file(folder_a / "model.safetensors"), load_file(folder_b / "model.safetensors")
    assert sorted(a) == sorted(b)
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    assert worst <= atol, f"weights differ by up to {worst}"
    return worst


# ---- CV-SLT ----

CVSLT_TINY = {
    "d_model": 16,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 32,
    "decoder_ffn_dim": 32,
    "max_position_embeddings": 300,
    "max_sign_positions": 280,
    "visual_hidden_size": 16,
    "visual_ffn_dim": 32,
    "latent_dim": 4,
    "kl_annealing_steps": 2,
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "visual_dropout": 0.0,
}
SPLIT_SIZES = {"train": 16, "dev": 5, "test": 3}


def cvslt_config(tmp_path: Path) -> Path:
    config = {
        "dataset_name": "synthetic",
        "dataset_options": {
            "train_size": SPLIT_SIZES["train"],
            "dev_size": SPLIT_SIZES["dev"],
            "test_size": SPLIT_SIZES["test"],
            "cache_dir": str(tmp_path / "corpus"),
        },
        "model_config": CVSLT_TINY,
        "num_beams": 2,
        "max_new_tokens": 6,
        "max_target_length": 40,
        "max_steps": 4,
        "per_device_eval_batch_size": 2,
        "optim": "sgd",  # Adam turns rounding-level differences of near-zero gradients into steps of +-lr
        "learning_rate": 0.05,
        "warmup_steps": 0,
        "eval_strategy": "no",
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "logging_steps": 1,
        "torch_num_threads": 1,
        "seed": 0,
    }
    path = tmp_path / "cvslt.json"
    path.write_text(json.dumps(config))
    return path


def test_cvslt_two_processes_match_one_process(tmp_path):
    from signbridge.data.builders import load_sign_dataset
    from signbridge.training import cvslt

    config = cvslt_config(tmp_path)
    one, two, rescored = tmp_path / "one", tmp_path / "two", tmp_path / "rescored"
    output = torchrun(
        tmp_path,
        SCRIPTS / "train_cvslt.py",
        [str(config), "--per_device_train_batch_size", "4", "--output_dir", str(two)],
    )
    assert output.count(AUTO_CPU_MESSAGE) == 1  # turned on by itself, said once
    assert output.count('"wall_seconds"') == 1  # the results printed once, by the main process
    cvslt.main([str(config), "--per_device_train_batch_size", "8", "--output_dir", str(one)])

    scores = {run: json.loads((run / "scores.json").read_text()) for run in (one, two)}
    assert scores[one]["world_size"] == 1 and scores[two]["world_size"] == 2
    assert files_under(one) == files_under(two)  # one set of files, the same set
    corpus = load_sign_dataset(
        "synthetic",
        cache_dir=tmp_path / "corpus",
        **{f"{split}_size": size for split, size in SPLIT_SIZES.items()},
    )
    for split in ("dev", "test"):
        lines = (two / f"predictions_{split}.tsv").read_text(encoding="utf-8").splitlines()
        assert len(lines) - 1 == SPLIT_SIZES[split] == scores[two][split]["num_examples"]
        assert [line.split("\t")[1] for line in lines[1:]] == list(corpus[split]["text"])
    # the same global batches: training agrees up to the latent network's sampling noise (measured: loss 3e-7
    # relative, weights 1.3e-5; with each process' own batch-norm statistics the running mean differed by 9e-3)
    assert scores[two]["train"]["train_loss"] == pytest.approx(scores[one]["train"]["train_loss"], rel=1e-5)
    assert_close_weights(one / "model", two / "model", atol=2e-4)

    # one model scored by 2 and by 1 process: the same predictions and scores, exactly
    cvslt.main(
        [
            str(config),
            "--model_name_or_path",
            str(two / "model"),
            "--max_steps",
            "0",
            "--output_dir",
            str(rescored),
        ]
    )
    assert assert_close_weights(two / "model", rescored / "model", atol=0.0) == 0.0
    again = json.loads((rescored / "scores.json").read_text())
    for split in ("dev", "test"):
        for name in (f"predictions_{split}.tsv",):
            assert (rescored / name).read_text(encoding="utf-8") == (two / name).read_text(encoding="utf-8")
        for key in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "gen_len"):
            assert again[split][key] == scores[two][split][key]


# ---- TAE (pose autoencoder) ----


def test_pose_autoencoder_two_processes_match_one_process(tmp_path):
    from signbridge.training import pose_autoencoder

    config = json.loads((CONFIGS / "pose_autoencoder_synthetic.json").read_text())
    config.update(
        train_size=16,  # 82 windows: 4 steps of 8 windows are full batches
        dev_size=5,
        window_stride=17,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        ffn_dim=64,
        latent_dim=8,
        dropout=0.0,
        max_steps=4,
        learning_rate=3e-3,
        warmup_steps=0,
        logging_steps=1,
        per_device_eval_batch_size=3,
        disable_tqdm=True,
    )
    config.pop("use_cpu")
    path = tmp_path / "tae.json"
    path.write_text(json.dumps(config))
    one, two = tmp_path / "one", tmp_path / "two"
    output = torchrun(
        tmp_path,
        SCRIPTS / "train_pose_autoencoder.py",
        [str(path), "--per_device_train_batch_size", "4", "--output_dir", str(two)],
    )
    assert output.count(AUTO_CPU_MESSAGE) == 1
    pose_autoencoder.main([str(path), "--per_device_train_batch_size", "8", "--output_dir", str(one)])
    results = {run: json.loads((run / "results.json").read_text()) for run in (one, two)}
    assert files_under(one) == files_under(two)
    assert results[one]["world_size"] == 1 and results[two]["world_size"] == 2
    assert results[two]["train_windows"] == 82 and results[two]["dev_windows"] == results[one]["dev_windows"]
    assert results[two]["dev_loss_before"] == pytest.approx(results[one]["dev_loss_before"], rel=1e-6)
    for key in ("train_loss", "dev_loss_after"):
        assert results[two][key] == pytest.approx(results[one][key], rel=1e-5)
    assert results[two]["dev_loss_after"] < results[two]["dev_loss_before"]
    for key in ("fgd_x10_train_vs_dev", "fgd_x10_mean_pose_vs_dev"):
        assert results[two][key] == pytest.approx(results[one][key], rel=1e-3)
    assert_close_weights(one, two, atol=1e-5)


# ---- pose VAE ----

VAE_DRIVER = """
import sys

import torch

# the reparameterisation noise off: a deterministic run whose 2-process twin must agree to rounding
torch.randn_like = torch.zeros_like
from signbridge.training.pose_vae import main

main(sys.argv[1:])
"""


def test_pose_vae_two_processes_match_one_process(tmp_path, monkeypatch):
    from signbridge.training import pose_vae

    args = [
        str(CONFIGS / "pose_vae_synthetic.json"),
        "--train_size",
        "12",
        "--dev_size",
        "4",
        "--num_epochs",
        "2",
        "--batch_size",
        "101",  # the global batch, shared by the processes: shares of 51 and 50, a short last batch
    ]
    driver = tmp_path / "train_pose_vae_without_noise.py"
    driver.write_text(VAE_DRIVER)
    one, two = tmp_path / "one", tmp_path / "two"
    # launched by accelerate with scripts/configs/accelerate_cpu.yaml (2 processes)
    accelerate = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(CONFIGS / "accelerate_cpu.yaml"),
    ]
    output = torchrun(tmp_path, driver, [*args, "--output_dir", str(two)], launcher=accelerate)
    assert "2 processes)" in output  # the loop's epoch report on 2 processes
    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)
    pose_vae.main([*args, "--output_dir", str(one)])
    results = {run: json.loads((run / "results.json").read_text()) for run in (one, two)}
    assert files_under(one) == files_under(two)
    assert results[one]["world_size"] == 1 and results[two]["world_size"] == 2
    for key in ("train_loss", "dev_reconstruction_mae", "dev_mean_pose_mae"):
        assert results[two][key] == pytest.approx(results[one][key], rel=1e-5)
    assert results[two]["dev_reconstruction_mae"] < results[two]["dev_mean_pose_mae"]
    assert_close_weights(one, two, atol=1e-5)


@pytest.mark.parametrize("name", ["accelerate_cpu.yaml", "accelerate_ddp.yaml", "accelerate_fsdp.yaml"])
def test_accelerate_config_files_load(name):
    """accelerate reads the launch files (the CPU one also launches the pose VAE test above)."""
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(CONFIGS / name))
    assert config.num_processes == 2 and config.num_machines == 1
    expected = {"accelerate_fsdp.yaml": "FSDP"}.get(name, "MULTI_GPU")
    assert str(config.distributed_type).endswith(expected)
    if name == "accelerate_fsdp.yaml":
        assert config.fsdp_config["fsdp_version"] == 2
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"


# ---- NAR-SLP ----


def test_nar_slp_two_processes_write_one_set_of_files(tmp_path):
    """NAR-SLP's loss is a mean over the valid frames of a batch: with 2 processes the mean of the two shares'
    means, which weighs frames slightly differently when the shares' lengths differ. So the losses agree within
    a few percent, not to rounding; what must hold exactly: one set of files, written by the main process."""
    from signbridge.models.nar_slp import NARSignProducer
    from signbridge.training import nar_slp, pose_vae

    vae_dir, one, two = tmp_path / "vae", tmp_path / "one", tmp_path / "two"
    sizes = ["--train_size", "16", "--dev_size", "4"]
    pose_vae.main(
        [str(CONFIGS / "pose_vae_synthetic.json"), *sizes, "--num_epochs", "1", "--output_dir", str(vae_dir)]
    )
    producer = {"d_model": 32, "decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 64}
    producer.update(dropout=0.0, attention_dropout=0.0, max_frames=256)
    args = [
        str(CONFIGS / "nar_slp_synthetic.json"),
        *sizes,
        "--max_steps",
        "2",
        "--warmup_steps",
        "0",
        "--logging_steps",
        "1",
        "--pose_vae_name_or_path",
        str(vae_dir),
        "--producer_config",
        json.dumps(producer),
        "--use_cpu",
        "false",
        "--disable_tqdm",
        "true",
    ]
    torchrun(
        tmp_path,
        SCRIPTS / "train_nar_slp.py",
        [*args, "--per_device_train_batch_size", "4", "--output_dir", str(two)],
    )
    nar_slp.main([*args, "--per_device_train_batch_size", "8", "--output_dir", str(one)])
    results = {run: json.loads((run / "results.json").read_text()) for run in (one, two)}
    assert files_under(one) == files_under(two)
    assert results[one]["world_size"] == 1 and results[two]["world_size"] == 2
    assert results[two]["train"]["train_loss"] == pytest.approx(results[one]["train"]["train_loss"], rel=5e-2)
    assert 0.0 <= results[two]["dev_dur_acc"] <= 1.0 and results[two]["dev_dtw"] > 0
    assert NARSignProducer.from_pretrained(two).config.d_model == 32
