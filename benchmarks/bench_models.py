"""Every model side by side with its baseline, in one run: four time ratios, and (``--paper_sizes``) what the papers'
sizes need in parameters, memory and time.

The ratios (issue 13), each side timed in turn (A B, then B A: interleaved, so that a loaded machine slows both
alike), median of ``--repeats`` repetitions after ``--warmup`` untimed ones:

1. CV-SLT training step / plain mBART training step. Same sizes; the baseline is transformers'
   ``MBartForConditionalGeneration`` on the same ``inputs_embeds`` (CV-SLT with the latent network removed, which is
   also printed). AdamW step included. CV-SLT runs two encoder and two decoder passes: the FLOP ratio of the two
   steps (FlopCounterMode, printed under the time row and at other sizes) is the floor, 2.37 at the defaults.
2. CV-SLT beam-5 ``generate`` / mBART beam-5 ``generate``, both forced to ``--target_tokens`` new tokens.
3. and 4. An autoregressive pose producer / ``NARSignProducer.generate_poses``, at batch 1 and 16. The baseline is
   the Progressive Transformers way of producing: the same text encoder, an mBART decoder of the producer's width
   and depth over the previous frames, one frame a step with a key/value cache. Both produce ``--frames`` frames
   per sentence (the producer's regulator is set to that length; ``--max_frames`` is its T_max).

    python benchmarks/bench_models.py                       # the four ratios (a few minutes)
    python benchmarks/bench_models.py --d_model 512 --batch_size 16 --producer_batch_sizes 1 4 32
    python benchmarks/bench_models.py --profile             # where generate_poses spends its time
    python benchmarks/bench_models.py --paper_sizes         # parameters, memory, step time at the papers' sizes
    python benchmarks/bench_models.py --ceiling             # the production ceiling alone (FLOPs, matmul rate)
    python benchmarks/bench_models.py --device cuda --paper_sizes --json_out bench_cuda.json   # on a GPU

After the production ratios the default run prints their ceiling (a few seconds): the FLOPs of each side, the rate
this device gives the decoder's matrix products, and the largest AR/NAR ratio reachable if ``generate_poses`` ran at
that rate. ``--device cuda`` runs the ratios and the ceiling on the GPU (timings synchronised) and, with
``--paper_sizes``, only the GPU rows of that section; ``--json_out`` also writes every result and the printed output
to a JSON file.

Threads: ``--threads`` (default 1; the small models gain nothing from more on a shared CPU).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
from torch import nn
from transformers import BertConfig, BertModel, MBartConfig, MBartForConditionalGeneration
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.models.mbart.modeling_mbart import MBartDecoder

from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration
from signbridge.models.nar_slp import NARSignProducer, NARSignProducerConfig, PoseVAEConfig

GIB = 1024**3

# ==================================================================================== timing


def synchronize(device: str | torch.device = "cpu") -> None:
    """Wait for the device's queued work (CUDA kernels run asynchronously): called before reading a timer."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(
    first: Callable[[], object],
    second: Callable[[], object],
    repeats: int,
    warmup: int,
    device: str | torch.device = "cpu",
) -> tuple[float, float, float]:
    """Median seconds of ``first`` and of ``second``, timed in turn (the order alternates each repetition), and the
    median of the per-repetition ratios first / second. On CUDA each timing is bracketed by synchronisations."""
    for _ in range(warmup):
        first(), second()
    times: dict[int, list[float]] = {0: [], 1: []}
    for repeat in range(repeats):
        order = (0, 1) if repeat % 2 == 0 else (1, 0)
        for side in order:
            synchronize(device)
            start = time.perf_counter()
            (first if side == 0 else second)()
            synchronize(device)
            times[side].append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(times[0], times[1], strict=True)]
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


# ==================================================================================== CV-SLT and its mBART baseline


def cvslt_config(args, vocab_size: int, **overrides) -> CVSLTConfig:
    kwargs = {
        "vocab_size": vocab_size,
        "d_model": args.d_model,
        "encoder_layers": args.layers,
        "decoder_layers": args.layers,
        "encoder_attention_heads": args.heads,
        "decoder_attention_heads": args.heads,
        "encoder_ffn_dim": 4 * args.d_model,
        "decoder_ffn_dim": 4 * args.d_model,
        "max_position_embeddings": args.sign_steps + args.target_tokens + 8,
        "max_sign_positions": args.sign_steps + 4,
        "feature_dim": args.d_model,
        "visual_hidden_size": args.d_model,
        "visual_ffn_dim": 4 * args.d_model,
        "latent_dim": 64,
        "tgt_lang_code_id": vocab_size - 1,
        "kl_annealing_steps": 100,
        "scale_embedding": True,
    }
    kwargs.update(overrides)
    return CVSLTConfig(**kwargs)


def mbart_like(config: CVSLTConfig) -> MBartForConditionalGeneration:
    """transformers' mBART with the CV-SLT config's sizes (an MBartConfig of the same fields)."""
    fields = MBartConfig().to_dict().keys()
    return MBartForConditionalGeneration(
        MBartConfig(**{k: v for k, v in config.to_dict().items() if k in fields})
    )


