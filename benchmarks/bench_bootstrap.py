"""Time of the paired FGD bootstrap of the production comparisons (signbridge.evaluation.comparison), by size.

The demo compares rows over its 600 test sentences with 1000 resamples; the paper's TAE has 768-d features. Prints
the wall time of one paired bootstrap (two rows against the references) for each feature size.

    python benchmarks/bench_bootstrap.py [--sentences 600] [--resamples 1000] [--dims 32 64 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from signbridge.evaluation.comparison import paired_bootstrap_fgd


def rows(sentences: int, dim: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, (int(rng.integers(1, 9)), dim)) for _ in range(sentences)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=600)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--dims", type=int, nargs="+", default=[32, 64, 256])
    args = parser.parse_args()
    print(
        f"{'feature dim':>11} {'seconds':>8}   ({args.sentences} sentences, {args.resamples} resamples, 2 rows)"
    )
    for dim in args.dims:
        reference, a, b = (rows(args.sentences, dim, seed) for seed in (0, 1, 2))
        start = time.perf_counter()
        paired_bootstrap_fgd(a, b, reference, num_resamples=args.resamples)
        print(f"{dim:>11} {time.perf_counter() - start:>8.2f}")


if __name__ == "__main__":
    main()
