"""Strict `from_pretrained` of every signbridge model (issue 12 item 6): a folder of another model type, or weights
missing from or left over in model.safetensors, raise `ValueError` naming them; `strict=False` loads as transformers
does; the legitimate paths (tied weights, CV-SLT's `global_step` absent from old folders, `from_mbart`,
`from_pretrained_parts`, the Auto classes, remote code, `output_loading_info`) still load."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file
from signbridge_blocker import run_without_signbridge
from transformers import AutoModel, BertConfig, BertModel, MBartConfig, MBartForConditionalGeneration

from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
from signbridge.models.nar_slp import NARSignProducer, NARSignProducerConfig
from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel
from signbridge.models.pose_vae import PoseVAEConfig, PoseVAEModel

NORMALIZATION = {"minimum": [[-1.0, -1.0, -1.0]] * 5, "maximum": [[1.0, 1.0, 1.0]] * 5}


def _cvslt():
    return CVSLTForConditionalGeneration(
        CVSLTConfig(
            vocab_size=40,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=48,
            feature_dim=12,
            visual_hidden_size=8,
            visual_ffn_dim=16,
            max_sign_positions=30,
            latent_dim=4,
            tgt_lang_code_id=5,
        )
    )


def _vae_config():
    return PoseVAEConfig(
        num_joints=5, joint_dim=3, hidden_sizes=[16, 12], latent_dim=6, normalization=NORMALIZATION
    )


def _pose_vae():
    return PoseVAEModel(_vae_config())


def _bert_config():
    return BertConfig(
        vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24
    )


def _nar_slp():
    config = NARSignProducerConfig(
        text_encoder=_bert_config(),
        pose_vae=_vae_config(),
        d_model=16,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=24,
        max_frames=12,
        length_regulator_hidden_size=8,
    )
    return NARSignProducer(config)


def _pose_autoencoder():
    config = PoseAutoencoderConfig(
        num_joints=5,
        joint_dim=3,
        window_size=8,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        latent_dim=4,
        normalization=NORMALIZATION,
    )
    return PoseAutoencoderModel(config)


# model_type -> (class, builder)
MODELS = {
    "cvslt": (CVSLTForConditionalGeneration, _cvslt),
    "nar_slp": (NARSignProducer, _nar_slp),
    "pose_vae": (PoseVAEModel, _pose_vae),
    "pose_autoencoder": (PoseAutoencoderModel, _pose_autoencoder),
}


def _saved(model_type, folder):
    torch.manual_seed(0)
    model = MODELS[model_type][1]()
    model.save_pretrained(folder)
    return model


def _edit_weights(folder, edit):
    path = folder / "model.safetensors"
    state = load_file(path)
    edit(state)
    save_file(state, path, metadata={"format": "pt"})


def _a_weight(state, model_type):
    """A weight the model needs; for the producer one inside its frozen pose decoder."""
    prefix = "pose_vae.decoder." if model_type == "nar_slp" else ""
    return sorted(key for key in state if key.startswith(prefix) and key.endswith("weight"))[0]


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("model_type", MODELS)
def test_a_saved_folder_loads_strictly_with_the_same_weights(model_type, tmp_path):
    model = _saved(model_type, tmp_path)
    cls = MODELS[model_type][0]
    assert _same_weights(model, cls.from_pretrained(tmp_path))
    loaded, info = cls.from_pretrained(tmp_path, output_loading_info=True)
    assert _same_weights(model, loaded)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert _same_weights(model, AutoModel.from_pretrained(tmp_path))


@pytest.mark.parametrize("model_type", MODELS)
def test_a_missing_weight_is_an_error_naming_it(model_type, tmp_path):
    _saved(model_type, tmp_path)
    removed = []

    def remove(state):
        removed.append(_a_weight(state, model_type))
        del state[removed[0]]

    _edit_weights(tmp_path, remove)
    cls = MODELS[model_type][0]
    with pytest.raises(ValueError, match=rf"missing from the checkpoint.*{removed[0]}.*strict=False"):
        cls.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match=removed[0]):
        AutoModel.from_pretrained(tmp_path)
    # the opt-out: transformers' behaviour, the weight reported missing
    model, info = cls.from_pretrained(tmp_path, strict=False, output_loading_info=True)
    assert isinstance(model, cls) and removed[0] in info["missing_keys"]
    assert isinstance(AutoModel.from_pretrained(tmp_path, strict=False), cls)


@pytest.mark.parametrize("model_type", MODELS)
def test_an_unexpected_weight_is_an_error_naming_it(model_type, tmp_path):
    _saved(model_type, tmp_path)
    _edit_weights(tmp_path, lambda state: state.update({"stray.weight": torch.zeros(3)}))
    cls = MODELS[model_type][0]
    with pytest.raises(ValueError, match=r"in the checkpoint but not in the model: stray\.weight"):
        cls.from_pretrained(tmp_path)
    model = cls.from_pretrained(tmp_path, strict=False)
    assert "stray.weight" not in model.state_dict()


def test_many_missing_weights_are_counted_not_all_listed(tmp_path):
    _saved("pose_vae", tmp_path)
    _edit_weights(tmp_path, lambda state: state.clear() or state.update({"stray": torch.zeros(1)}))
    with pytest.raises(ValueError, match=r"\.\.\. \(\d+ in all\)") as error:
        PoseVAEModel.from_pretrained(tmp_path)
    assert "stray" in str(error.value)


@pytest.mark.parametrize(("model_type", "folder_type"), [(a, b) for a in MODELS for b in MODELS if a != b])
def test_a_folder_of_another_model_type_is_an_error_naming_both(model_type, folder_type, tmp_path):
    _saved(folder_type, tmp_path)
    cls = MODELS[model_type][0]
    other = MODELS[folder_type][0]
    with pytest.raises(
        ValueError, match=rf"'{folder_type}' model \({other.__name__}\), not a '{model_type}'"
    ):
        cls.from_pretrained(tmp_path)


def test_a_cvslt_folder_given_to_the_producer_and_back(tmp_path):
    _saved("cvslt", tmp_path / "cvslt")
    _saved("nar_slp", tmp_path / "nar")
    with pytest.raises(ValueError, match="'cvslt'.*'nar_slp'"):
        NARSignProducer.from_pretrained(tmp_path / "cvslt")
    with pytest.raises(ValueError, match="'nar_slp'.*'cvslt'"):
        CVSLTForConditionalGeneration.from_pretrained(tmp_path / "nar")
    # a config of another type given as the `config` keyword is refused too
    with pytest.raises(ValueError, match="'pose_vae'.*'nar_slp'"):
        NARSignProducer.from_pretrained(tmp_path / "nar", config=_vae_config())


def test_tied_weights_and_an_old_folder_without_global_step_load_strictly(tmp_path):
    model = _saved("cvslt", tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    assert "lm_head.weight" not in state  # tied to model.shared.weight, not saved
    _edit_weights(tmp_path, lambda state: state.pop("global_step"))
    loaded, info = CVSLTForConditionalGeneration.from_pretrained(tmp_path, output_loading_info=True)
    assert loaded.lm_head.weight.data_ptr() == loaded.model.shared.weight.data_ptr()
    assert int(loaded.global_step) == 0 and not info["missing_keys"]
    assert torch.equal(loaded.model.shared.weight, model.model.shared.weight)


def test_from_mbart_still_builds_the_new_modules(tmp_path):
    mbart = MBartForConditionalGeneration(
        MBartConfig(
            vocab_size=40,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=48,
        )
    )
    mbart.save_pretrained(tmp_path / "mbart")
    model = CVSLTForConditionalGeneration.from_mbart(
        tmp_path / "mbart", feature_dim=12, tgt_lang_code_id=5, max_sign_positions=30
    )
    model.save_pretrained(tmp_path / "cvslt")
    assert _same_weights(model, CVSLTForConditionalGeneration.from_pretrained(tmp_path / "cvslt"))
    # an mBART folder is not a CV-SLT folder
    with pytest.raises(ValueError, match="'mbart' model, not a 'cvslt' model"):
        CVSLTForConditionalGeneration.from_pretrained(tmp_path / "mbart")


def test_from_pretrained_parts_still_loads(tmp_path):
    BertModel(_bert_config(), add_pooling_layer=False).save_pretrained(tmp_path / "bert")
    _pose_vae().save_pretrained(tmp_path / "vae")
    producer = NARSignProducer.from_pretrained_parts(
        tmp_path / "bert", tmp_path / "vae", max_frames=12, d_model=16
    )
    producer.save_pretrained(tmp_path / "producer")
    loaded = NARSignProducer.from_pretrained(tmp_path / "producer")
    assert _same_weights(producer, loaded)
    assert not any(p.requires_grad for p in loaded.pose_vae.parameters())


def test_remote_code_folders_load_strictly(tmp_path):
    for model_type in MODELS:
        _saved(model_type, tmp_path / model_type)
        assert (tmp_path / model_type / "strict_loading.py").is_file()
    _edit_weights(tmp_path / "nar_slp", lambda state: state.update({"stray.weight": torch.zeros(1)}))
    script = textwrap.dedent(
        f"""
        import json
        from transformers import AutoModel, AutoModelForSeq2SeqLM
        root = {str(tmp_path)!r}
        result = {{}}
        for name in ("cvslt", "pose_vae", "pose_autoencoder"):
            auto = AutoModelForSeq2SeqLM if name == "cvslt" else AutoModel
            result[name] = type(auto.from_pretrained(root + "/" + name, trust_remote_code=True)).__name__
        try:
            AutoModel.from_pretrained(root + "/nar_slp", trust_remote_code=True)
        except ValueError as error:
            result["nar_slp"] = str(error)
        print(json.dumps(result))
        """
    )
    run = run_without_signbridge(script, [], tmp_path)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["cvslt"] == "CVSLTForConditionalGeneration"
    assert result["pose_vae"] == "PoseVAEModel"
    assert result["pose_autoencoder"] == "PoseAutoencoderModel"
    assert "stray.weight" in result["nar_slp"]
