"""CVSLTTrainer: step-driven annealing, loss-part logging, per-module learning rates, training, generation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from cvslt_training_helpers import ToyCollator, make_tokenizer, tiny_model, toy_corpus
from transformers import Seq2SeqTrainer

from signbridge.training import (
    CVSLTTrainer,
    CVSLTTrainingArguments,
    KLAnnealingCallback,
    decode_sequences,
    make_translation_compute_metrics,
)


@pytest.fixture
def tokenizer():
    """The word-level mBART-style tokenizer of the toy corpus (overrides the NAR-SLP tokenizer of conftest.py)."""
    return make_tokenizer()


def _args(tmp_path, **overrides):
    values = {
        "output_dir": str(tmp_path / "out"),
        "per_device_train_batch_size": 2,
        "per_device_eval_batch_size": 4,
        "learning_rate": 1e-3,
        "use_cpu": True,
        "report_to": "none",
        "save_strategy": "no",
        "remove_unused_columns": False,
        "disable_tqdm": True,
        "seed": 0,
        "data_seed": 0,
        "dataloader_num_workers": 0,
    }
    values.update(overrides)
    return CVSLTTrainingArguments(**values)


class _RecordingTrainer(CVSLTTrainer):
    """Records (global_step, annealing_weight) of every training forward."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[int, float]] = []

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        if model.training:
            self.seen.append((self.state.global_step, float(outputs.annealing_weight)))
        return (loss, outputs) if return_outputs else loss


def test_annealing_follows_optimizer_steps_under_gradient_accumulation(tmp_path, tokenizer):
    model = tiny_model(kl_annealing_steps=4)
    args = _args(tmp_path, gradient_accumulation_steps=2, max_steps=5, logging_steps=100)
    trainer = _RecordingTrainer(
        model=model,
        args=args,
        train_dataset=toy_corpus(40),
        data_collator=ToyCollator(tokenizer),
        processing_class=tokenizer,
    )
    trainer.train()
    # 5 optimizer steps x 2 micro-batches; the weight is min(1, step / 4) for both micro-batches of a step.
    assert [s for s, _ in trainer.seen] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    np.testing.assert_allclose(
        [w for _, w in trainer.seen], [0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1], atol=1e-7
    )
    # The model's step counts the optimizer steps done (5), so a model saved now continues from there; evaluation
    # forwards do not move it.
    assert int(model.global_step) == 5


def test_plain_seq2seq_trainer_with_callback_anneals_by_step(tmp_path, tokenizer):
    model = tiny_model(kl_annealing_steps=2)
    weights = []
    original = model.forward

    def forward(*a, **k):
        out = original(*a, **k)
        weights.append(float(out.annealing_weight))
        return out

    model.forward = forward
    args = _args(tmp_path, gradient_accumulation_steps=3, max_steps=3, logging_steps=100)
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=toy_corpus(30),
        data_collator=ToyCollator(tokenizer),
        callbacks=[KLAnnealingCallback()],
    )
    trainer.train()
    np.testing.assert_allclose(weights, [0, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1], atol=1e-7)


def test_training_continued_from_a_saved_folder_continues_the_annealing(tmp_path, tokenizer):
    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    model = tiny_model(kl_annealing_steps=4)
    trainer = _RecordingTrainer(
        model=model,
        args=_args(tmp_path, max_steps=2, logging_steps=100),
        train_dataset=toy_corpus(8),
        data_collator=ToyCollator(tokenizer),
    )
    trainer.train()
    trainer.save_model(str(tmp_path / "saved"))
    loaded = CVSLTForConditionalGeneration.from_pretrained(tmp_path / "saved")
    assert int(loaded.global_step) == 2
    again = _RecordingTrainer(
        model=loaded,
        args=_args(tmp_path, max_steps=3, logging_steps=100),
        train_dataset=toy_corpus(8),
        data_collator=ToyCollator(tokenizer),
    )
    again.train()
    # a new Trainer counts from 0; the annealing goes on from the 2 saved steps instead of restarting at weight 0
    assert again.seen == [(0, 0.5), (1, 0.75), (2, 1.0)]
    assert int(loaded.global_step) == 5


