"""signbridge.utils.runtime: the results file and the results printout of a run."""

import json

import pytest

from signbridge.utils.runtime import print_results, write_results


@pytest.fixture
def rank(monkeypatch):
    """Set this process' launcher rank (no process group: utils.distributed reads RANK)."""
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)

    def set_rank(value):
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", str(value))

    return set_rank


def test_print_results_prints_json_on_the_main_process(rank, capsys):
    rank(0)
    print_results({"dev": {"bleu4": 1.5}})
    assert json.loads(capsys.readouterr().out) == {"dev": {"bleu4": 1.5}}


def test_print_results_prints_nothing_on_the_other_processes(rank, capsys):
    rank(1)
    print_results({"dev": {"bleu4": 1.5}})
    assert capsys.readouterr().out == ""


def test_print_results_without_a_launcher(monkeypatch, capsys):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    print_results([1, 2])
    assert json.loads(capsys.readouterr().out) == [1, 2]


def test_write_results(tmp_path):
    path = write_results({"a": 1}, tmp_path / "new")
    assert path == tmp_path / "new" / "results.json" and json.loads(path.read_text()) == {"a": 1}