def translation_inputs(args, vocab_size: int, batch: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    embeds = torch.randn(batch, args.sign_steps, args.d_model, generator=generator)
    labels = torch.randint(4, vocab_size - 1, (batch, args.target_tokens), generator=generator)
    labels[:, -2], labels[:, -1] = (
        2,
        vocab_size - 1,
    )  # "tokens </s> lang_code", as mBART's tokenizer writes them
    inputs = {
        "inputs_embeds": embeds,
        "attention_mask": torch.ones(batch, args.sign_steps, dtype=torch.long),
        "labels": labels,
    }
    return {name: tensor.to(args.device) for name, tensor in inputs.items()}


def train_step(
    model: nn.Module, inputs: dict, autocast_dtype: torch.dtype | None = None
) -> Callable[[], None]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    device = next(model.parameters()).device
    steps = [0]

    def step() -> None:
        if hasattr(model, "set_global_step"):
            model.set_global_step(steps[0])
        steps[0] += 1
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(
            device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None
        ):
            loss = model(**inputs).loss
        loss.backward()
        optimizer.step()

    return step


def train_step_flops(model: nn.Module, inputs: dict) -> float:
    """FLOPs of one training step's forward and backward pass, counted by ``flop_counter`` (matrix products and
    attention, 2 per multiply-add). AdamW's update is left out on every side: it is element-wise work, which
    FlopCounterMode does not count."""
    model.train()
    if hasattr(model, "set_global_step"):
        model.set_global_step(0)
    model.zero_grad(set_to_none=True)
    counter = flop_counter()
    with counter:
        model(**inputs).loss.backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def flop_row(name: str, a_flops: float, b_flops: float) -> dict:
    """A row of the ratio table whose sides are FLOP counts (GFLOP), not times."""
    return {
        "ratio": name,
        "a_s": None,
        "b_s": None,
        "a_gflop": a_flops / 1e9,
        "b_gflop": b_flops / 1e9,
        "ratio_value": a_flops / b_flops,
        "per_repeat": None,
        "goal": "floor",
    }


#: (layers, d_model, heads, vocabulary) of the train-step FLOP ratio's other sizes (64 sign steps, 24 target tokens
#: as the benchmark's; counted at batch 1: every product grows linearly with the batch, so the ratio does not move);
#: a few seconds together on a CPU
FLOP_SIZES = [(3, 256, 4, 30000), (6, 512, 8, 3000)]
#: mbart-large-cc25's dimensions with a 3k vocabulary (``--flop_paper_size``: ~17 s on a loaded CPU core)
FLOP_PAPER_SIZE = (12, 1024, 16, 3000)


def train_step_flop_ratio(args, batch: int = 1) -> dict:
    """The FLOPs of one CV-SLT and one mBART training step (forward + backward) at ``args``' sizes and ``batch``."""
    config = cvslt_config(args, args.vocab_size)
    torch.manual_seed(0)
    inputs = translation_inputs(args, args.vocab_size, batch)
    cvslt_flops = train_step_flops(CVSLTForConditionalGeneration(config).to(args.device), inputs)
    mbart_flops = train_step_flops(mbart_like(config).to(args.device), inputs)
    return {
        "layers": args.layers,
        "d_model": args.d_model,
        "heads": args.heads,
        "vocab_size": args.vocab_size,
        "batch": batch,
        "sign_steps": args.sign_steps,
        "target_tokens": args.target_tokens,
        "cvslt_gflop": cvslt_flops / 1e9,
        "mbart_gflop": mbart_flops / 1e9,
        "flop_ratio": cvslt_flops / mbart_flops,
    }


def flop_ratio_sizes(args, sizes=FLOP_SIZES) -> list[dict]:
    """The train-step FLOP ratio at other sizes (batch 1), printed: how the arithmetic floor moves with the size."""
    print(
        f"\nTrain-step FLOP ratio CV-SLT / mBART at other sizes ({args.sign_steps} sign steps, {args.target_tokens} "
        "target tokens, batch 1: FLOPs grow linearly with the batch; forward + backward, AdamW not counted)"
    )
    print(
        f"{'layers':>6} {'d_model':>7} {'heads':>5} {'vocab':>6} {'CV-SLT GFLOP':>13} {'mBART GFLOP':>12} {'ratio':>6} {'count s':>7}"
    )
    rows = []
    for layers, d_model, heads, vocab in sizes:
        sized = argparse.Namespace(**{**vars(args), "layers": layers, "d_model": d_model, "heads": heads})
        sized.vocab_size = vocab
        start = time.perf_counter()
        row = train_step_flop_ratio(sized)
        row["count_s"] = time.perf_counter() - start
        print(
            f"{layers:>6} {d_model:>7} {heads:>5} {vocab:>6} {row['cvslt_gflop']:>13.4g} {row['mbart_gflop']:>12.4g} "
            f"{row['flop_ratio']:>6.2f} {row['count_s']:>7.1f}",
            flush=True,
        )
        rows.append(row)
    return rows


def translation_ratios(args) -> list[dict]:
    vocab = args.vocab_size
    config = cvslt_config(args, vocab)
    torch.manual_seed(0)
    cvslt = CVSLTForConditionalGeneration(config).to(args.device)
    no_latent = CVSLTForConditionalGeneration(cvslt_config(args, vocab, use_latent=False)).to(args.device)
    mbart = mbart_like(config).to(args.device)
    inputs = translation_inputs(args, vocab, args.batch_size)
    # the arithmetic of one step of each, on the models and inputs timed below (before any step: no weight moves)
    flops = {
        name: train_step_flops(model, inputs)
        for name, model in (("cvslt", cvslt), ("no_latent", no_latent), ("mbart", mbart))
    }
    rows = []
    a, b, r = interleaved(
        train_step(cvslt, inputs), train_step(mbart, inputs), args.repeats, args.warmup, args.device
    )
    rows.append(
        {
            "ratio": "CV-SLT train step / mBART train step",
            "a_s": a,
            "b_s": b,
            "ratio_value": a / b,
            "per_repeat": r,
            "goal": "<= 2.1",
            "flop_ratio": flops["cvslt"] / flops["mbart"],
        }
    )
    rows.append(flop_row("  (FLOP ratio CV-SLT / mBART train step)", flops["cvslt"], flops["mbart"]))
    a, b, r = interleaved(
        train_step(no_latent, inputs), train_step(mbart, inputs), args.repeats, args.warmup, args.device
    )
    rows.append(
        {
            "ratio": "  (CV-SLT without latent network / mBART)",
            "a_s": a,
            "b_s": b,
            "ratio_value": a / b,
            "per_repeat": r,
            "goal": "~1",
            "flop_ratio": flops["no_latent"] / flops["mbart"],
        }
    )
    rows.append(flop_row("  (FLOP ratio without latent network / mBART)", flops["no_latent"], flops["mbart"]))
    # both generate from the same `inputs_embeds` (encoder input embeddings: CV-SLT skips its visual head), each
    # encoding them with its own encoder (CV-SLT's: the mBART encoder, then the prior and the latent fusion)
    kwargs = {
        "num_beams": args.num_beams,
        "max_new_tokens": args.target_tokens,
        "min_new_tokens": args.target_tokens,
    }
    for model in (cvslt, mbart):
        model.eval()
        model.generation_config.decoder_start_token_id = vocab - 1
        model.generation_config.pad_token_id, model.generation_config.eos_token_id = 1, 2
    embeds, mask = inputs["inputs_embeds"], inputs["attention_mask"]

    def generate(model):
        return lambda: model.generate(inputs_embeds=embeds, attention_mask=mask, **kwargs)

    a, b, r = interleaved(generate(cvslt), generate(mbart), args.repeats, args.warmup, args.device)
    rows.append(
        {
            "ratio": f"CV-SLT beam-{args.num_beams} generate / mBART generate",
            "a_s": a,
            "b_s": b,
            "ratio_value": a / b,
            "per_repeat": r,
            "goal": "<= 1.05",
        }
    )
    return rows


# ==================================================================================== the producers


def producer_config(args, num_joints: int = 50, **overrides) -> NARSignProducerConfig:
    text = BertConfig(
        vocab_size=args.vocab_size,
        hidden_size=args.d_model,
        num_hidden_layers=args.text_layers,
        num_attention_heads=args.heads,
        intermediate_size=4 * args.d_model,
        max_position_embeddings=64,
    )
    stats = {"minimum": [[-1.0] * 3] * num_joints, "maximum": [[1.0] * 3] * num_joints}
    vae = PoseVAEConfig(
        num_joints=num_joints, joint_dim=3, hidden_sizes=[256, 128], latent_dim=32, normalization=stats
    )
    return NARSignProducerConfig(
        text_encoder=text,
        pose_vae=vae,
        d_model=args.d_model,
        decoder_layers=args.producer_layers,
        decoder_attention_heads=args.heads,
        decoder_ffn_dim=4 * args.d_model,
        max_frames=args.max_frames,
        special_token_ids=[0, 1, 2],
        **overrides,
    )


def set_length(producer: NARSignProducer, frames: int) -> None:
    """Make the length regulator predict ``frames`` for every text (its last layer's bias sets the ratio)."""
    ratio = (frames - 0.25) / producer.config.max_frames  # rounds to frames
    last = producer.length_regulator.layers[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(math.log(ratio / (1 - ratio)))


_CACHE_KEYWORD = (
    "cache" if "cache" in inspect.signature(MBartDecoder.forward).parameters else "past_key_values"
)


class AutoregressivePoseProducer(nn.Module):
    """Progressive Transformers' way of producing: each frame from the previous ones and the text, one a step.

    The producer's text encoder; an mBART decoder (``layers`` deep, ``d_model`` wide) whose input is the previous
    frame projected to ``d_model`` and whose keys/values are cached, so that a step costs one new position."""

    def __init__(
        self, text_encoder: BertModel, d_model: int, layers: int, heads: int, frame_size: int, max_frames: int
    ):
        super().__init__()
        self.text_encoder = text_encoder
        self.frame_in = nn.Linear(frame_size, d_model)
        self.frame_out = nn.Linear(d_model, frame_size)
        config = MBartConfig(
            vocab_size=4,
            d_model=d_model,
            decoder_layers=layers,
            decoder_attention_heads=heads,
            decoder_ffn_dim=4 * d_model,
            max_position_embeddings=max_frames + 2,
            dropout=0.0,
        )
        self.decoder = MBartDecoder(config)

    @torch.no_grad()
    def generate(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, num_frames: int
    ) -> torch.Tensor:
        self.eval()
        memory = self.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        frame = memory.new_zeros(input_ids.shape[0], 1, self.frame_out.out_features)
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        frames = []
        for _ in range(num_frames):
            hidden = self.decoder(
                inputs_embeds=self.frame_in(frame),
                encoder_hidden_states=memory,
                encoder_attention_mask=attention_mask,
                use_cache=True,
                **{_CACHE_KEYWORD: cache},
            ).last_hidden_state
            frame = self.frame_out(hidden)
            frames.append(frame)
        return torch.cat(frames, dim=1)


def production_inputs(args, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, args.vocab_size, (batch, args.text_tokens), generator=generator)
    ids[:, 0], ids[:, -1] = 1, 2
    return ids.to(args.device), torch.ones_like(ids).to(args.device)


def build_producers(args) -> tuple[NARSignProducer, AutoregressivePoseProducer]:
    torch.manual_seed(0)
    producer = NARSignProducer(producer_config(args)).to(args.device).eval()
    set_length(producer, args.frames)
    vae = producer.config.pose_vae
    autoregressive = AutoregressivePoseProducer(
        producer.text_encoder, args.d_model, args.producer_layers, args.heads, vae.input_dim, args.max_frames
    ).to(args.device)
    return producer, autoregressive.eval()


def production_ratios(args, producers=None) -> list[dict]:
    producer, autoregressive = producers or build_producers(args)
    rows = []
    for batch in args.producer_batch_sizes:
        ids, mask = production_inputs(args, batch)
        produced = producer.generate_poses(ids, mask)
        assert produced.lengths.tolist() == [args.frames] * batch, produced.lengths
        a, b, r = interleaved(
            lambda ids=ids, mask=mask: autoregressive.generate(ids, mask, args.ar_frames),
            lambda ids=ids, mask=mask: producer.generate_poses(ids, mask),
            args.repeats,
            args.warmup,
            args.device,
        )
        goal = {1: ">= 40", 16: ">= 8"}.get(batch, "")
        rows.append(
            {
                "ratio": f"AR producer / NARSignProducer.generate_poses, batch {batch}",
                "a_s": a,
                "b_s": b,
                "ratio_value": a / b,
                "per_repeat": r,
                "goal": goal,
                "producer_batch": batch,
            }
        )
    # the production cut (issue 13, item 1): the same weights with the behaviour of folders saved before it, which
    # decode all T_max frames with every frame attending to all of them
    uncut = NARSignProducer(producer_config(args, mask_frames_beyond_length=False)).to(args.device).eval()
    uncut.load_state_dict(producer.state_dict())
    for batch in args.producer_batch_sizes:
        ids, mask = production_inputs(args, batch)
        a, b, r = interleaved(
            lambda ids=ids, mask=mask: uncut.generate_poses(ids, mask),
            lambda ids=ids, mask=mask: producer.generate_poses(ids, mask),
            args.repeats,
            args.warmup,
            args.device,
        )
        rows.append(
            {
                "ratio": f"  (generate_poses uncut / cut at the length, batch {batch})",
                "a_s": a,
                "b_s": b,
                "ratio_value": a / b,
                "per_repeat": r,
                "goal": "",
            }
        )
    return rows


# ==================================================================================== the compute ceiling


def _attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """Scores and weighted sum of ``aten._scaled_dot_product_flash_attention_for_cpu`` ((batch, heads, length, dim)
    tensors), which FlopCounterMode's table lacks (it has the CUDA kernels): 2 x 2 per multiply-add."""
    batch, heads, query_length, dim = query_shape
    return 2 * batch * heads * query_length * key_shape[-2] * (dim + value_shape[-1])


def _native_mha_flops(query_shape, key_shape, value_shape, embed_dim, *args, out_shape=None, **kwargs) -> int:
    """``aten._native_multi_head_attention``, the fused inference path of ``nn.MultiheadAttention`` (the NAR decoder's
    self-attention in eval mode), which FlopCounterMode does not count: the q, k, v and output projections and the
    attention itself ((batch, length, embed_dim) inputs)."""
    batch, query_length, _ = query_shape
    key_length = key_shape[-2]
    projections = 2 * batch * embed_dim * embed_dim * (2 * query_length + 2 * key_length)
    return projections + 4 * batch * query_length * key_length * embed_dim


def _attention_backward_flops(
    grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs
) -> int:
    """``aten._scaled_dot_product_flash_attention_for_cpu_backward``: the gradients of the scores and of the values,
    then of the queries and of the keys, four products where the forward pass has two (FlopCounterMode's own rule for
    the CUDA kernels' backward; the recomputation of the scores is not counted)."""
    return 2 * _attention_flops(query_shape, key_shape, value_shape)


def flop_counter():
    """torch's FlopCounterMode with the attention kernels its table lacks added: the CPU's fused scaled-dot-product
    attention (forward and backward) and ``nn.MultiheadAttention``'s fused inference path."""
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    custom = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        custom[aten._scaled_dot_product_flash_attention_for_cpu] = _attention_flops
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu_backward"):
        custom[aten._scaled_dot_product_flash_attention_for_cpu_backward] = _attention_backward_flops
    if hasattr(aten, "_native_multi_head_attention"):
        custom[aten._native_multi_head_attention] = _native_mha_flops
    return FlopCounterMode(display=False, custom_mapping=custom)


def count_flops(fn: Callable[[], object]) -> float:
    """FLOPs of one call of ``fn`` as torch's FlopCounterMode counts them (matrix products, attention, convolutions:
    2 per multiply-add; element-wise work is not counted), with the attention kernels its table lacks added
    (``flop_counter``)."""
    counter = flop_counter()
    with counter, torch.no_grad():
        fn()
    return float(counter.get_total_flops())


def matmul_rate(rows: int, shapes: list[tuple[int, int]], device: str, min_seconds: float = 0.05) -> float:
    """The best FLOP/s of ``F.linear`` (fp32, bias included: the ``addmm`` of the decoder's layers) over ``shapes``
    ((in, out) features) at ``rows`` rows, on ``device`` with the threads set: what the hardware gives those
    products."""
    generator = torch.Generator().manual_seed(0)
    best = 0.0
    for features_in, features_out in shapes:
        x = torch.randn(rows, features_in, generator=generator).to(device)
        weight = torch.randn(features_out, features_in, generator=generator).to(device)
        bias = torch.randn(features_out, generator=generator).to(device)
        for _ in range(3):
            nn.functional.linear(x, weight, bias)
        synchronize(device)
        calls, start = 0, time.perf_counter()
        while True:
            for _ in range(5):
                nn.functional.linear(x, weight, bias)
            calls += 5
            synchronize(device)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = max(best, 2 * rows * features_in * features_out * calls / elapsed)
    return best


def production_ceiling(
    args, producers=None, measured: dict[int, tuple[float, float]] | None = None
) -> list[dict]:
    """The NAR producer's compute-bound argument as a measurement, at each producer batch size: the FLOPs of one
    ``generate_poses`` call and of the AR producer's whole generation (FlopCounterMode), their times (the production
    ratios' medians when given in ``measured`` {batch: (AR s, NAR s)}, else timed here), the achieved GFLOP/s, the
    matmul rate of this device on the decoder's own shapes (rows = frames x batch for the NAR producer, batch for the
    AR producer's steps; d_model x FFN, FFN x d_model, d_model x d_model), the lower bound time FLOPs / rate, and the
    largest AR/NAR ratio reachable if ``generate_poses`` ran at that rate (AR time measured / NAR lower bound)."""
    producer, autoregressive = producers or build_producers(args)
    d_model, ffn = args.d_model, 4 * args.d_model
    shapes = [(d_model, ffn), (ffn, d_model), (d_model, d_model)]
    rows = []
    for batch in args.producer_batch_sizes:
        ids, mask = production_inputs(args, batch)

        def nar(ids=ids, mask=mask):
            return producer.generate_poses(ids, mask)

        def ar(ids=ids, mask=mask):
            return autoregressive.generate(ids, mask, args.ar_frames)

        if measured and batch in measured:
            ar_s, nar_s = measured[batch]
        else:
            ar_s, nar_s, _ = interleaved(ar, nar, args.repeats, args.warmup, args.device)
        nar_flops, ar_flops = count_flops(nar), count_flops(ar)
        nar_rate = matmul_rate(args.frames * batch, shapes, args.device)
        ar_rate = matmul_rate(batch, shapes, args.device)
        nar_bound, ar_bound = nar_flops / nar_rate, ar_flops / ar_rate
        for side, flops, seconds, rate, bound in (
            ("NAR", nar_flops, nar_s, nar_rate, nar_bound),
            ("AR", ar_flops, ar_s, ar_rate, ar_bound),
        ):
            rows.append(
                {
                    "side": side,
                    "batch": batch,
                    "flops": flops,
                    "seconds": seconds,
                    "achieved_gflops": flops / seconds / 1e9,
                    "matmul_gflops": rate / 1e9,
                    "lower_bound_s": bound,
                    "measured_ratio": ar_s / nar_s,
                    "ceiling_ratio": ar_s / nar_bound,
                }
            )
    return rows


def print_ceiling(args, rows: list[dict]) -> None:
    threads = "" if torch.device(args.device).type == "cuda" else f", {args.threads} thread(s)"
    print(
        f"\nCeiling on {args.device}{threads}: FLOPs counted by FlopCounterMode (matrix products and attention, "
        "2 per multiply-add); time = median of the interleaved repetitions (the production ratios' own when they "
        "ran); matmul rate = fp32 F.linear on the decoder's shapes (rows = frames x batch for generate_poses, "
        "batch for an AR step; d_model x FFN, FFN x d_model, d_model x d_model), the best of them; lower bound = "
        "FLOPs / matmul rate; ceiling AR/NAR = AR time measured / NAR lower bound."
    )
    print(
        f"{'side':<5} {'batch':>5} {'GFLOP':>9} {'time ms':>9} {'GFLOP/s':>9} {'matmul GFLOP/s':>15} "
        f"{'lower bound ms':>15} {'AR/NAR measured':>16} {'ceiling AR/NAR':>15}"
    )
    for row in rows:
        ratios = (
            f"{row['measured_ratio']:>16.2f} {row['ceiling_ratio']:>15.2f}"
            if row["side"] == "NAR"
            else f"{'':>16} {'':>15}"
        )
        print(
            f"{row['side']:<5} {row['batch']:>5} {row['flops'] / 1e9:>9.4g} {1000 * row['seconds']:>9.4g} "
            f"{row['achieved_gflops']:>9.4g} {row['matmul_gflops']:>15.4g} {1000 * row['lower_bound_s']:>15.4g} "
            f"{ratios}"
        )


def median_ms(fn: Callable[[], object], repeats: int = 9, device: str = "cpu") -> float:
    fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def profile_production(args) -> None:
    """The profiler's table of ``generate_poses`` at each producer batch size (self CPU time per operator)."""
    from torch.profiler import ProfilerActivity, profile

    producer, _ = build_producers(args)
    for batch in args.producer_batch_sizes:
        ids, mask = production_inputs(args, batch)
        for _ in range(3):
            producer.generate_poses(ids, mask)
        cuda = torch.device(args.device).type == "cuda"
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            for _ in range(5):
                producer.generate_poses(ids, mask)
            synchronize(args.device)
        print(f"\n--- generate_poses, batch {batch}, {args.frames} of {args.max_frames} frames, 5 calls ---")
        sort_by = "self_device_time_total" if cuda else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=sort_by, row_limit=18))
        with torch.no_grad():
            encoder_ms = median_ms(
                functools.partial(producer.text_encoder, input_ids=ids, attention_mask=mask),
                device=args.device,
            )
        total_ms = median_ms(functools.partial(producer.generate_poses, ids, mask), device=args.device)
        print(f"text encoder {encoder_ms:.2f} ms of generate_poses {total_ms:.2f} ms (medians of 9)")