def test_run_resumed_from_a_checkpoint_continues_the_annealing(tmp_path, tokenizer):
    args = _args(tmp_path, max_steps=4, logging_steps=100, save_strategy="steps", save_steps=2)
    first = _RecordingTrainer(
        model=tiny_model(kl_annealing_steps=4),
        args=args,
        train_dataset=toy_corpus(8),
        data_collator=ToyCollator(tokenizer),
    )
    first.train()
    resumed = _RecordingTrainer(
        model=tiny_model(kl_annealing_steps=4),
        args=args,
        train_dataset=toy_corpus(8),
        data_collator=ToyCollator(tokenizer),
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-2"))
    # the checkpoint's step (2) and the Trainer's restored step (2) are the same count: not added twice
    assert resumed.seen == first.seen[2:] == [(2, 0.5), (3, 0.75)]


def test_plain_trainer_warns_once_without_the_annealing_callback(tmp_path, tokenizer):
    from transformers.testing_utils import CaptureLogger

    from signbridge.models.cvslt import modeling_cvslt

    def run(trainer_cls, **kwargs):
        trainer_cls(
            model=tiny_model(),
            args=_args(tmp_path, max_steps=3, logging_steps=100),
            train_dataset=toy_corpus(6),
            data_collator=ToyCollator(tokenizer),
            **kwargs,
        ).train()

    modeling_cvslt.logger.warning_once.cache_clear()
    with CaptureLogger(modeling_cvslt.logger) as captured:
        run(Seq2SeqTrainer)
    assert captured.out.count("KL-annealing step was never set") == 1
    modeling_cvslt.logger.warning_once.cache_clear()
    with CaptureLogger(modeling_cvslt.logger) as captured:
        run(Seq2SeqTrainer, callbacks=[KLAnnealingCallback()])
        run(CVSLTTrainer)
    assert captured.out == ""
    modeling_cvslt.logger.warning_once.cache_clear()


@pytest.mark.parametrize("loss_reduction", ["sentence_sum", "token_mean"])
def test_gradient_accumulation_matches_the_full_batch_with_the_paper_reduction(
    tmp_path, tokenizer, loss_reduction
):
    """One SGD step on 4 sentences as 1 x 4 and as 2 micro-batches x 2 (the Trainer divides each micro-batch loss by
    the accumulation steps: CV-SLT has `accepts_loss_kwargs = False`). The model is kept in eval mode (no z noise,
    BatchNorm with fixed statistics), so both runs differentiate the same function of the same sentences. With the
    paper's reduction (sum over tokens / batch size) the updates agree; token means of micro-batches do not."""
    corpus = toy_corpus(40, seed=5)
    words = [len(t.split()) for t in corpus["text"]]
    # three sentences of 3 words and one of 5: every split into two micro-batches of 2 has unequal token counts
    data = corpus.select([i for i, n in enumerate(words) if n == 3][:3] + [words.index(5)])

    def one_step(batch_size, accumulation):
        model = tiny_model(kl_annealing_steps=0, loss_reduction=loss_reduction)
        model.eval()
        model.train = lambda mode=True: model  # keep eval mode inside the Trainer
        args = _args(
            tmp_path,
            per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation,
            max_steps=1,
            optim="sgd",
            learning_rate=0.1,
            max_grad_norm=0.0,
            lr_scheduler_type="constant",
            logging_steps=100,
        )
        trainer = CVSLTTrainer(
            model=model, args=args, train_dataset=data, data_collator=ToyCollator(tokenizer)
        )
        assert trainer.model_accepts_loss_kwargs is False
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        trainer.train()
        return {n: p.detach() - before[n] for n, p in model.named_parameters()}

    full, accumulated = one_step(4, 1), one_step(2, 2)
    close = [torch.allclose(accumulated[n], full[n], atol=1e-6, rtol=1e-4) for n in full]
    if loss_reduction == "sentence_sum":
        assert all(close)
        assert any(full[n].abs().max() > 1e-4 for n in full)
    else:
        assert not all(close)


def test_loss_parts_and_annealing_weight_are_logged_as_interval_means(tmp_path, tokenizer):
    model = tiny_model(kl_annealing_steps=4)
    args = _args(tmp_path, max_steps=4, logging_steps=2)
    trainer = _RecordingTrainer(
        model=model,
        args=args,
        train_dataset=toy_corpus(16),
        data_collator=ToyCollator(tokenizer),
        processing_class=tokenizer,
    )
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert [h["step"] for h in logs] == [2, 4]
    for entry in logs:
        for key in ("posterior_ce_loss", "prior_ce_loss", "kl_loss", "sd_loss", "annealing_weight"):
            assert key in entry and math.isfinite(entry[key]), (key, entry)
        assert entry["kl_loss"] >= 0 and entry["sd_loss"] >= 0
    # steps 0,1 -> weights 0, .25 (mean .125); steps 2,3 -> .5, .75 (mean .625)
    assert logs[0]["annealing_weight"] == pytest.approx(0.125)
    assert logs[1]["annealing_weight"] == pytest.approx(0.625)


def test_loss_part_means_match_recorded_forwards(tmp_path, tokenizer):
    model = tiny_model()
    args = _args(tmp_path, max_steps=3, logging_steps=3, learning_rate=0.0)
    parts = []

    class Spy(CVSLTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss, out = super().compute_loss(model, inputs, True, num_items_in_batch)
            parts.append(float(out.prior_ce_loss.detach()))
            return (loss, out) if return_outputs else loss

    trainer = Spy(model=model, args=args, train_dataset=toy_corpus(6), data_collator=ToyCollator(tokenizer))
    trainer.train()
    logged = [h for h in trainer.state.log_history if "loss" in h][0]
    assert logged["prior_ce_loss"] == pytest.approx(np.mean(parts), abs=1e-5)


def test_param_groups_get_module_learning_rates(tmp_path, tokenizer):
    model = tiny_model()
    args = _args(
        tmp_path,
        learning_rate=1e-5,
        visual_head_learning_rate=1e-3,
        latent_network_learning_rate=3e-5,
        weight_decay=0.01,
        max_steps=1,
    )
    trainer = CVSLTTrainer(
        model=model, args=args, train_dataset=toy_corpus(4), data_collator=ToyCollator(tokenizer)
    )
    optimizer = trainer.create_optimizer()
    lr_of = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            assert id(p) not in lr_of, "a parameter is in two groups"
            lr_of[id(p)] = (group["lr"], group["weight_decay"])
    named = dict(model.named_parameters())
    assert set(lr_of) == {id(p) for p in named.values()}
    for name, p in named.items():
        lr, wd = lr_of[id(p)]
        expected = (
            1e-3 if name.startswith("visual_head.") else 3e-5 if name.startswith("latent_network.") else 1e-5
        )
        assert lr == expected, name
        if name.endswith(".bias"):
            assert wd == 0.0, name
    assert optimizer.defaults["betas"] == (0.9, 0.998)  # the CV-SLT recipe's defaults
    assert (
        args.lr_scheduler_type in ("cosine", "SchedulerType.COSINE")
        or args.lr_scheduler_type.value == "cosine"
    )


def test_cosine_schedule_keeps_module_ratio_in_logs(tmp_path, tokenizer):
    model = tiny_model()
    args = _args(tmp_path, learning_rate=1e-4, visual_head_learning_rate=1e-2, max_steps=4, logging_steps=1)
    trainer = CVSLTTrainer(
        model=model, args=args, train_dataset=toy_corpus(8), data_collator=ToyCollator(tokenizer)
    )
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    lrs = [h["learning_rate"] for h in logs]
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] < lrs[1] < lrs[0]  # cosine decay, no warmup
    for h in logs:
        assert h["learning_rate_visual_head"] == pytest.approx(100 * h["learning_rate"])
    # the optimizer really applied the ratio
    rates = {g["name"]: g["lr"] for g in trainer.optimizer.param_groups}
    assert rates["visual_head"] == pytest.approx(100 * rates["default"])


def test_unknown_module_prefix_and_label_smoothing_are_rejected(tmp_path, tokenizer):
    model = tiny_model()
    trainer = CVSLTTrainer(
        model=model,
        args=_args(tmp_path, max_steps=1),
        train_dataset=toy_corpus(4),
        data_collator=ToyCollator(tokenizer),
        module_learning_rates={"visual_hed": 1e-3},
    )
    with pytest.raises(ValueError, match="visual_hed"):
        trainer.create_optimizer()
    with pytest.raises(ValueError, match="label_smoothing"):
        CVSLTTrainer(
            model=model,
            args=_args(tmp_path, label_smoothing_factor=0.1),
            train_dataset=toy_corpus(4),
            data_collator=ToyCollator(tokenizer),
        )
    with pytest.raises(ValueError, match="visual_head_learning_rate"):
        _args(tmp_path, visual_head_learning_rate=-1.0)


def test_latent_removed_model_trains_with_latent_lr_given(tmp_path, tokenizer):
    model = tiny_model(use_latent=False)
    args = _args(
        tmp_path,
        latent_network_learning_rate=1e-3,
        visual_head_learning_rate=1e-3,
        max_steps=2,
        logging_steps=1,
    )
    trainer = CVSLTTrainer(
        model=model, args=args, train_dataset=toy_corpus(4), data_collator=ToyCollator(tokenizer)
    )
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert "prior_ce_loss" in logs[0] and "kl_loss" not in logs[0]


def test_short_training_lowers_the_loss(tmp_path, tokenizer):
    data = toy_corpus(16)
    collator = ToyCollator(tokenizer)
    model = tiny_model(kl_annealing_steps=10)
    batch = collator([data[i] for i in range(len(data))])

    def eval_loss():
        model.eval()
        with torch.no_grad():
            return float(model(**batch).prior_ce_loss)

    before = eval_loss()
    args = _args(
        tmp_path,
        per_device_train_batch_size=8,
        max_steps=16,
        learning_rate=1e-2,
        visual_head_learning_rate=1e-2,
        logging_steps=8,
    )
    CVSLTTrainer(model=model, args=args, train_dataset=data, data_collator=collator).train()
    after = eval_loss()
    assert after < 0.7 * before, (before, after)


def test_predict_with_generate_and_translation_metrics(tmp_path, tokenizer):
    model = tiny_model()
    data = toy_corpus(6)
    args = _args(tmp_path, predict_with_generate=True, generation_num_beams=2, max_steps=1)
    trainer = CVSLTTrainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data,
        data_collator=ToyCollator(tokenizer),
        processing_class=tokenizer,
        compute_metrics=make_translation_compute_metrics(tokenizer),
    )
    metrics = trainer.evaluate(max_new_tokens=6)
    for key in ("eval_bleu1", "eval_bleu2", "eval_bleu3", "eval_bleu4", "eval_rouge_l", "eval_loss"):
        assert key in metrics and 0.0 <= metrics[key] <= (100.0 if key != "eval_loss" else 1e9), key
    prediction = trainer.predict(data, num_beams=2, max_new_tokens=6)
    texts = decode_sequences(tokenizer, prediction.predictions)
    assert len(texts) == 6 and all("de_DE" not in t and "</s>" not in t and "<pad>" not in t for t in texts)


