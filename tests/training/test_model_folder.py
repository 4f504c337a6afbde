"""signbridge.training.model_folder: saved folders are Hub-ready and work, processor and pipeline included, in a fresh
process where signbridge cannot be imported (remote code), with outputs identical to signbridge's in-process ones."""

from __future__ import annotations

import importlib.util
import json
import textwrap

import numpy as np
import pytest
import torch
from nar_fixtures import TINY_BERT, TINY_PRODUCER, tiny_backtranslator
from signbridge_blocker import run_without_signbridge

import signbridge
from signbridge.training import nar_slp
from signbridge.training.model_folder import finish_model_folder, hub_generation_config, model_card_text

torch.set_num_threads(1)

PROMPT = "Do you wish to run the custom code"

REMOTE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    from transformers import (AutoFeatureExtractor, AutoModel, AutoModelForSeq2SeqLM, AutoProcessor, AutoTokenizer,
                              pipeline)

    kind, folder, inputs_path, result = sys.argv[1:5]
    inputs = torch.load(inputs_path, weights_only=False)
    out = {"tokenizer": type(AutoTokenizer.from_pretrained(folder, trust_remote_code=True)).__name__}
    if kind == "cvslt":
        processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
        batch = processor(sign=inputs["poses"], return_tensors="pt")
        out["features"] = batch["input_features"]
        out["extractor"] = AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=True)(
            inputs["poses"], return_tensors="pt")["input_features"]
        for auto in (AutoModelForSeq2SeqLM, AutoModel):
            model = auto.from_pretrained(folder, trust_remote_code=True).eval()
            out[auto.__name__] = model.generate(**batch, num_beams=2, max_new_tokens=5)
        out["decoded"] = processor.batch_decode(out["AutoModel"], skip_special_tokens=True)
        translator = pipeline("sign-language-translation", model=folder, trust_remote_code=True)
        out["pipeline"] = translator(inputs["poses"], num_beams=2, max_new_tokens=5)
        out["pipeline_one"] = translator(inputs["poses"][0], num_beams=2, max_new_tokens=5)
        out["pipeline_class"] = type(translator).__module__
    else:
        model = AutoModel.from_pretrained(folder, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        out["poses"] = model.generate_poses(**tokenizer(inputs["texts"], padding=True, return_tensors="pt")).poses
        producer = pipeline("sign-language-production", model=folder, trust_remote_code=True)
        out["pipeline"] = producer(inputs["texts"])
        out["pipeline_class"] = type(producer).__module__
    out["signbridge_modules"] = [m for m in sys.modules if m.startswith("signbridge")]
    torch.save(out, result)
    """
)


def _remote(kind, folder, inputs, tmp_path):
    torch.save(inputs, tmp_path / "inputs.pt")
    run = run_without_signbridge(
        REMOTE_SCRIPT, [kind, folder, tmp_path / "inputs.pt", tmp_path / "out.pt"], tmp_path
    )
    assert PROMPT not in run.stdout + run.stderr  # trust_remote_code=True is the only answer needed
    out = torch.load(tmp_path / "out.pt", weights_only=False)
    assert out["signbridge_modules"] == [] and not out["pipeline_class"].startswith("signbridge")
    return out


def test_cvslt_folder_loads_model_processor_and_pipeline_without_signbridge(corpus, tmp_path):
    from signbridge.models.cvslt import CVSLTForConditionalGeneration, CVSLTProcessor

    bt = tiny_backtranslator(corpus)
    folder = tmp_path / "cvslt"
    bt.model.save_pretrained(folder)
    hub_generation_config(bt.model.generation_config, 5).save_pretrained(folder)
    finish_model_folder(
        folder,
        processor=CVSLTProcessor(bt.feature_extractor, bt.tokenizer),
        training_config={"note": "test"},
        scores={"dev": {"bleu4": 12.5}},
        command="python scripts/train_cvslt.py cfg.json",
    )
    names = {p.name for p in folder.iterdir()}
    assert {"README.md", "processor_config.json", "preprocessor_config.json", "pipeline_cvslt.py"} <= names
    assert {"feature_extraction_cvslt.py", "processing_cvslt.py", "pose_normalization.py"} <= names
    config = json.loads((folder / "config.json").read_text())
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"}
    card = (folder / "README.md").read_text()
    assert "python scripts/train_cvslt.py cfg.json" in card and "| dev bleu4 | 12.5 |" in card

    poses = [np.asarray(e["poses"], dtype=np.float32) for e in corpus["dev"][:3]]
    # in process, with signbridge: its own classes
    processor = signbridge.AutoProcessor.from_pretrained(folder)
    batch = processor(sign=poses, return_tensors="pt")
    model = CVSLTForConditionalGeneration.from_pretrained(folder).eval()
    ids = model.generate(**batch, num_beams=2, max_new_tokens=5)
    translator = signbridge.pipeline("sign-language-translation", model=folder)
    expected = translator(poses, num_beams=2, max_new_tokens=5)
    texts = processor.batch_decode(ids, skip_special_tokens=True)
    assert [r["translation_text"] for r in expected] == [" ".join(t.split()) for t in texts]
    assert any(r["translation_text"] for r in expected)  # not an empty comparison

    remote = _remote("cvslt", folder, {"poses": poses}, tmp_path)
    torch.testing.assert_close(remote["features"], batch["input_features"], rtol=0, atol=0)
    torch.testing.assert_close(remote["extractor"], batch["input_features"], rtol=0, atol=0)
    assert torch.equal(remote["AutoModelForSeq2SeqLM"], ids) and torch.equal(remote["AutoModel"], ids)
    assert remote["decoded"] == texts
    assert remote["pipeline"] == expected and remote["pipeline_one"] == expected[0]


def test_nar_slp_folder_loads_model_and_pipeline_without_signbridge(corpus, vae, tokenizer, tmp_path):
    args = nar_slp.NARSignProducerArguments(
        text_encoder_config=dict(TINY_BERT), producer_config={**TINY_PRODUCER, "max_frames": 40}
    )
    torch.manual_seed(0)
    model = nar_slp.build_nar_producer(vae, tokenizer, args).eval()
    folder = nar_slp.save_producer(model, tokenizer, tmp_path / "nar", scores={"dev_dur_acc": 0.5})
    config = json.loads((folder / "config.json").read_text())
    assert set(config["custom_pipelines"]) == {"sign-language-production"}
    assert "pipeline_tag: text-to-3d" in (folder / "README.md").read_text()
    texts = [corpus["dev"][0]["text"], corpus["dev"][1]["text"]]

    producer = signbridge.pipeline("sign-language-production", model=folder)
    expected = producer(texts)
    for text, result in zip(texts, expected, strict=True):  # the pipeline produces one sentence at a time
        alone = model.generate_poses(**tokenizer([text], return_tensors="pt"))
        length = int(alone.lengths[0])
        assert result["num_frames"] == length and result["poses"].shape == (length, 50, 3)
        np.testing.assert_array_equal(result["poses"], alone.poses[0, :length].numpy())
    reference = model.generate_poses(**tokenizer(texts, padding=True, return_tensors="pt"))

    remote = _remote("nar_slp", folder, {"texts": texts}, tmp_path)
    torch.testing.assert_close(remote["poses"], reference.poses, rtol=0, atol=0)
    for got, want in zip(remote["pipeline"], expected, strict=True):
        assert got["num_frames"] == want["num_frames"] and got["fps"] == want["fps"]
        np.testing.assert_array_equal(got["poses"], want["poses"])


def test_production_pipeline_writes_pose_and_gif(corpus, vae, tokenizer, tmp_path):
    pytest.importorskip("pose_format")
    from signbridge.data.pose_files import read_pose_file

    args = nar_slp.NARSignProducerArguments(
        text_encoder_config=dict(TINY_BERT), producer_config={**TINY_PRODUCER, "max_frames": 40}
    )
    torch.manual_seed(0)
    model = nar_slp.build_nar_producer(vae, tokenizer, args).eval()
    folder = nar_slp.save_producer(model, tokenizer, tmp_path / "nar")
    producer = signbridge.pipeline("sign-language-production", model=folder)
    result = producer(
        corpus["dev"][0]["text"], pose_path=tmp_path / "out.pose", gif_path=tmp_path / "out.gif"
    )
    written = read_pose_file(result["pose_path"])
    np.testing.assert_allclose(written.data, result["poses"], atol=1e-6)
    if importlib.util.find_spec("PIL") is not None:
        from PIL import Image

        with Image.open(result["gif_path"]) as gif:
            assert gif.n_frames == result["num_frames"]
    with pytest.raises(ValueError, match="one sentence per call"):
        producer(["a", "b"], pose_path=tmp_path / "x.pose")
    with pytest.raises(ValueError, match="empty text"):
        producer("   ")
    with pytest.raises(TypeError, match="pose_path and gif_path"):
        producer("a", num_beams=2)


def test_model_cards_of_the_pose_models_and_errors(tmp_path):
    for model_type in ("pose_vae", "pose_autoencoder"):
        card = model_card_text(model_type, dataset="phoenix14t", scores={"train_loss": 0.25})
        assert "pipeline_tag: feature-extraction" in card and "- phoenix14t" in card and "- de" in card
        assert "| train_loss | 0.25 |" in card
    assert "- zh" in model_card_text("cvslt", dataset="csl-daily")
    with pytest.raises(ValueError, match="no model card for model_type 'bert'"):
        model_card_text("bert")
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ValueError, match="not a signbridge model folder"):
        finish_model_folder(tmp_path)


def test_the_card_shows_the_command_as_typed(monkeypatch):
    monkeypatch.setattr("sys.argv", ["/venv/lib/signbridge/__main__.py", "demo", "--quick"])
    assert "signbridge demo --quick\n" in model_card_text("pose_vae")
    monkeypatch.setattr("sys.argv", ["scripts/train_cvslt.py", "cfg.json", "--output_dir", "runs/a b"])
    assert "python scripts/train_cvslt.py cfg.json --output_dir 'runs/a b'\n" in model_card_text("cvslt")
