"""signbridge.training.nar_slp: NARSignProducer training, its script entry and its configs."""

import dataclasses

import pytest
import torch
from nar_fixtures import CONFIGS, TINY_BERT, TINY_PRODUCER, train_args
from transformers import TrainingArguments

from signbridge.evaluation import production
from signbridge.training import nar_slp, pose_vae

torch.set_num_threads(1)


def test_train_nar_slp_same_seed_gives_bit_identical_weights(corpus, vae, tokenizer, tmp_path):
    """The producer is built after seeding: two runs agree bit for bit whatever the RNG state before (item 11)."""
    args = nar_slp.NARSignProducerArguments(text_encoder_config=TINY_BERT, producer_config=TINY_PRODUCER)
    states = []
    for run, noise_seed in enumerate((11, 22)):
        torch.manual_seed(noise_seed)
        model, _ = nar_slp.train_nar_slp(
            corpus["train"][:16], vae, tokenizer, train_args(tmp_path / str(run), 1), args
        )
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_a_sentence_of_unseen_words_is_produced_not_refused(vae, tokenizer):
    """[UNK] is not a special token for the emptiness check (issue 10, item 9): unseen words are still words."""
    model = nar_slp.build_nar_producer(
        vae,
        tokenizer,
        nar_slp.NARSignProducerArguments(text_encoder_config=TINY_BERT, producer_config=TINY_PRODUCER),
    )
    assert tokenizer.unk_token_id not in model.config.special_token_ids
    assert {tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id} <= set(
        model.config.special_token_ids
    )
    text = "ψωφ λμν"  # characters the corpus never has: every word is [UNK]
    assert set(tokenizer(text, add_special_tokens=False)["input_ids"]) == {tokenizer.unk_token_id}
    poses, lengths = production.produce_poses(model, tokenizer, [text, "am tag regen"])
    assert len(poses) == 2 and lengths[0] >= 1


def test_train_nar_slp_with_and_without_kd(corpus, vae, tokenizer, tmp_path):
    models = {}
    for kd in (False, True):
        args = nar_slp.NARSignProducerArguments(
            text_encoder_config=TINY_BERT, producer_config=TINY_PRODUCER, use_distillation=kd
        )
        model, metrics = nar_slp.train_nar_slp(
            corpus["train"], vae, tokenizer, train_args(tmp_path / str(kd)), args
        )
        assert model.config.use_distillation is kd
        assert not model.training
        # the frozen VAE is untouched by training
        for name, value in vae.state_dict().items():
            assert torch.equal(model.pose_vae.state_dict()[name], value), name
        models[kd] = model
    from signbridge.data.collators import PoseProductionCollator

    inputs = PoseProductionCollator(tokenizer, normalizer=nar_slp.vae_normalizer(vae))(corpus["dev"][:4])
    with torch.no_grad():
        plain = models[False](**inputs)
        distil = models[True](**inputs)
    assert plain.distillation_loss is None and distil.distillation_loss is not None
    assert torch.isclose(distil.loss, distil.pose_loss + distil.length_loss + distil.distillation_loss)


def test_train_nar_slp_loss_falls(corpus, vae, tokenizer, tmp_path):
    args = nar_slp.NARSignProducerArguments(text_encoder_config=TINY_BERT, producer_config=TINY_PRODUCER)
    model, _ = nar_slp.train_nar_slp(
        corpus["train"][:8], vae, tokenizer, train_args(tmp_path, epochs=15), args
    )
    from signbridge.data.collators import PoseProductionCollator

    inputs = PoseProductionCollator(tokenizer, normalizer=nar_slp.vae_normalizer(vae))(corpus["train"][:8])
    fresh = nar_slp.build_nar_producer(vae, tokenizer, args)
    fresh.eval()
    with torch.no_grad():
        assert model(**inputs).loss < fresh(**inputs).loss


def test_train_nar_slp_refuses_sequences_longer_than_max_frames(corpus, vae, tokenizer, tmp_path):
    args = nar_slp.NARSignProducerArguments(
        text_encoder_config=TINY_BERT, producer_config={**TINY_PRODUCER, "max_frames": 20}
    )
    with pytest.raises(ValueError, match="max_frames=20"):
        nar_slp.train_nar_slp(corpus["train"], vae, tokenizer, train_args(tmp_path), args)


