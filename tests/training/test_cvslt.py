"""The shared training entry (train_cvslt) and the argument parsing of scripts/train_cvslt.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from signbridge.training import (
    CVSLTDataArguments,
    CVSLTModelArguments,
    CVSLTTrainingArguments,
    parse_cvslt_args,
    train_cvslt,
)
from signbridge.training.cvslt import POSE_NORMALIZER_FILE, poses_to_features

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "scripts" / "configs"
TINY = {
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
}


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    from signbridge.data.builders import load_sign_dataset

    cache = tmp_path_factory.mktemp("cache")
    return load_sign_dataset("synthetic", cache_dir=cache, train_size=12, dev_size=3, test_size=4)


def _run(tmp_path, dataset, input_key="features", use_latent=True, **model_config):
    model_args = CVSLTModelArguments(model_config={**TINY, **model_config}, use_latent=use_latent)
    data_args = CVSLTDataArguments(input_key=input_key, num_beams=2, max_new_tokens=6, max_target_length=40)
    training_args = CVSLTTrainingArguments(
        output_dir=str(tmp_path / "run"),
        max_steps=2,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        learning_rate=1e-3,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        logging_steps=1,
    )
    return train_cvslt(model_args, data_args, training_args, dataset=dataset), tmp_path / "run"


def test_train_cvslt_writes_model_predictions_and_scores(tmp_path, tiny_corpus):
    from transformers import AutoTokenizer

    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    results, out = _run(tmp_path, tiny_corpus)
    saved = json.loads((out / "scores.json").read_text())
    for split, size in (("dev", 3), ("test", 4)):
        for key in ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l"):
            assert 0.0 <= results[split][key] <= 100.0
            assert saved[split][key] == pytest.approx(results[split][key])
        assert results[split]["num_examples"] == size
        lines = (out / f"predictions_{split}.tsv").read_text(encoding="utf-8").splitlines()
        assert lines[0] == "hypothesis\treference" and len(lines) == size + 1
        refs = [line.split("\t")[1] for line in lines[1:]]
        assert refs == list(tiny_corpus[split]["text"])
    model = CVSLTForConditionalGeneration.from_pretrained(out / "model")
    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    assert model.config.feature_dim == 832 and model.config.use_latent
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.tgt_lang_code_id == tokenizer.convert_tokens_to_ids("de_DE")
    assert not (out / "model" / POSE_NORMALIZER_FILE).exists()


def test_train_cvslt_saves_a_hub_ready_folder(tmp_path, tiny_corpus):
    """Model card with the measured scores, processor, pipeline declaration, one generation length limit."""
    from transformers import AutoProcessor
    from transformers.generation import utils as generation_utils
    from transformers.testing_utils import CaptureLogger

    from signbridge.models.cvslt import CVSLTForConditionalGeneration, SignFeatureExtractor

    results, out = _run(tmp_path, tiny_corpus)
    folder = out / "model"
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert (
        card.startswith("---\n")
        and "library_name: transformers" in card
        and "pipeline_tag: translation" in card
    )
    assert f"| test bleu4 | {results['test']['bleu4']:.4g} |" in card
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["max_new_tokens"] == 6 and "max_length" not in generation
    config = json.loads((folder / "config.json").read_text())
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"}
    assert set(config["custom_pipelines"]) == {"sign-language-translation"}
    processor = AutoProcessor.from_pretrained(folder)
    assert isinstance(processor.feature_extractor, SignFeatureExtractor)
    model = CVSLTForConditionalGeneration.from_pretrained(folder).eval()
    batch = processor(sign=np.asarray(tiny_corpus["dev"][0]["features"]), return_tensors="pt")
    with CaptureLogger(generation_utils.logger) as captured:
        ids = model.generate(**batch, max_new_tokens=3)
    assert ids.shape[1] <= 4 and captured.out == ""
    # what the folders held before (max_length 33) warns on every call: the capture sees it
    model.generation_config.max_new_tokens, model.generation_config.max_length = None, 33
    with CaptureLogger(generation_utils.logger) as captured:
        model.generate(**batch, max_new_tokens=3)
    assert "Both `max_new_tokens` (=3) and `max_length`(=33)" in captured.out


def test_train_cvslt_on_poses_saves_the_normalizer_in_the_processor(tmp_path, tiny_corpus):
    from transformers import AutoProcessor

    from signbridge.models.cvslt import CVSLTForConditionalGeneration, SignPoseFeatureExtractor

    results, out = _run(tmp_path, tiny_corpus, input_key="poses", use_latent=False)
    model = CVSLTForConditionalGeneration.from_pretrained(out / "model")
    assert (
        model.config.feature_dim == 150 and model.config.use_latent is False and model.latent_network is None
    )
    # the statistics live in one place: the processor's feature extractor (no pose_normalizer.json any more)
    assert not (out / "model" / POSE_NORMALIZER_FILE).exists()
    extractor = AutoProcessor.from_pretrained(out / "model").feature_extractor
    assert isinstance(extractor, SignPoseFeatureExtractor) and extractor.skeleton == "skeleton50"
    normalizer = extractor.normalizer
    poses = np.asarray(tiny_corpus["train"][0]["poses"], dtype=np.float32)
    feats = poses_to_features(poses, normalizer)
    assert feats.shape == (poses.shape[0], 150)
    # min-max fitted on the training split: normalised training poses span [0, 1] per joint coordinate
    train = np.concatenate(
        [poses_to_features(np.asarray(p, np.float32), normalizer) for p in tiny_corpus["train"]["poses"]]
    )
    moving = train.max(0) > train.min(0)
    np.testing.assert_allclose(train.min(0)[moving], 0.0, atol=1e-5)
    np.testing.assert_allclose(train.max(0)[moving], 1.0, atol=1e-5)
    assert not np.allclose(feats, poses.reshape(len(poses), -1))
    np.testing.assert_array_equal(extractor(poses)["input_features"][0], feats)
    assert results["input_key"] == "poses" and results["use_latent"] is False


def test_bad_inputs_are_reported(tmp_path, tiny_corpus):
    with pytest.raises(ValueError, match="input_key"):
        CVSLTDataArguments(input_key="video")
    with pytest.raises(ValueError, match="model_config"):
        CVSLTModelArguments(model_config="{not json")
    with pytest.raises(ValueError, match="no split 'validation'"):
        model_args = CVSLTModelArguments(model_config=TINY)
        data_args = CVSLTDataArguments(dev_split="validation")
        args = CVSLTTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
        train_cvslt(model_args, data_args, args, dataset=tiny_corpus)
    with pytest.raises(ValueError, match=r"shape \(T, J, K\)"):
        poses_to_features(np.zeros((4, 150), np.float32))


@pytest.mark.parametrize(
    "name", ["cvslt_synthetic.json", "cvslt_phoenix14t.json", "backtranslator_synthetic.json"]
)
def test_configs_parse(name):
    model_args, data_args, training_args = parse_cvslt_args([str(CONFIGS / name), "--output_dir", "/tmp/x"])
    assert data_args.num_beams == 5 and data_args.length_penalty == 1.0
    assert training_args.adam_beta2 == 0.998 and "cosine" in str(training_args.lr_scheduler_type).lower()
    assert training_args.output_dir == "/tmp/x" and training_args.label_smoothing_factor == 0.0
    assert model_args.model_config["latent_dim"] == 64 and model_args.use_latent
    if name == "cvslt_phoenix14t.json":
        cfg = model_args.model_config
        assert (cfg["sd_weight"], cfg["kl_annealing_steps"], cfg["label_smoothing"]) == (3.0, 4000, 0.2)
        assert training_args.learning_rate == 1e-5 and training_args.visual_head_learning_rate == 1e-3
        assert training_args.per_device_train_batch_size == 16 and training_args.fp16
        assert training_args.num_train_epochs == 40
    if name == "backtranslator_synthetic.json":
        assert data_args.input_key == "poses" and model_args.model_config["feature_dim"] == 150


def test_parse_overrides_and_unknown_keys(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps({"output_dir": "a", "use_latent": True, "num_beams": 3, "model_config": {"d_model": 8}})
    )
    model_args, data_args, training_args = parse_cvslt_args([str(config), "--use_latent", "false"])
    assert (
        model_args.use_latent is False
        and data_args.num_beams == 3
        and model_args.model_config == {"d_model": 8}
    )
    config.write_text(json.dumps({"output_dir": "a", "num_beam": 3}))
    with pytest.raises(ValueError, match="num_beam"):
        parse_cvslt_args([str(config)])
    with pytest.raises(ValueError, match="does not exist"):
        parse_cvslt_args([str(tmp_path / "missing.json")])


def test_same_config_and_seed_give_bit_identical_weights_and_scores(tmp_path, tiny_corpus):
    """Seeded before the model is built: two runs of one config agree bit for bit (issue 10, item 11)."""
    from safetensors.torch import load_file

    torch.manual_seed(123)  # the global RNG state before each run differs; the runs must not depend on it
    first, out_a = _run(tmp_path / "a", tiny_corpus)
    torch.manual_seed(456)
    second, out_b = _run(tmp_path / "b", tiny_corpus)
    weights_a, weights_b = (
        load_file(out_a / "model" / "model.safetensors"),
        load_file(out_b / "model" / "model.safetensors"),
    )
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    for split in ("dev", "test"):
        assert (
            first[split]["bleu4"] == second[split]["bleu4"]
            and first[split]["rouge_l"] == second[split]["rouge_l"]
        )


@pytest.mark.parametrize("flag", ["true", "false"])
def test_hash_data_files_flag_reaches_the_dataset_cache(tmp_path, flag):
    """--hash_data_files (as the pose scripts have it): true keys the corpus cache on the files' content, false on
    their size and time, so a rewrite that keeps both is seen only with true."""
    import os

    from signbridge.data.skels import write_skels
    from signbridge.training.cvslt import _load_dataset

    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for split in ("train", "dev", "test"):
        examples = [
            {"name": f"{split}/{i}", "text": "alt .", "gloss": "ALT", "poses": rng.normal(size=(3, 50, 3))}
            for i in range(2)
        ]
        write_skels(examples, data, split)
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps(
            {
                "dataset_name": "phoenix14t_skels",
                "data_dir": str(data),
                "dataset_options": {"cache_dir": str(tmp_path / "cache")},
                "output_dir": str(tmp_path / "out"),
            }
        )
    )
    _, data_args, _ = parse_cvslt_args([str(config), "--hash_data_files", flag])
    assert data_args.hash_data_files is (flag == "true")
    assert set(_load_dataset(data_args)["dev"]["text"]) == {"alt ."}
    text = data / "dev.text"
    st = text.stat()
    text.write_bytes(text.read_bytes().replace(b"alt .", b"neu ."))  # same size
    os.utime(text, ns=(st.st_atime_ns, st.st_mtime_ns))  # same modification time
    expected = {"neu ."} if flag == "true" else {"alt ."}  # false: the stale cache, as documented
    assert set(_load_dataset(data_args)["dev"]["text"]) == expected


def test_hash_data_files_given_twice_must_agree():
    args = CVSLTDataArguments(dataset_options={"hash_data_files": False, "x": 1}, hash_data_files=False)
    assert args.dataset_options == {"x": 1}  # given once, to load_sign_dataset, by the flag
    with pytest.raises(ValueError, match="--hash_data_files"):
        CVSLTDataArguments(dataset_options={"hash_data_files": False})