# ==================================================================================== paper sizes


def paper_cvslt_config() -> CVSLTConfig:
    """CV-SLT on mbart-large-cc25's dimensions with a pruned vocabulary of about 3k tokens (PHOENIX14T's German)."""
    return CVSLTConfig(
        vocab_size=3000,
        d_model=1024,
        encoder_layers=12,
        decoder_layers=12,
        encoder_attention_heads=16,
        decoder_attention_heads=16,
        encoder_ffn_dim=4096,
        decoder_ffn_dim=4096,
        max_position_embeddings=1024,
        scale_embedding=True,
        feature_dim=832,
        tgt_lang_code_id=2999,
        kl_annealing_steps=4000,
    )


def paper_producer_config() -> NARSignProducerConfig:
    """NAR-SLP: BERT-base text encoder (German BERT's 30k vocabulary), the paper's decoder (768-d, 8 layers, 8 heads,
    FFN 2048, T_max 300), a pose VAE over 50 joints x 3."""
    stats = {"minimum": [[-1.0] * 3] * 50, "maximum": [[1.0] * 3] * 50}
    vae = PoseVAEConfig(
        num_joints=50, joint_dim=3, hidden_sizes=[512, 256], latent_dim=64, normalization=stats
    )
    return NARSignProducerConfig(
        text_encoder=BertConfig(vocab_size=30000), pose_vae=vae, special_token_ids=[0, 1, 2]
    )