def test_compute_metrics_scores_perfect_predictions_100(tokenizer):
    from transformers.trainer_utils import EvalPrediction

    texts = ["regen wind morgen .", "sonne heute warm .", "kalt nord sued ."]
    enc = tokenizer(texts, padding=True, return_tensors="np")["input_ids"]
    labels = np.where(enc == tokenizer.pad_token_id, -100, enc)
    preds = np.concatenate([np.full((3, 1), 4), enc], axis=1)  # decoder start (lang code) first, pad after
    scores = make_translation_compute_metrics(tokenizer)(EvalPrediction(predictions=preds, label_ids=labels))
    assert scores["bleu4"] == pytest.approx(100.0) and scores["rouge_l"] == pytest.approx(100.0)
    assert decode_sequences(tokenizer, labels) == texts
    with pytest.raises(ValueError, match="2-D"):
        decode_sequences(tokenizer, np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="level"):
        make_translation_compute_metrics(tokenizer, level="token")


def test_default_arguments_keep_the_columns_the_collator_reads(tmp_path, tokenizer):
    """transformers' default (remove_unused_columns=True) would drop `features` and `text` (the model's forward
    names neither) and the collator would get empty examples; the CV-SLT arguments default to False."""
    from signbridge.data.collators import SignTranslationCollator

    args = CVSLTTrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=1,
        per_device_train_batch_size=4,
        use_cpu=True,
        report_to="none",
    )
    assert args.remove_unused_columns is False
    trainer = CVSLTTrainer(
        model=tiny_model(),
        args=args,
        train_dataset=toy_corpus(4),
        data_collator=SignTranslationCollator(tokenizer),
    )
    assert trainer.train().global_step == 1