def test_training_scripts_end_to_end(tmp_path):
    """scripts/train_pose_vae.py then scripts/train_nar_slp.py (JSON config + overrides) on a tiny corpus."""
    from signbridge.models.nar_slp import NARSignProducer

    vae_dir, nar_dir = tmp_path / "vae", tmp_path / "nar"
    vae_results = pose_vae.main(
        [
            str(CONFIGS / "pose_vae_synthetic.json"),
            "--train_size",
            "30",
            "--dev_size",
            "5",
            "--num_epochs",
            "2",
            "--output_dir",
            str(vae_dir),
        ]
    )
    assert vae_results["dev_reconstruction_mae"] < vae_results["dev_mean_pose_mae"]
    nar_results = nar_slp.main(
        [
            str(CONFIGS / "nar_slp_synthetic.json"),
            "--train_size",
            "30",
            "--dev_size",
            "5",
            "--num_train_epochs",
            "1",
            "--pose_vae_name_or_path",
            str(vae_dir),
            "--output_dir",
            str(nar_dir),
            "--use_distillation",
            "false",
            "--disable_tqdm",
            "true",
        ]
    )
    assert 0.0 <= nar_results["dev_dur_acc"] <= 1.0 and nar_results["use_distillation"] is False
    reloaded = NARSignProducer.from_pretrained(nar_dir)
    assert reloaded.config.use_distillation is False
    assert (nar_dir / "tokenizer.json").exists() and (nar_dir / "results.json").exists()


def test_headline_nar_config_needs_a_pretrained_bert_or_the_explicit_ablation_flag(tmp_path):
    """nar_slp_phoenix14t.json is the paper's headline setting: training BERT from scratch is its ablation (item 10)."""

    from signbridge.data.loading import PoseDataArguments
    from signbridge.utils.arguments import parse_config_and_flags

    config = str(CONFIGS / "nar_slp_phoenix14t.json")
    types = (PoseDataArguments, nar_slp.NARSignProducerArguments, TrainingArguments)
    overrides = ["--output_dir", str(tmp_path), "--bf16", "false", "--use_cpu", "true"]
    with pytest.raises(ValueError, match="pass --text_encoder_name_or_path DIR"):
        parse_config_and_flags(types, [config, *overrides])
    _, scratch, _ = parse_config_and_flags(types, [config, *overrides, "--text_encoder_from_scratch", "true"])
    assert scratch.text_encoder_from_scratch is True and scratch.text_encoder_name_or_path is None
    _, pretrained, _ = parse_config_and_flags(
        types, [config, *overrides, "--text_encoder_name_or_path", "/models/bert"]
    )
    assert pretrained.text_encoder_name_or_path == "/models/bert"
    with pytest.raises(ValueError, match="choose one"):
        nar_slp.NARSignProducerArguments(
            text_encoder_name_or_path="/models/bert", text_encoder_from_scratch=True
        )
    _, synthetic, _ = parse_config_and_flags(types, [str(CONFIGS / "nar_slp_synthetic.json"), *overrides])
    assert synthetic.text_encoder_from_scratch is True


def test_nar_training_arguments_keep_the_collators_columns_and_name_the_pose_labels(tmp_path):
    from transformers import TrainingArguments

    from signbridge.training.nar_slp import NARSLPTrainingArguments

    args = NARSLPTrainingArguments(output_dir=str(tmp_path))
    assert args.remove_unused_columns is False and args.label_names == ["pose_labels", "pose_mask"]
    assert TrainingArguments(output_dir=str(tmp_path)).remove_unused_columns is True  # what it changes
    assert NARSLPTrainingArguments(output_dir=str(tmp_path), label_names=["x"]).label_names == ["x"]


def test_training_with_gradient_checkpointing_gives_the_same_weights(corpus, vae, tokenizer, tmp_path):
    """`gradient_checkpointing: true` in a training config: the Trainer switches it on, the run ends with the weights
    of the run without it (dropout on: checkpointing replays the same masks)."""
    producer = dict(TINY_PRODUCER, dropout=0.1)
    args = nar_slp.NARSignProducerArguments(text_encoder_config=TINY_BERT, producer_config=producer)
    states = []
    for checkpointing in (False, True):
        # transformers 5.24 renamed the switch (`gradient_checkpointing` stays as a deprecated alias)
        name = (
            "activation_checkpointing"
            if hasattr(TrainingArguments, "activation_checkpointing")
            else "gradient_checkpointing"
        )
        training_args = dataclasses.replace(
            train_args(tmp_path / str(checkpointing), 1), **{name: checkpointing}
        )
        model, _ = nar_slp.train_nar_slp(corpus["train"][:16], vae, tokenizer, training_args, args)
        assert model.decoder.layers[0].gradient_checkpointing is checkpointing
        states.append(model.state_dict())
    for name in states[0]:
        torch.testing.assert_close(states[1][name], states[0][name], rtol=0, atol=1e-6, msg=name)
