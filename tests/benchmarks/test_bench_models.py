"""benchmarks/bench_models.py: its autoregressive baseline really uses its cache, and a tiny run prints every ratio."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_models.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_models", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY = [
    "--d_model", "16", "--heads", "2", "--layers", "1", "--vocab_size", "50", "--batch_size", "2",
    "--sign_steps", "6", "--target_tokens", "4", "--num_beams", "2", "--producer_layers", "1", "--text_layers", "1",
    "--text_tokens", "5", "--max_frames", "12", "--producer_batch_sizes", "1", "2", "--repeats", "1", "--warmup", "0",
]  # fmt: skip


def test_autoregressive_producer_with_cache_equals_recomputing_every_prefix(bench):
    """The baseline's key/value cache changes no frame: each step equals the decoder run on the whole prefix."""
    args = bench.parse_args(TINY)
    torch.manual_seed(0)
    _, autoregressive = bench.build_producers(args)
    ids, mask = bench.production_inputs(args, 2)
    cached = autoregressive.generate(ids, mask, 5)
    with torch.no_grad():
        memory = autoregressive.text_encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        inputs = memory.new_zeros(2, 1, autoregressive.frame_out.out_features)
        frames = []
        for _ in range(5):
            hidden = autoregressive.decoder(
                inputs_embeds=autoregressive.frame_in(inputs),
                encoder_hidden_states=memory,
                encoder_attention_mask=mask,
                use_cache=False,
            ).last_hidden_state
            frames.append(autoregressive.frame_out(hidden[:, -1:]))
            inputs = torch.cat([inputs, frames[-1]], dim=1)
    assert cached.shape == (2, 5, autoregressive.frame_out.out_features)
    torch.testing.assert_close(cached, torch.cat(frames, dim=1), rtol=1e-4, atol=1e-5)


def test_the_producers_make_the_same_number_of_frames(bench):
    args = bench.parse_args(TINY)
    producer, autoregressive = bench.build_producers(args)
    ids, mask = bench.production_inputs(args, 2)
    assert args.frames == 6
    assert producer.generate_poses(ids, mask).lengths.tolist() == [6, 6]
    assert autoregressive.generate(ids, mask, args.ar_frames).shape[1] == 6


def test_a_tiny_run_prints_every_ratio(bench, capsys):
    threads = torch.get_num_threads()
    try:
        bench.main(TINY)
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    for row in (
        "CV-SLT train step / mBART train step",
        "CV-SLT beam-2 generate / mBART generate",
        "AR producer / NARSignProducer.generate_poses, batch 1",
        "AR producer / NARSignProducer.generate_poses, batch 2",
        "(generate_poses uncut / cut at the length, batch 2)",
    ):
        assert row in out


def test_the_train_step_flop_ratio_is_finite_and_above_one_and_a_half(bench, capsys, tmp_path):
    """CV-SLT runs two encoder and two decoder passes a step: its FLOPs (forward + backward, attention included) are
    well above mBART's; the ratio is in the table, in the JSON, and the same at batch 1 as at the benchmark's."""
    args = bench.parse_args(TINY)
    one, two = bench.train_step_flop_ratio(args, batch=1), bench.train_step_flop_ratio(args, batch=2)
    assert math.isfinite(one["flop_ratio"]) and one["flop_ratio"] > 1.5, one
    assert math.isclose(one["flop_ratio"], two["flop_ratio"], rel_tol=1e-9)
    assert math.isclose(two["cvslt_gflop"], 2 * one["cvslt_gflop"], rel_tol=1e-9)
    threads = torch.get_num_threads()
    out_file = tmp_path / "bench.json"
    try:
        bench.main([*TINY, "--skip_production", "--json_out", str(out_file)])
    finally:
        torch.set_num_threads(threads)
    assert "(FLOP ratio CV-SLT / mBART train step)" in capsys.readouterr().out
    saved = json.loads(out_file.read_text())
    time_row = next(row for row in saved["ratios"] if row["ratio"] == "CV-SLT train step / mBART train step")
    flop_row = next(
        row for row in saved["ratios"] if row["ratio"] == "  (FLOP ratio CV-SLT / mBART train step)"
    )
    assert math.isclose(time_row["flop_ratio"], flop_row["ratio_value"]) and flop_row["ratio_value"] > 1.5
    assert [row["layers"] for row in saved["train_step_flops"]] == [size[0] for size in bench.FLOP_SIZES]
    assert all(
        math.isfinite(row["flop_ratio"]) and row["flop_ratio"] > 1.5 for row in saved["train_step_flops"]
    )


def test_the_cpu_attention_kernels_are_counted_forward_and_backward(bench):
    """FlopCounterMode's table lacks the CPU's fused attention; the benchmark's counter adds it (scores and weighted
    sum: 4 x batch x heads x L x S x dim forward, twice that backward)."""
    query = torch.randn(2, 3, 5, 8, requires_grad=True)
    key, value = torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8)
    counter = bench.flop_counter()
    with counter:
        torch.nn.functional.scaled_dot_product_attention(query, key, value).sum().backward()
    assert counter.get_total_flops() == 3 * 4 * 2 * 3 * 5 * 7 * 8


