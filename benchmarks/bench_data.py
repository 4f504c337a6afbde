"""Data benchmark: embedded corpus generation, PHOENIX-size feature corpus preparation, read-back.

Prints a table with, for this machine:

* seconds to generate the default embedded corpus (4000/300/300) with ``generate_corpus()``,
  and seconds to prepare it through ``load_sign_dataset("synthetic")`` (checking 4000/300/300
  rows and ``ceil(T / 4)`` feature steps for every sequence);
* seconds and peak RSS to prepare a PHOENIX-size feature corpus (7096/519/642 sequences of about
  60 steps x 832 floats, written as real SLRT gzip-pickled feature files with
  ``write_slrt_features``) with the builder's writer batch and, side by side, with datasets'
  default writer batch (1000): the ratio shows what the small batch buys;
* sequences per second reading the prepared train split back as torch tensors in batches of 32.

Every measured step runs in its own subprocess that reports its own peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so the numbers do not mix. Peak RSS includes
the import of signbridge itself (torch + transformers, about 0.6 GiB on this machine) and, for the
read-back, the memory-mapped Arrow pages it touched; seconds exclude the imports.

    python benchmarks/bench_data.py            # full size (several minutes, ~5 GB of temp disk)
    python benchmarks/bench_data.py --quick    # tiny sizes, to check that it runs
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PHOENIX_SIZES = {"train": 7096, "dev": 519, "test": 642}


def _run(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON line last. Adds peak RSS."""
    wrapper = textwrap.dedent(
        """
        import json, resource, sys, time
        _t0 = time.perf_counter()
        _result = {}
        exec(compile(sys.argv[1], "<bench>", "exec"))
        _result["seconds"] = _result.get("seconds", time.perf_counter() - _t0)
        _result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(_result))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, textwrap.dedent(code)], capture_output=True, text=True
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"benchmark step failed:\n{code}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_synthetic(sizes: dict[str, int], cache: Path) -> tuple[dict, dict]:
    gen = _run(
        f"""
        from signbridge.data.synthetic import generate_corpus
        t = time.perf_counter()
        corpus = generate_corpus(train_size={sizes["train"]}, dev_size={sizes["dev"]}, test_size={sizes["test"]})
        _result["seconds"] = time.perf_counter() - t
        _result["rows"] = {{k: len(v) for k, v in corpus.items()}}
        """
    )
    prep = _run(
        f"""
        import math
        from signbridge.data.builders import load_sign_dataset
        t = time.perf_counter()
        ds = load_sign_dataset("synthetic", cache_dir={str(cache)!r}, train_size={sizes["train"]},
                               dev_size={sizes["dev"]}, test_size={sizes["test"]})
        _result["seconds"] = time.perf_counter() - t
        _result["rows"] = {{k: ds[k].num_rows for k in ds}}
        ok = True
        for split in ds:
            d = ds[split].with_format("numpy", columns=["num_frames", "features"])
            for batch in d.iter(batch_size=256):
                for t_, f_ in zip(batch["num_frames"], batch["features"]):
                    ok &= len(f_) == math.ceil(int(t_) / 4)
        _result["features_ceil_t_over_4"] = bool(ok)
        """
    )
    return gen, prep


def write_feature_corpus(root: Path, sizes: dict[str, int], steps: int, dim: int) -> tuple[float, Path, Path]:
    """Write SLRT annotation + feature files (random features, about ``steps`` steps each)."""
    code = f"""
        import numpy as np
        from pathlib import Path
        from signbridge.data.slrt import write_slrt_annotations, write_slrt_features
        root = Path({str(root)!r})
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        for split, n in {sizes!r}.items():
            lengths = rng.integers({steps} - 20, {steps} + 21, size=n)
            meta = [{{"name": f"{{split}}/seq{{i:05d}}", "signer": f"Signer{{i % 9:02d}}", "gloss": "REGEN MORGEN",
                     "text": "morgen regen .", "num_frames": int(4 * t)}} for i, t in enumerate(lengths)]
            write_slrt_annotations(meta, root / "data" / f"phoenix-2014t_cleaned.{{split}}")
            def examples():
                for m, t in zip(meta, lengths):
                    yield {{**m, "features": rng.standard_normal((int(t), {dim}), dtype=np.float32)}}
            write_slrt_features(examples(), root / "features" / f"{{split}}.pkl")
        _result["seconds"] = time.perf_counter() - t0
        """
    res = _run(code)
    return res["seconds"], root / "data", root / "features"


def prepare(data: Path, feats: Path, cache: Path, dim: int, writer_batch_size: int | None) -> dict:
    return _run(
        f"""
        from signbridge.data.builders import load_sign_dataset
        t = time.perf_counter()
        ds = load_sign_dataset("phoenix14t", data_dir={str(data)!r}, cache_dir={str(cache)!r},
                               features_dir={str(feats)!r}, feature_dim={dim}, writer_batch_size={writer_batch_size!r})
        _result["seconds"] = time.perf_counter() - t
        _result["rows"] = {{k: ds[k].num_rows for k in ds}}
        """
    )


def read_back(data: Path, feats: Path, cache: Path, dim: int) -> dict:
    return _run(
        f"""
        import torch
        from signbridge.data.builders import load_sign_dataset
        train = load_sign_dataset("phoenix14t", data_dir={str(data)!r}, cache_dir={str(cache)!r},
                                  features_dir={str(feats)!r}, feature_dim={dim})["train"]
        # 1) datasets' torch formatter
        ds = train.with_format("torch")
        t = time.perf_counter()
        n = steps = 0
        for batch in ds.iter(batch_size=32):
            feats = batch["features"]  # list of (T', F) float tensors (lengths differ)
            assert isinstance(feats[0], torch.Tensor) and feats[0].dtype == torch.float32
            n += len(feats)
            steps += sum(f.shape[0] for f in feats)
        _result["seconds"] = time.perf_counter() - t
        _result["sequences"] = n
        _result["sequences_per_s"] = n / _result["seconds"]
        _result["mean_steps"] = steps / n
        # 2) numpy formatter + torch.from_numpy (zero-copy per sequence)
        ds = train.with_format("numpy")
        t = time.perf_counter()
        m = 0
        for batch in ds.iter(batch_size=32):
            feats = [torch.from_numpy(f) for f in batch["features"]]
            assert feats[0].dtype == torch.float32 and feats[0].shape[1] == {dim}
            m += len(feats)
        _result["numpy_sequences_per_s"] = m / (time.perf_counter() - t)
        """
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--steps", type=int, default=60, help="mean feature steps per sequence")
    parser.add_argument("--dim", type=int, default=832)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--tmp", default=None, help="folder for the temporary files")
    args = parser.parse_args()

    feat_sizes = {k: max(v // 100, 3) for k, v in PHOENIX_SIZES.items()} if args.quick else PHOENIX_SIZES
    syn_sizes = {"train": 40, "dev": 3, "test": 3} if args.quick else {"train": 4000, "dev": 300, "test": 300}
    rows: list[tuple[str, str, str, str]] = []
    from datasets import config as ds_config

    from signbridge.data.builders import Phoenix14TBuilder

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        if not args.skip_synthetic:
            gen, prep = bench_synthetic(syn_sizes, tmp / "syn-cache")
            rows.append(
                (
                    "generate embedded corpus (generate_corpus)",
                    f"{gen['seconds']:.1f}",
                    f"{gen['peak_rss_mib']:.0f}",
                    "rows " + "/".join(str(v) for v in gen["rows"].values()),
                )
            )
            rows.append(
                (
                    "prepare embedded corpus (load_sign_dataset)",
                    f"{prep['seconds']:.1f}",
                    f"{prep['peak_rss_mib']:.0f}",
                    "rows "
                    + "/".join(str(v) for v in prep["rows"].values())
                    + f", features ceil(T/4) steps: {prep['features_ceil_t_over_4']}",
                )
            )
        write_s, data, feats = write_feature_corpus(tmp, feat_sizes, args.steps, args.dim)
        size_gib = sum(p.stat().st_size for p in feats.iterdir()) / 2**30
        rows.append(
            (
                "write SLRT feature files (write_slrt_features)",
                f"{write_s:.1f}",
                "-",
                f"{sum(feat_sizes.values())} seqs, {size_gib:.2f} GiB gzip",
            )
        )
        small = prepare(data, feats, tmp / "cache-small", args.dim, None)
        default_batch = ds_config.DEFAULT_MAX_BATCH_SIZE
        big = prepare(data, feats, tmp / "cache-default", args.dim, default_batch)
        rows.append(
            (
                f"prepare features, writer batch {Phoenix14TBuilder.DEFAULT_WRITER_BATCH_SIZE} (builder)",
                f"{small['seconds']:.1f}",
                f"{small['peak_rss_mib']:.0f}",
                "rows " + "/".join(str(v) for v in small["rows"].values()),
            )
        )
        rows.append(
            (
                f"prepare features, writer batch {default_batch} (datasets default)",
                f"{big['seconds']:.1f}",
                f"{big['peak_rss_mib']:.0f}",
                f"peak RSS ratio default/builder = {big['peak_rss_mib'] / small['peak_rss_mib']:.2f}, "
                f"time ratio = {big['seconds'] / small['seconds']:.2f}",
            )
        )
        rb = read_back(data, feats, tmp / "cache-small", args.dim)
        rows.append(
            (
                "read train back as torch, batches of 32",
                f"{rb['seconds']:.1f}",
                f"{rb['peak_rss_mib']:.0f}",
                f"{rb['sequences_per_s']:.0f} sequences/s with_format('torch'); "
                f"{rb['numpy_sequences_per_s']:.0f} sequences/s with_format('numpy') + torch.from_numpy "
                f"({rb['sequences']} seqs, mean {rb['mean_steps']:.1f} steps)",
            )
        )
        under = small["peak_rss_mib"] < 1024
    widths = [max(len(r[i]) for r in rows + [("step", "seconds", "peak RSS MiB", "notes")]) for i in range(4)]
    header = ("step", "seconds", "peak RSS MiB", "notes")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(f"\nPHOENIX-size preparation peak under 1 GiB with the builder's batch: {under}")


if __name__ == "__main__":
    main()