PAPER_SIGN_STEPS, PAPER_TARGET_TOKENS, PAPER_TEXT_TOKENS = 64, 24, 24


def paper_model_and_inputs(name: str, batch: int, device: str = "cpu"):
    """(model, training inputs, tokens counted for throughput) of ``name`` ("cvslt" or "nar_slp") at ``batch``."""
    generator = torch.Generator().manual_seed(0)
    # built on the device (CUDA: no CPU initialisation of the weights), then moved there again for any CPU leftover
    with torch.device(device):
        model = (
            CVSLTForConditionalGeneration(paper_cvslt_config())
            if name == "cvslt"
            else NARSignProducer(paper_producer_config())
        )
    if name == "cvslt":
        labels = torch.randint(4, 2998, (batch, PAPER_TARGET_TOKENS), generator=generator)
        labels[:, -2], labels[:, -1] = 2, 2999
        inputs = {
            "input_features": torch.randn(batch, PAPER_SIGN_STEPS, 832, generator=generator),
            "attention_mask": torch.ones(batch, PAPER_SIGN_STEPS, dtype=torch.long),
            "labels": labels,
        }
        tokens = batch * PAPER_TARGET_TOKENS
    else:
        frames = (
            model.config.max_frames
        )  # the longest sentence of a batch sets the work: the worst case, T_max
        ids = torch.randint(3, 30000, (batch, PAPER_TEXT_TOKENS), generator=generator)
        ids[:, 0], ids[:, -1] = 1, 2
        inputs = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "pose_labels": torch.rand(batch, frames, 50, 3, generator=generator),
            "pose_mask": torch.ones(batch, frames, dtype=torch.long),
        }
        tokens = batch * frames
    return model.to(device), {k: v.to(device) for k, v in inputs.items()}, tokens


