"""The `signbridge` command (signbridge/cli.py)."""

import json
import subprocess
import sys

import pytest


def test_cli_help_imports_no_heavy_module():
    script = (
        "import sys, runpy\nsys.argv = ['signbridge', '--help']\ntry:\n    runpy.run_module('signbridge', "
        "run_name='__main__')\nexcept SystemExit:\n    pass\nheavy = [m for m in ('torch', 'transformers') "
        "if m in sys.modules]\nassert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "demo" in result.stdout


def _run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "signbridge", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_cli_help_lists_subcommands():
    result = _run_cli("--help")
    assert result.returncode == 0, result.stderr
    for sub in ("corpus", "produce", "demo"):
        assert sub in result.stdout


@pytest.mark.parametrize("fmt, expected", [("slrt", "*.train"), ("skels", "train.skels"), ("pose", "*.pose")])
def test_cli_corpus_writes_a_real_format_and_prints_statistics(tmp_path, fmt, expected):
    out = tmp_path / fmt
    result = _run_cli(
        "corpus",
        str(out),
        "--format",
        fmt,
        "--train-size",
        "6",
        "--dev-size",
        "2",
        "--test-size",
        "2",
        "--feature-dim",
        "16",
    )
    assert result.returncode == 0, result.stderr
    assert list(out.rglob(expected)), sorted(p.name for p in out.rglob("*"))
    stats = json.loads(result.stdout[result.stdout.index("{") :])
    assert [stats["splits"][s]["sequences"] for s in ("train", "dev", "test")] == [6, 2, 2]
    assert stats["frames"]["total"] > 0 and stats["word_types"] > 0


def test_cli_produce_refuses_empty_text(tmp_path):
    result = _run_cli("produce", "   ", "--model", str(tmp_path), "--out", str(tmp_path / "x.pose"))
    assert result.returncode != 0
    assert "empty" in result.stderr


def test_cli_demo_refuses_zero_workers_before_any_work(tmp_path):
    result = _run_cli("demo", "--workers", "0", "--output-dir", str(tmp_path / "demo"))
    assert result.returncode != 0
    assert "--workers must be at least 1, got 0" in result.stderr
    assert not (tmp_path / "demo").exists()  # nothing was generated or trained
