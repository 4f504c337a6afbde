"""CVSLTMaskedBatchNorm1d on 2 processes (gloo) equals one process on the whole batch: outputs, running statistics,
parameter gradients (summed over the processes, as DDP does before averaging) and input gradients."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import warnings

import torch
import torch.distributed as dist

warnings.simplefilter("error", FutureWarning)  # as tests/conftest.py in the test process
warnings.simplefilter("error", DeprecationWarning)

from signbridge.models.cvslt.modeling_cvslt import CVSLTMaskedBatchNorm1d

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
lengths = [7, 3, 5, 2]  # rows 0-1 on process 0 (padded to 7), rows 2-3 on process 1 (padded to 5)
x = torch.randn(4, 7, 6, dtype=torch.float32)
mask = torch.zeros(4, 7, dtype=torch.long)
for i, n in enumerate(lengths):
    mask[i, :n] = 1
weights = torch.randn(4, 7, 6, dtype=torch.float32)


def run(norm, rows, width):
    inputs = x[rows, :width].clone().requires_grad_(True)
    out = norm(inputs, mask[rows, :width])
    (out * weights[rows, :width]).sum().backward()
    return out, inputs.grad


reference = CVSLTMaskedBatchNorm1d(6, sync_across_processes=False)
with torch.no_grad():
    reference.weight.uniform_(0.5, 1.5)
    reference.bias.uniform_(-0.5, 0.5)
shared = CVSLTMaskedBatchNorm1d(6)
shared.load_state_dict(reference.state_dict())
ref_out, ref_grad = run(reference, slice(0, 4), 7)
rows, width = (slice(0, 2), 7) if rank == 0 else (slice(2, 4), 5)
out, grad = run(shared, rows, width)

close = {"rtol": 1e-5, "atol": 1e-6}  # float32 statistics, sums in another order
torch.testing.assert_close(out, ref_out[rows, :width], **close)
torch.testing.assert_close(grad, ref_grad[rows, :width], **close)
for name in ("weight", "bias"):
    summed = getattr(shared, name).grad.clone()
    dist.all_reduce(summed)
    torch.testing.assert_close(summed, getattr(reference, name).grad, **close)
torch.testing.assert_close(shared.running_mean, reference.running_mean, **close)
torch.testing.assert_close(shared.running_var, reference.running_var, **close)
# without the synchronisation each process would normalise with its own rows' statistics
alone = CVSLTMaskedBatchNorm1d(6, sync_across_processes=False)
alone.load_state_dict(reference.state_dict())
alone_out, _ = run(alone, rows, width)
assert not torch.allclose(alone_out, ref_out[rows, :width], rtol=1e-3, atol=1e-3)
open(f"rank{rank}.ok", "w").close()  # a file per rank: the two processes' stdout lines can interleave
dist.destroy_process_group()
"""


def test_masked_batch_norm_statistics_span_the_processes(tmp_path):
    script = tmp_path / "batch_norm_two_processes.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]), OMP_NUM_THREADS="1"
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(script),
    ]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert (tmp_path / "rank0.ok").is_file() and (tmp_path / "rank1.ok").is_file(), output[-4000:]