def step_flops(name: str, device: str = "cpu") -> float:
    """FLOPs of one training step (forward + backward) per sample, counted by torch's FlopCounterMode at batch 1, with
    the CPU's attention kernels added (``flop_counter``; before, a CPU count left them out: 219 GFLOP for CV-SLT, now
    221.5, where the GPU's count, whose attention kernels FlopCounterMode knows, gives 221.9)."""
    model, inputs, _ = paper_model_and_inputs(name, 1, device)
    model.train()
    if hasattr(model, "set_global_step"):
        model.set_global_step(0)
    counter = flop_counter()
    with counter:
        model(**inputs).loss.backward()
    flops = float(counter.get_total_flops())
    del model, inputs
    if device == "cuda":
        torch.cuda.empty_cache()
    return flops


def measure_step(name: str, batch: int, dtype: str, device: str) -> dict:
    """One process, one configuration: parameters, training steps (AdamW; bf16 = autocast with fp32 weights), the
    first untimed, then the time (CPU: the second step; CUDA: the median of the next 3), and the peak memory (CPU: the
    process's peak resident set; CUDA: torch's peak allocation)."""
    torch.manual_seed(0)
    model, inputs, tokens = paper_model_and_inputs(name, batch, device)
    step = train_step(model, inputs, torch.bfloat16 if dtype == "bf16" else None)
    saved: dict[tuple, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        # the activations autograd keeps for the backward pass, each storage counted once (parameters excluded)
        if not isinstance(tensor, nn.Parameter):
            storage = tensor.untyped_storage()
            saved[(storage.data_ptr(), tensor.device.type)] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(3):  # the median of 3 steps: one GPU step is short enough to be noisy
            start = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
    else:
        start = time.perf_counter()
        step()
        seconds = time.perf_counter() - start
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "step_s": seconds,
        "peak_bytes": peak,
        "activation_bytes": sum(saved.values()),
        "tokens_per_s": tokens / seconds,
    }