# ---- several processes: each its own random stream (latent noise, dropout) ----


def _draws():
    import random

    return torch.randn(4), np.random.rand(3), random.random()


def _same_draws(a, b):
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


@pytest.mark.parametrize(("world_size", "process_index"), [(2, 0), (2, 1), (4, 3)])
def test_process_seed_callback_reseeds_each_process_with_seed_plus_index(world_size, process_index):
    from types import SimpleNamespace

    from transformers import set_seed

    from signbridge.training.callbacks import ProcessSeedCallback

    set_seed(123)
    args = SimpleNamespace(world_size=world_size, process_index=process_index, seed=7)
    ProcessSeedCallback().on_train_begin(args, None, None)
    drawn = _draws()
    set_seed(7 + process_index)
    assert _same_draws(drawn, _draws())  # torch, numpy and python all reseeded
    set_seed(7 + process_index + 1)
    assert not _same_draws(drawn, _draws())


def test_process_seed_callback_leaves_a_single_process_alone():
    from types import SimpleNamespace

    from transformers import set_seed

    from signbridge.training.callbacks import ProcessSeedCallback

    set_seed(123)
    _draws()  # somewhere inside the stream, not at a seed's start
    expected = _draws()
    set_seed(123)
    _draws()
    ProcessSeedCallback().on_train_begin(SimpleNamespace(world_size=1, process_index=0, seed=7), None, None)
    assert _same_draws(_draws(), expected)


