"""One base-configuration probe (issue 14): train the plain-mBART twin (or CV-SLT) on phoenix14t_synthetic.

Uses :func:`signbridge.training.train_cvslt` with the settings of ``signbridge.experiments.jobs._cvslt_job``
(``translator_model_config``, AdamW beta2 0.998, cosine schedule, grad-norm 1.0), with the overrides below; a
training step count instead of epochs; greedy scoring of the first ``--eval_subset`` dev sentences every
``--eval_steps``; greedy (``--beams 1``) scoring of the whole dev split at the end. Writes
``<out>/probe_log.jsonl`` (every log line with wall and CPU seconds since training began), ``<out>/summary.json``
(dev BLEU/ROUGE, distinct hypotheses, times) and ``<out>/predictions_dev.tsv``. Results:
``model_cards/results/base_config_probes.md``. ``--init`` starts from a saved folder (e.g. the CTC-trained encoder of
``benchmarks/probe_gloss_ctc.py``), ``--freeze_encoder 1`` then trains the decoder only
(visual head and encoder layers frozen), ``--freeze_encoder 2`` freezes the visual head only.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/probe_base_config.py --out runs/probe/p1 --lr 2e-3 \
        --warmup 150 --max_steps 1800 --eval_steps 300
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--data_dir", default="../shared/data/phoenix-2014t")
    p.add_argument("--cache_dir", default=None)
    p.add_argument("--d_model", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--ffn_mult", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--sched", default="cosine")
    p.add_argument("--bs", type=int, default=32)
    p.add_argument("--max_steps", type=int, required=True)
    p.add_argument("--label_smoothing", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--use_latent", type=int, default=0)
    p.add_argument("--beams", type=int, default=1)
    p.add_argument("--eval_steps", type=int, default=0)
    p.add_argument("--eval_subset", type=int, default=100)
    p.add_argument("--max_train_samples", type=int, default=None)
    p.add_argument("--wall_limit", type=float, default=1e9, help="stop training after this many seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--freeze_encoder",
        type=int,
        default=0,
        help="1: no updates to the visual head and encoder layers; 2: to the visual head only",
    )
    p.add_argument("--init", default=None, help="a saved CV-SLT folder (model + tokenizer) to start from")
    p.add_argument("--text_key", default="text", help="text, or gloss (a recognition diagnostic)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    a = parse_args(argv)
    import torch
    from transformers import TrainerCallback, set_seed
    from transformers.utils import logging as hf_logging

    from signbridge.data.builders import load_sign_dataset
    from signbridge.demo.settings import translator_model_config
    from signbridge.training import (
        CVSLTDataArguments,
        CVSLTModelArguments,
        CVSLTTrainingArguments,
        train_cvslt,
    )

    torch.set_num_threads(1)
    hf_logging.set_verbosity_warning()
    set_seed(a.seed)
    wall0, cpu0 = time.time(), time.process_time()
    ds = load_sign_dataset("phoenix14t_synthetic", data_dir=a.data_dir, cache_dir=a.cache_dir)
    mc = translator_model_config(128, d_model=a.d_model, layers=a.layers)
    mc["max_position_embeddings"] = 128 + 2 + 64
    mc.update(
        encoder_ffn_dim=a.ffn_mult * a.d_model,
        decoder_ffn_dim=a.ffn_mult * a.d_model,
        visual_ffn_dim=a.ffn_mult * a.d_model,
        encoder_attention_heads=a.heads,
        decoder_attention_heads=a.heads,
        label_smoothing=a.label_smoothing,
        dropout=a.dropout,
        visual_dropout=a.dropout,
    )
    model_args = CVSLTModelArguments(
        model_config=mc,
        use_latent=bool(a.use_latent),
        tokenizer_level="word",
        lang_code="de_DE",
        model_name_or_path=a.init,
    )
    data_args = CVSLTDataArguments(
        input_key="features",
        text_key=a.text_key,
        max_target_length=64,
        num_beams=a.beams,
        max_new_tokens=64,
        score_level="word",
        eval_splits="dev",
        save_model=False,
        max_train_samples=a.max_train_samples,
        eval_subset_size=a.eval_subset,
    )
    training_args = CVSLTTrainingArguments(
        output_dir=a.out,
        max_steps=a.max_steps,
        per_device_train_batch_size=a.bs,
        per_device_eval_batch_size=64,
        learning_rate=a.lr,
        visual_head_learning_rate=a.lr,
        latent_network_learning_rate=a.lr,
        adam_beta2=0.998,
        lr_scheduler_type=a.sched,
        warmup_steps=a.warmup,
        max_grad_norm=1.0,
        eval_strategy="steps" if a.eval_steps else "no",
        eval_steps=a.eval_steps or None,
        generation_num_beams=1,
        save_strategy="no",
        logging_steps=25,
        report_to="none",
        use_cpu=True,
        seed=a.seed,
        disable_tqdm=True,
        dataloader_pin_memory=False,
    )
    Path(a.out).mkdir(parents=True, exist_ok=True)
    log_path = Path(a.out, "probe_log.jsonl")

    class Log(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kw):
            self.wall, self.cpu = time.time(), time.process_time()
            if a.freeze_encoder:  # AdamW skips parameters without a gradient
                frozen = list(model.visual_head.parameters())
                if a.freeze_encoder == 1:
                    encoder = model.model.encoder
                    frozen += [
                        *encoder.layers.parameters(),
                        *encoder.embed_positions.parameters(),
                        *encoder.layernorm_embedding.parameters(),
                        *encoder.layer_norm.parameters(),
                    ]
                for prm in frozen:
                    prm.requires_grad_(False)
                print("frozen", sum(prm.numel() for prm in frozen), flush=True)

        def on_log(self, args, state, control, logs=None, **kw):
            rec = {
                "step": state.global_step,
                "epoch": round(state.epoch or 0, 3),
                "wall": round(time.time() - self.wall, 1),
                "cpu": round(time.process_time() - self.cpu, 1),
                **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in (logs or {}).items()},
            }
            print(json.dumps(rec), flush=True)
            with open(log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(rec) + "\n")

        def on_step_end(self, args, state, control, **kw):
            if time.time() - self.wall > a.wall_limit:
                control.should_training_stop = True

    res = train_cvslt(model_args, data_args, training_args, dataset=ds, callbacks=[Log()])
    rows = Path(a.out, "predictions_dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    hyps = [row.split("\t")[0] for row in rows]
    summary = {
        "args": vars(a),
        "num_parameters": res["num_parameters"],
        "train": res["train"],
        "dev": dict(res["dev"]),
        "distinct": len(set(hyps)),
        "n": len(hyps),
        "total_wall": round(time.time() - wall0, 1),
        "total_cpu": round(time.process_time() - cpu0, 1),
    }
    print("SUMMARY", json.dumps(summary, default=str), flush=True)
    Path(a.out, "summary.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    for hyp in hyps[:8]:
        print("HYP", hyp)
    return summary


if __name__ == "__main__":
    main()
