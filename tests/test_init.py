"""The package face (signbridge/__init__.py): version, a light lazy import, Auto-class registration on first use."""

import configparser
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
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_IMPORT], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        signbridge.NoSuchThing  # noqa: B018
