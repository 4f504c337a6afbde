"""Diagnostic of the base-configuration probes (issue 14): do the glosses reach the twin's encoder?

Trains the plain-mBART twin's encoder side (visual head + mBART encoder of ``translator_model_config(128)``)
with a linear gloss classifier and a CTC loss on phoenix14t_synthetic (batch 32, AdamW beta2 0.998, warmup 150 then
cosine), and prints the greedy CTC word error rate on the first 200 dev sentences after every epoch. With a third
argument it saves the model (encoder trained, decoder untouched) and the corpus tokenizer there, for
``benchmarks/probe_base_config.py --init``.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/probe_gloss_ctc.py STEPS LR [SAVE_DIR] [DATA_DIR] [CACHE_DIR]
"""

import json
import sys
import time

import numpy as np
import torch

from signbridge.data.builders import load_sign_dataset
from signbridge.demo.settings import translator_model_config
from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
from signbridge.tokenization import train_corpus_tokenizer

torch.set_num_threads(1)
torch.manual_seed(0)

steps = int(sys.argv[1])
lr = float(sys.argv[2])
save = sys.argv[3] if len(sys.argv) > 3 else None
ds = load_sign_dataset(
    "phoenix14t_synthetic",
    data_dir=sys.argv[4] if len(sys.argv) > 4 else "../shared/data/phoenix-2014t",
    cache_dir=sys.argv[5] if len(sys.argv) > 5 else None,
)
tr = (
    ds["train"]
    .select_columns(["features", "gloss", "text"])
    .with_format("numpy", columns=["features"], output_all_columns=True)
)
dv = (
    ds["dev"]
    .select_columns(["features", "gloss", "text"])
    .with_format("numpy", columns=["features"], output_all_columns=True)
)
vocab = sorted({w for s in tr["gloss"] for w in s.split()})
idx = {w: i + 1 for i, w in enumerate(vocab)}  # 0 blank
mc = translator_model_config(128)
mc["max_position_embeddings"] = 194  # as benchmarks/probe_base_config.py: 128 sign steps + 2 + 64

tok = train_corpus_tokenizer(list(tr["text"]), level="word", lang_code="de_DE")
model = CVSLTForConditionalGeneration(
    CVSLTConfig(
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id if tok.bos_token_id is not None else 0,
        eos_token_id=tok.eos_token_id,
        feature_dim=832,
        tgt_lang_code_id=tok.convert_tokens_to_ids("de_DE"),
        use_latent=False,
        **mc,
    )
)
head = torch.nn.Linear(128, len(vocab) + 1)
params = (
    list(model.visual_head.parameters()) + list(model.model.encoder.parameters()) + list(head.parameters())
)
opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.998), weight_decay=0.0)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min(1.0, (s + 1) / 150) * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))
)
ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)


def batch(rows):
    L = max(len(r["features"]) for r in rows)
    x = np.zeros((len(rows), L, 832), np.float32)
    m = np.zeros((len(rows), L), bool)
    for i, r in enumerate(rows):
        x[i, : len(r["features"])] = r["features"]
        m[i, : len(r["features"])] = True
    return torch.from_numpy(x), torch.from_numpy(m)


def forward(x, m):
    e, mask = model.embed_sign(x, m)
    h = model.model.encoder(inputs_embeds=e, attention_mask=mask.long()).last_hidden_state
    return head(h).log_softmax(-1), mask.sum(1)


def wer(h, r):
    d = list(range(len(r) + 1))
    for i, a in enumerate(h, 1):
        prev, d[0] = d[0], i
        for j, b in enumerate(r, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (a != b))
    return d[len(r)]


def evaluate(n=200):
    model.eval()
    errs = toks = 0
    with torch.no_grad():
        for s in range(0, n, 50):
            rows = [dv[i] for i in range(s, min(n, s + 50))]
            x, m = batch(rows)
            lp, lens = forward(x, m)
            for k, r in enumerate(rows):
                p = lp[k, : lens[k]].argmax(-1).tolist()
                out = [q for j, q in enumerate(p) if q and (j == 0 or q != p[j - 1])]
                ref = [idx.get(w, -1) for w in r["gloss"].split()]
                errs += wer(out, ref)
                toks += len(ref)
    model.train()
    return 100.0 * errs / toks


rng = np.random.default_rng(0)
order = []
t0, c0 = time.time(), time.process_time()
model.train()
for step in range(1, steps + 1):
    if not order:
        order = list(rng.permutation(len(tr)))
    ids = [order.pop() for _ in range(min(32, len(order)))]
    rows = [tr[int(i)] for i in ids]
    x, m = batch(rows)
    lp, lens = forward(x, m)
    tg = [torch.tensor([idx[w] for w in r["gloss"].split()]) for r in rows]
    loss = ctc(lp.transpose(0, 1), torch.cat(tg), lens, torch.tensor([len(t) for t in tg]))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    if step % 222 == 0 or step == steps:
        print(
            json.dumps(
                {
                    "step": step,
                    "epoch": round(step * 32 / len(tr), 2),
                    "loss": round(loss.item(), 3),
                    "dev200_wer": round(evaluate(), 1),
                    "wall": round(time.time() - t0, 1),
                    "cpu": round(time.process_time() - c0, 1),
                }
            ),
            flush=True,
        )

if save:
    model.save_pretrained(save)
    tok.save_pretrained(save)
    print("saved", save)