def measure_in_subprocess(name: str, batch: int, dtype: str, device: str, threads: int) -> dict:
    """``measure_step`` in a fresh process, so that its peak memory is this configuration's alone."""
    code = (
        "import json, sys, torch; sys.path.insert(0, sys.argv[5]); torch.set_num_threads(int(sys.argv[6])); "
        "from bench_models import measure_step; "
        "print(json.dumps(measure_step(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run(
        [sys.executable, "-c", code, name, str(batch), dtype, device, here, str(threads)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(
            f"measuring {name} batch {batch} {dtype} on {device} failed:\n{run.stderr[-2000:]}"
        )
    return json.loads(run.stdout.strip().splitlines()[-1])


#: dense bf16 peak TFLOP/s of common GPUs (vendor data sheets), for the model FLOPs utilisation
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10": 125.0,
    "L4": 121.0,
    "4090": 165.0,
}


def measured_bf16_tflops(size: int = 8192, calls: int = 20) -> float:
    """The GPU's achieved dense bf16 matmul rate (size x size x size products), the practical peak for the MFU."""
    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(calls):
        a @ b
    torch.cuda.synchronize()
    return 2 * size**3 * calls / (time.perf_counter() - start) / 1e12


def paper_sizes(args, results: list | None = None, save: Callable[[], None] = lambda: None) -> list[dict]:
    """The paper sizes' table; each row is also appended to ``results`` and ``save`` called after it."""
    budget = args.memory_budget_gib * GIB
    if args.device == "cuda":  # the GPU rows only: the CPU ones take minutes
        devices = [("cuda", "bf16")]
    else:
        devices = [("cpu", dtype) for dtype in ("fp32", "bf16")]
        if torch.cuda.is_available():
            devices.append(("cuda", "bf16"))
    spec_peak = measured_peak = None
    if any(device == "cuda" for device, _ in devices):
        gpu = torch.cuda.get_device_name()
        spec_peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in gpu), None)
        measured_peak = measured_bf16_tflops()
        print(
            f"\nGPU: {gpu}, {torch.cuda.get_device_properties(0).total_memory / GIB:.0f} GiB; dense bf16 peak "
            f"{spec_peak or '?'} TFLOP/s ({'--peak_tflops' if args.peak_tflops else 'data sheet'}), measured "
            f"{measured_peak:.0f} TFLOP/s (8192^3 bf16 matmuls)"
        )
    small, large = args.paper_batch_sizes
    print(
        f"\nPaper sizes: one training step (AdamW; bf16 = autocast, fp32 weights), batches {small} and {large}; "
        f"CV-SLT: {PAPER_SIGN_STEPS} sign steps, {PAPER_TARGET_TOKENS} target tokens; NAR-SLP: {PAPER_TEXT_TOKENS} "
        f"text tokens, T_max frames. Largest batch in {args.memory_budget_gib:g} GiB: (budget - fixed) / per-sample, "
        "per-sample = the growth with the batch of the activations a step keeps for its backward pass (saved-tensor "
        "hooks), fixed = the "
        "peak at the small batch less its activations (weights, gradients, AdamW state, runtime). Peak: CPU, the process's peak "
        "resident set (runtime included); CUDA, torch's peak allocation. tok/s: target tokens (CV-SLT), frames "
        "(NAR-SLP) per second. TFLOP/s: FlopCounterMode's count of a step over its time."
    )
    header = (
        f"{'model':>8} {'device':>6} {'dtype':>5} {'params':>8} {'peak@' + str(small):>9} {'peak@' + str(large):>9} "
        f"{'per-sample':>10} {'max batch':>9} {'timed at':>8} {'step':>8} {'tok/s':>8} {'TFLOP/s':>8} {'MFU':>6} "
        f"{'MFU meas':>8}"
    )
    print(header)
    results = [] if results is None else results
    for name in ("cvslt", "nar_slp"):
        flops_per_sample = step_flops(name, "cuda" if args.device == "cuda" else "cpu")
        for device, dtype in devices:
            low = measure_in_subprocess(name, small, dtype, device, args.threads)
            high = measure_in_subprocess(name, large, dtype, device, args.threads)
            # per sample: the activations kept for the backward pass (saved-tensor hooks: exact, where the peaks'
            # difference drowns in allocator noise at small batches); fixed: the peak at the small batch less them
            # (the slope between the two batches: autocast's bf16 weight copies, also saved, do not grow with it)
            per_sample = max((high["activation_bytes"] - low["activation_bytes"]) / (large - small), 1.0)
            fixed = low["peak_bytes"] - small * per_sample
            max_batch = max(int((budget - fixed) // per_sample), 0)
            timed_batch, timed = large, high
            if device == "cuda" and min(max_batch, args.cuda_batch_size) > large:
                # the throughput at a batch that keeps the GPU busy, within the budget
                timed_batch = min(max_batch, args.cuda_batch_size)
                timed = measure_in_subprocess(name, timed_batch, dtype, device, args.threads)
            tflops = flops_per_sample * timed_batch / timed["step_s"] / 1e12
            mfu = mfu_measured = ""
            if device == "cuda":
                mfu = f"{100 * tflops / spec_peak:.1f}%" if spec_peak else "?"
                mfu_measured = f"{100 * tflops / measured_peak:.1f}%"
            print(
                f"{name:>8} {device:>6} {dtype:>5} {high['parameters'] / 1e6:>7.1f}M {low['peak_bytes'] / GIB:>8.2f}G "
                f"{high['peak_bytes'] / GIB:>8.2f}G {per_sample / GIB * 1024:>7.0f}MiB {max_batch:>9} "
                f"{timed_batch:>8} {timed['step_s']:>7.2f}s {timed['tokens_per_s']:>8.3g} {tflops:>8.3f} {mfu:>6} "
                f"{mfu_measured:>8}",
                flush=True,
            )
            results.append(
                {
                    "model": name,
                    "device": device,
                    "dtype": dtype,
                    "parameters": high["parameters"],
                    "peak_bytes_small": low["peak_bytes"],
                    "peak_bytes_large": high["peak_bytes"],
                    "per_sample_bytes": per_sample,
                    "max_batch": max_batch,
                    "timed_batch": timed_batch,
                    "step_s": timed["step_s"],
                    "tokens_per_s": timed["tokens_per_s"],
                    "tflops": tflops,
                    "flops_per_sample": flops_per_sample,
                    "peak_tflops_spec": spec_peak if device == "cuda" else None,
                    "peak_tflops_measured": measured_peak if device == "cuda" else None,
                }
            )
            if device == "cuda":
                memory = torch.cuda.get_device_properties(0).total_memory
                results[-1]["max_batch_in_gpu_memory"] = max(int((memory - fixed) // per_sample), 0)
                print(
                    f"{'':>8} (largest batch in this GPU's {memory / GIB:.0f} GiB: "
                    f"{results[-1]['max_batch_in_gpu_memory']})"
                )
            save()
        print(f"{'':>8} ({flops_per_sample / 1e9:.0f} GFLOP per sample per training step, FlopCounterMode)")
    if not torch.cuda.is_available():
        print("(no CUDA device: the GPU rows, with model FLOPs utilisation, appear where one is present)")
    return results


# ==================================================================================== main


def print_rows(rows: list[dict]) -> None:
    print(f"{'ratio':<58} {'A s':>9} {'B s':>9} {'A/B':>7} {'per-rep':>8} {'goal':>8}")
    for row in rows:
        if row["a_s"] is None:  # a FLOP row: its sides in GFLOP (FlopCounterMode), one count, no repetitions
            sides = f"{row['a_gflop']:>7.4g} G {row['b_gflop']:>7.4g} G"
            per_repeat = ""
        else:
            sides = f"{row['a_s']:>9.4f} {row['b_s']:>9.4f}"
            per_repeat = f"{row['per_repeat']:.2f}"
        print(f"{row['ratio']:<58} {sides} {row['ratio_value']:>7.2f} {per_repeat:>8} {row['goal']:>8}")
    if any(row["a_s"] is None for row in rows):
        print(
            "(FLOP rows: A and B in GFLOP of one training step, forward + backward, counted by FlopCounterMode with "
            "the CPU's attention kernels added; AdamW's element-wise update not counted)"
        )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--d_model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3, help="CV-SLT / mBART encoder and decoder layers")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab_size", type=int, default=3000)
    parser.add_argument("--batch_size", type=int, default=8, help="CV-SLT / mBART batch")
    parser.add_argument("--sign_steps", type=int, default=64)
    parser.add_argument("--target_tokens", type=int, default=24)
    parser.add_argument("--num_beams", type=int, default=5)
    parser.add_argument("--producer_layers", type=int, default=4)
    parser.add_argument("--text_layers", type=int, default=2, help="the producers' BERT text encoder layers")
    parser.add_argument("--text_tokens", type=int, default=16)
    parser.add_argument("--max_frames", type=int, default=200, help="the NAR producer's T_max")
    parser.add_argument("--frames", type=int, default=None, help="frames produced per sentence (T_max / 2)")
    parser.add_argument(
        "--ar_frames",
        type=int,
        default=None,
        help="frames the AR producer makes (default --frames: the same work)",
    )
    parser.add_argument("--producer_batch_sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--device",
        default="cpu",
        choices=["cpu", "cuda"],
        help="where the ratios and the ceiling run (cuda: synchronised timings); with --paper_sizes, cuda runs "
        "only the GPU rows",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="only the production ceiling: FLOPs, achieved and matmul GFLOP/s, the largest AR/NAR ratio reachable "
        "(it also runs after the production ratios by default)",
    )
    parser.add_argument(
        "--skip_ceiling", action="store_true", help="leave the ceiling out of the default run"
    )
    parser.add_argument(
        "--json_out", default=None, help="also write every result and the printed output to this JSON file"
    )
    parser.add_argument("--skip_translation", action="store_true")
    parser.add_argument("--skip_production", action="store_true")
    parser.add_argument(
        "--skip_flop_sizes",
        action="store_true",
        help="leave out the train-step FLOP ratio at other sizes (counted after the ratio table, batch 1)",
    )
    parser.add_argument(
        "--flop_paper_size",
        action="store_true",
        help="add 12+12 layers, d_model 1024, vocabulary 3000 to those sizes (a real step at batch 1: ~17 s on a CPU)",
    )
    parser.add_argument("--profile", action="store_true", help="print the profile of generate_poses and stop")
    parser.add_argument(
        "--paper_sizes", action="store_true", help="also the papers' sizes (many minutes on a CPU)"
    )
    parser.add_argument("--paper_batch_sizes", type=int, nargs=2, default=[1, 2])
    parser.add_argument("--memory_budget_gib", type=float, default=16.0)
    parser.add_argument("--cuda_batch_size", type=int, default=32, help="batch of the CUDA throughput row")
    parser.add_argument(
        "--peak_tflops", type=float, default=None, help="the GPU's dense bf16 peak, for the MFU"
    )
    args = parser.parse_args(argv)
    if args.frames is None:
        args.frames = args.max_frames // 2
    if args.ar_frames is None:
        args.ar_frames = args.frames
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    if not 1 <= args.frames <= args.max_frames:
        parser.error(f"--frames must lie in [1, --max_frames={args.max_frames}], got {args.frames}")
    return args


class _Tee:
    """Writes to the terminal and keeps a copy (for ``--json_out``)."""

    def __init__(self, stream):
        self.stream, self.copy = stream, []

    def write(self, text: str) -> int:
        self.copy.append(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def environment(args) -> dict:
    try:
        with open("/proc/loadavg") as file:
            loadavg = file.read().split()[:3]
    except OSError:
        loadavg = None
    import transformers

    info = {
        "argv": sys.argv,
        "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_count": os.cpu_count(),
        "loadavg": loadavg,
        "device": args.device,
    }
    if torch.device(args.device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info


def main(argv=None) -> None:
    args = parse_args(argv)
    results: dict = {"environment": environment(args), "args": vars(args)}
    tee = _Tee(sys.stdout) if args.json_out else None

    def save() -> None:
        """Write what is known so far (after each section and each paper-size row, so that a run stopped by a time
        limit still leaves its results)."""
        if tee is not None:
            results["output"] = "".join(tee.copy)
            with open(args.json_out, "w") as file:
                json.dump(results, file, indent=1, default=str)

    previous_handler = None
    if tee is not None:
        sys.stdout = tee
        # `timeout` sends SIGTERM: end through the `finally` below, which writes the JSON
        previous_handler = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        run(args, results, save)
        results.pop("error", None)
    except BaseException as error:
        results["error"] = repr(error)
        raise
    finally:
        if tee is not None:
            signal.signal(signal.SIGTERM, previous_handler)
            save()
            sys.stdout = tee.stream
            print(f"results written to {args.json_out}")


def run(args, results: dict, save: Callable[[], None] = lambda: None) -> None:
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs; medians of {args.repeats} "
        f"interleaved repetitions after {args.warmup} warm-up ones; A/B = ratio of the medians, per-rep = median of "
        "the per-repetition ratios"
    )
    if args.profile:
        profile_production(args)
        return
    rows = []
    cuda = torch.device(args.device).type == "cuda"
    if cuda:
        print(f"device: {torch.cuda.get_device_name()} (every timing between two torch.cuda.synchronize())")
    if not args.skip_translation and not args.ceiling:
        print(
            f"CV-SLT / mBART: d_model {args.d_model}, {args.layers}+{args.layers} layers, vocabulary {args.vocab_size}, "
            f"batch {args.batch_size}, {args.sign_steps} sign steps, {args.target_tokens} target tokens"
        )
        rows += translation_ratios(args)
    producers = None
    if not args.skip_production and not args.ceiling:
        print(
            f"producers: d_model {args.d_model}, {args.producer_layers} decoder layers, {args.text_layers}-layer text "
            f"encoder, {args.text_tokens} text tokens, {args.frames} frames produced (T_max {args.max_frames}; the AR "
            f"producer: {args.ar_frames})"
        )
        producers = build_producers(args)
        rows += production_ratios(args, producers)
    if rows:
        print_rows(rows)
        results["ratios"] = rows
        save()
    if not args.skip_translation and not args.ceiling and not args.skip_flop_sizes:
        start = time.perf_counter()
        sizes = FLOP_SIZES + ([FLOP_PAPER_SIZE] if args.flop_paper_size else [])
        results["train_step_flops"] = flop_ratio_sizes(args, sizes)
        print(f"(the FLOP counts took {time.perf_counter() - start:.1f} s)")
        save()
    if args.ceiling or not (args.skip_production or args.skip_ceiling):
        # the production ratios' medians when they ran (the same calls), else timed here
        measured = {
            row["producer_batch"]: (row["a_s"], row["b_s"]) for row in rows if "producer_batch" in row
        }
        start = time.perf_counter()
        results["ceiling"] = production_ceiling(args, producers, measured)
        print_ceiling(args, results["ceiling"])
        print(f"(the ceiling took {time.perf_counter() - start:.1f} s)")
        save()
    if args.paper_sizes:
        results["paper_sizes"] = []
        paper_sizes(args, results["paper_sizes"], save)


if __name__ == "__main__":
    main()