def test_frames_outside_t_max_are_refused(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--max_frames", "10", "--frames", "11"])


def test_the_ceiling_prints_finite_positive_values_and_writes_them_to_json(bench, capsys, tmp_path):
    """`--ceiling`: per side and batch, FLOPs, time, achieved and matmul GFLOP/s, the lower bound, and (NAR rows) the
    measured and the largest reachable AR/NAR ratio, all finite and positive; `--json_out` holds the same rows."""
    threads = torch.get_num_threads()
    out_file = tmp_path / "bench.json"
    try:
        bench.main([*TINY, "--device", "cpu", "--ceiling", "--json_out", str(out_file)])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "CV-SLT train step" not in out  # --ceiling runs the ceiling alone
    lines = [line.split() for line in out.splitlines() if line.split()[:1] in (["NAR"], ["AR"])]
    assert [(line[0], line[1]) for line in lines] == [("NAR", "1"), ("AR", "1"), ("NAR", "2"), ("AR", "2")]
    for line in lines:
        values = [float(value) for value in line[2:]]
        assert len(values) == (7 if line[0] == "NAR" else 5)
        assert all(math.isfinite(value) and value > 0 for value in values), line
    saved = json.loads(out_file.read_text())
    assert len(saved["ceiling"]) == 4
    for row in saved["ceiling"]:
        for key in ("flops", "seconds", "achieved_gflops", "matmul_gflops", "lower_bound_s", "ceiling_ratio"):
            assert math.isfinite(row[key]) and row[key] > 0, (key, row)
    assert saved["environment"]["device"] == "cpu"
    assert "Ceiling on cpu" in saved["output"]


def test_the_default_run_ends_with_the_ceiling_and_device_cpu_changes_nothing(bench, capsys, tmp_path):
    threads = torch.get_num_threads()
    out_file = tmp_path / "bench.json"
    try:
        bench.main([*TINY, "--device", "cpu", "--skip_translation", "--json_out", str(out_file)])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "AR producer / NARSignProducer.generate_poses, batch 2" in out
    assert "Ceiling on cpu" in out
    saved = json.loads(out_file.read_text())
    assert [row["producer_batch"] for row in saved["ratios"] if "producer_batch" in row] == [1, 2]
    # the ceiling reuses the ratios' medians: the same calls are not timed twice
    ratios = {row["producer_batch"]: row for row in saved["ratios"] if "producer_batch" in row}
    for row in saved["ceiling"]:
        expected = ratios[row["batch"]]["b_s" if row["side"] == "NAR" else "a_s"]
        assert row["seconds"] == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_device_cuda_without_cuda_is_refused(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--device", "cuda"])


def test_the_paper_sizes_gpu_rows_with_the_measurements_faked(bench, monkeypatch, capsys):
    """`--device cuda --paper_sizes` prints only GPU rows, with tokens/s and the MFU against the data sheet's and the
    measured peak. No GPU here: the measurements (each in its own process there) are replaced by fixed figures."""
    args = bench.parse_args(["--paper_sizes"])
    args.device = "cuda"  # parse_args refuses it without CUDA

    class Properties:
        total_memory = 140 * bench.GIB

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda *a: Properties())
    monkeypatch.setattr(bench, "measured_bf16_tflops", lambda: 790.0)
    monkeypatch.setattr(bench, "step_flops", lambda name, device="cpu": 1e11)
    calls = []

    def measure(name, batch, dtype, device, threads):
        calls.append((name, batch, dtype, device))
        return {
            "parameters": 100,
            "trainable": 100,
            "step_s": 0.01 * batch,
            "peak_bytes": bench.GIB + batch * 2**20,
            "activation_bytes": batch * 2**27,
            "tokens_per_s": 24 * batch / (0.01 * batch),
        }

    monkeypatch.setattr(bench, "measure_in_subprocess", measure)
    rows = bench.paper_sizes(args)
    assert {call[3] for call in calls} == {"cuda"} and {call[2] for call in calls} == {"bf16"}
    assert [row["timed_batch"] for row in rows] == [32, 32]  # --cuda_batch_size, within the 16 GiB budget
    for row in rows:
        # 1e11 FLOPs x 32 / 0.32 s = 10 TFLOP/s: 1.0% of 989, 1.3% of 790
        assert math.isclose(row["tflops"], 10.0)
        assert row["peak_tflops_spec"] == 989.0 and row["peak_tflops_measured"] == 790.0
        assert row["max_batch_in_gpu_memory"] > row["max_batch"]
    out = capsys.readouterr().out
    assert "1.0%" in out and "1.3%" in out and "measured 790 TFLOP/s" in out
    assert " cpu " not in out