class _NoiseRecordingTrainer(CVSLTTrainer):
    """Records the labels and the loss of every training forward."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches: list[torch.Tensor] = []
        self.losses: list[float] = []

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        if model.training:
            self.batches.append(inputs["labels"].clone())
            self.losses.append(float(loss.detach()))
        return (loss, outputs) if return_outputs else loss


def test_a_second_process_gets_other_noise_but_the_same_data_order(tmp_path, tokenizer, monkeypatch):
    """What process 1 of 2 does (its world size and index mocked in the callback): the latent noise differs from
    process 0's, the shuffled data order does not (the sampler's seed is taken before the reseed)."""
    from signbridge.training.callbacks import ProcessSeedCallback

    def run(process_index):
        original = ProcessSeedCallback.on_train_begin

        def as_process(self, args, state, control, **kwargs):
            from types import SimpleNamespace

            mocked = SimpleNamespace(world_size=2, process_index=process_index, seed=args.seed)
            return original(self, mocked, state, control, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(ProcessSeedCallback, "on_train_begin", as_process)
            trainer = _NoiseRecordingTrainer(
                model=tiny_model(),
                args=_args(tmp_path / str(process_index), max_steps=3, data_seed=None, logging_steps=100),
                train_dataset=toy_corpus(8),
                data_collator=ToyCollator(tokenizer),
            )
            assert sum(isinstance(cb, ProcessSeedCallback) for cb in trainer.callback_handler.callbacks) == 1
            trainer.train()
        return trainer

    first, second = run(0), run(1)
    plain = _NoiseRecordingTrainer(  # one process: the callback does nothing
        model=tiny_model(),
        args=_args(tmp_path / "plain", max_steps=3, data_seed=None, logging_steps=100),
        train_dataset=toy_corpus(8),
        data_collator=ToyCollator(tokenizer),
    )
    plain.train()
    assert len(first.batches) == len(second.batches) == 3
    assert all(torch.equal(a, b) for a, b in zip(first.batches, second.batches, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(first.batches, plain.batches, strict=True))
    assert first.losses == plain.losses  # process 0 keeps the seed: the stream of one process
    assert all(a != b for a, b in zip(first.losses, second.losses, strict=True))  # other latent noise
