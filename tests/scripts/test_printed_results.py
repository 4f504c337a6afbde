"""The training scripts print their final results once under ``torchrun``: on the main process only.

Each script is run in this process (``runpy``, as ``__main__``) with its library ``main`` replaced by a stub that
returns fixed results, under a mocked launcher rank (``WORLD_SIZE``/``RANK``; no process group, no real launch).
"""

import json
import runpy
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"

CVSLT_RESULTS = {
    "train": {"train_loss": 1.0},
    "dev": {"bleu1": 10.123, "bleu4": 1.234, "rouge_l": 5.0, "num_examples": 3},
    "wall_seconds": 2.5,
}
# script -> (module whose main it calls, what main returns, what the script prints)
CASES = {
    "train_cvslt": (
        "signbridge.training.cvslt",
        CVSLT_RESULTS,
        {"scores": {"dev": {"bleu1": 10.12, "bleu4": 1.23, "rouge_l": 5.0}}, "wall_seconds": 2.5},
    ),
    "train_nar_slp": ("signbridge.training.nar_slp", {"dev": {"dur_acc": 0.5}}, {"dev": {"dur_acc": 0.5}}),
    "train_pose_vae": ("signbridge.training.pose_vae", {"dev": {"mse": 0.1}}, {"dev": {"mse": 0.1}}),
    "train_pose_autoencoder": ("signbridge.training.pose_autoencoder", {"fgd": 3.0}, {"fgd": 3.0}),
    "prune_mbart_vocab": ("signbridge.training.cvslt_vocabulary", {"kept": 7}, {"kept": 7}),
}


@pytest.fixture
def run_script(monkeypatch):
    from transformers.utils import logging

    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()

    def run(script, rank):
        module_name, results, _ = CASES[script]
        module = __import__(module_name, fromlist=["main"])
        calls = []
        monkeypatch.setattr(module, "main", lambda argv: calls.append(argv) or results)
        monkeypatch.setattr(sys, "argv", [str(SCRIPTS / f"{script}.py"), "--output_dir", "x"])
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("LOCAL_RANK", str(rank))
        runpy.run_path(str(SCRIPTS / f"{script}.py"), run_name="__main__")
        assert calls == [["--output_dir", "x"]]  # the stub ran: the script called its library main

    yield run
    logging.set_verbosity(verbosity)
    (logging.enable_progress_bar if bars else logging.disable_progress_bar)()


@pytest.mark.parametrize("script", sorted(CASES))
def test_the_main_process_prints_the_results(run_script, capsys, script):
    run_script(script, rank=0)
    assert json.loads(capsys.readouterr().out) == CASES[script][2]


@pytest.mark.parametrize("script", sorted(CASES))
def test_the_other_processes_print_nothing(run_script, capsys, script):
    run_script(script, rank=1)
    assert capsys.readouterr().out == ""


def test_every_script_that_prints_results_is_covered():
    printing = {p.stem for p in SCRIPTS.glob("*.py") if "print_results(" in p.read_text(encoding="utf-8")}
    assert printing == set(CASES)
    assert not [p.name for p in SCRIPTS.glob("*.py") if "print(json.dumps" in p.read_text(encoding="utf-8")]
