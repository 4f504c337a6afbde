"""The `signbridge` command (signbridge/cli.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# the subprocesses run this checkout's signbridge, not whichever one the interpreter would import
SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}


def test_cli_help_imports_no_heavy_module():
    script = (
        "import sys, runpy\nsys.argv = ['signbridge', '--help']\ntry:\n    runpy.run_module('signbridge', "
        "run_name='__main__')\nexcept SystemExit:\n    pass\nheavy = [m for m in ('torch', 'transformers') "
        "if m in sys.modules]\nassert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=ENV
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "demo" in result.stdout


def _run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "signbridge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        env=ENV,
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


# user errors: one line on stderr ("signbridge: error: ..."), exit status 2, no traceback


def _assert_user_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("signbridge: error: "), lines
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines


@pytest.fixture(scope="module")
def producer_dir(tmp_path_factory):
    """A tiny saved NARSignProducer (50 joints, random weights) with its tokenizer."""
    import numpy as np
    import torch
    from transformers import BertConfig

    from signbridge.models.nar_slp import NARSignProducer, NARSignProducerConfig, PoseVAEConfig
    from signbridge.tokenization import train_bert_tokenizer

    tokenizer = train_bert_tokenizer(["am tag regen im norden", "morgen sonne im sueden"], vocab_size=60)
    low = np.random.default_rng(0).uniform(-1.0, 0.0, size=(50, 3))
    config = NARSignProducerConfig(
        text_encoder=BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=24,
            max_position_embeddings=32,
        ),
        pose_vae=PoseVAEConfig(
            num_joints=50,
            joint_dim=3,
            hidden_sizes=[16, 12],
            latent_dim=4,
            normalization={"minimum": low.tolist(), "maximum": (low + 1.0).tolist()},
        ),
        d_model=16,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=24,
        max_frames=12,
        length_regulator_hidden_size=8,
        special_token_ids=[tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id],
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("producer")
    NARSignProducer(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_cli_without_a_command_prints_usage_and_exits_2():
    result = _run_cli()
    assert result.returncode == 2
    assert result.stderr.startswith("usage: signbridge")
    assert "signbridge: error: no command given" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_produce_writes_pose_and_gif(tmp_path, producer_dir):
    pytest.importorskip("pose_format")
    pytest.importorskip("PIL")
    out = tmp_path / "new" / "x.pose"
    result = _run_cli(
        "produce",
        "am tag regen",
        "--model",
        str(producer_dir),
        "--out",
        str(out),
        "--gif",
        str(tmp_path / "x.gif"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "written to" in result.stdout and out.stat().st_size > 0 and (tmp_path / "x.gif").exists()
    assert "Loading weights" not in result.stderr


@pytest.mark.parametrize("model", ["no/such/model", "{tmp}/missing", "{tmp}/missing/deeper"])
def test_cli_produce_missing_model_folder(tmp_path, model):
    result = _run_cli(
        "produce", "am tag", "--model", model.format(tmp=tmp_path), "--out", str(tmp_path / "x.pose")
    )
    _assert_user_error(result, "--model", "no such folder")
    assert "Repo id" not in result.stderr


def test_cli_produce_model_that_is_a_file_or_not_a_model(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"x")
    _assert_user_error(
        _run_cli(
            "produce", "am tag", "--model", str(tmp_path / "model.bin"), "--out", str(tmp_path / "x.pose")
        ),
        "is a file",
    )
    (tmp_path / "empty").mkdir()
    _assert_user_error(
        _run_cli("produce", "am tag", "--model", str(tmp_path / "empty"), "--out", str(tmp_path / "x.pose")),
        "no config.json",
    )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    _assert_user_error(
        _run_cli("produce", "am tag", "--model", str(tmp_path / "broken"), "--out", str(tmp_path / "x.pose"))
    )


def test_cli_produce_refuses_a_cvslt_folder(tmp_path):
    from signbridge.models.cvslt import CVSLTConfig

    CVSLTConfig().save_pretrained(tmp_path / "cvslt")
    result = _run_cli(
        "produce", "am tag", "--model", str(tmp_path / "cvslt"), "--out", str(tmp_path / "x.pose")
    )
    _assert_user_error(result, "holds a 'cvslt' model, not a NARSignProducer")
    assert not (tmp_path / "x.pose").exists()


def test_cli_checks_the_model_type_the_producer_saves():
    from signbridge.models.nar_slp import NARSignProducerConfig

    assert NARSignProducerConfig.model_type == "nar_slp"  # the literal cli._cmd_produce checks


def test_cli_produce_output_folder_that_is_a_file(tmp_path, producer_dir):
    (tmp_path / "afile").write_text("x")
    result = _run_cli(
        "produce", "am tag", "--model", str(producer_dir), "--out", str(tmp_path / "afile" / "x.pose")
    )
    _assert_user_error(result, "--out", "is a file, not a folder")
    result = _run_cli("produce", "am tag", "--model", str(producer_dir), "--out", str(tmp_path))
    _assert_user_error(result, "--out", "is a folder")
    result = _run_cli(
        "produce",
        "am tag",
        "--model",
        str(producer_dir),
        "--out",
        str(tmp_path / "x.pose"),
        "--gif",
        str(tmp_path / "afile" / "x.gif"),
    )
    _assert_user_error(result, "--gif", "is a file, not a folder")
    assert not (tmp_path / "x.pose").exists()  # checked before any work


def test_cli_produce_unwritable_out(tmp_path, producer_dir):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    try:
        if os.access(locked, os.W_OK):  # root: permissions do not stop it; /proc takes no new files
            target = Path("/proc/signbridge-test.pose")
            if not Path("/proc").is_dir():
                pytest.skip("no unwritable folder available to this user")
        else:
            target = locked / "x.pose"
        result = _run_cli("produce", "am tag", "--model", str(producer_dir), "--out", str(target))
    finally:
        os.chmod(locked, 0o755)
    _assert_user_error(result, str(target))


def test_cli_corpus_out_dir_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    _assert_user_error(_run_cli("corpus", str(tmp_path / "afile")), "OUT_DIR", "is a file, not a folder")
    _assert_user_error(
        _run_cli("corpus", str(tmp_path / "afile" / "sub")), "OUT_DIR", "is a file, not a folder"
    )


def test_cli_demo_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    _assert_user_error(
        _run_cli("demo", "--quick", "--output-dir", str(tmp_path / "afile")), "--output-dir", "is a file"
    )


def test_cli_debug_shows_the_traceback_of_a_user_error(tmp_path):
    for args in (
        ("--debug", "corpus", str(tmp_path / "x" / "y")),
        ("corpus", str(tmp_path / "x" / "y"), "--debug"),
    ):
        (tmp_path / "x").write_text("a file")
        result = _run_cli(*args)
        assert result.returncode == 2
        assert "Traceback" in result.stderr and "NotADirectoryError" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("signbridge: error: ")


def test_cli_bug_keeps_its_traceback(monkeypatch, tmp_path):
    from signbridge import cli

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_cmd_corpus", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["corpus", str(tmp_path)])


def test_cli_user_error_in_process(tmp_path, capsys):
    from signbridge import cli
    from signbridge.utils.errors import USER_ERRORS, is_user_error

    (tmp_path / "afile").write_text("x")
    assert cli.main(["corpus", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert err == f"signbridge: error: OUT_DIR {tmp_path / 'afile'} is a file, not a folder\n"
    for exc in (ValueError("x"), FileNotFoundError("x"), PermissionError("x"), NotADirectoryError("x")):
        assert is_user_error(exc) and isinstance(exc, USER_ERRORS)
    assert not is_user_error(RuntimeError("x")) and not is_user_error(KeyError("x"))
