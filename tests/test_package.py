"""The package surface: version, a light lazy face, Auto-class registration on first use, the `signbridge` command."""

import configparser
import json
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

import signbridge

REPO = Path(__file__).resolve().parents[1]


def test_version_is_single_sourced():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg["metadata"]["version"] == "attr: signbridge.__version__"
    assert signbridge.__version__.count(".") == 2


@pytest.mark.parametrize(
    "model_type, model_name, auto_classes",
    [
        ("cvslt", "CVSLTForConditionalGeneration", (AutoModelForSeq2SeqLM, AutoModel)),
        ("pose_vae", "PoseVAEModel", (AutoModel,)),
        ("nar_slp", "NARSignProducer", (AutoModel,)),
        ("pose_autoencoder", "PoseAutoencoderModel", (AutoModel,)),
    ],
)
def test_first_use_registers_auto_classes(model_type, model_name, auto_classes):
    model_class = getattr(signbridge, model_name)  # first use through signbridge
    config = AutoConfig.for_model(model_type)
    assert type(config) is model_class.config_class
    for auto_class in auto_classes:
        assert auto_class._model_mapping[type(config)] is model_class


_FRESH_IMPORT = """
import sys
import signbridge
heavy = sorted(m for m in ("torch", "transformers", "datasets", "numpy") if m in sys.modules)
assert not heavy, f"import signbridge imported {heavy}"
assert signbridge.__version__
from signbridge import AutoModel  # transformers' class, with every signbridge model registered
from transformers import AutoConfig
config = AutoConfig.for_model("nar_slp")
assert AutoModel._model_mapping[type(config)].__name__ == "NARSignProducer"
print("ok")
"""


def test_import_is_light_and_auto_classes_from_signbridge_register_the_models():
    result = subprocess.run([sys.executable, "-c", _FRESH_IMPORT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_cli_help_imports_no_heavy_module():
    script = ("import sys, runpy\nsys.argv = ['signbridge', '--help']\ntry:\n    runpy.run_module('signbridge', "
              "run_name='__main__')\nexcept SystemExit:\n    pass\nheavy = [m for m in ('torch', 'transformers') "
              "if m in sys.modules]\nassert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "demo" in result.stdout


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        signbridge.NoSuchThing  # noqa: B018


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
        "corpus", str(out), "--format", fmt, "--train-size", "6", "--dev-size", "2", "--test-size", "2",
        "--feature-dim", "16",
    )
    assert result.returncode == 0, result.stderr
    assert list(out.rglob(expected)), sorted(p.name for p in out.rglob("*"))
    stats = json.loads(result.stdout[result.stdout.index("{"):])
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
