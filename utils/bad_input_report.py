#!/usr/bin/env python
"""Counts of the bad-input matrix, and the worst hostile reader files measured before and after the hardening.

Usage::

    python utils/bad_input_report.py                      # run every case of tests/test_bad_input_matrix.py
    python utils/bad_input_report.py --before-after       # also the worst reader files on older commits
    python utils/bad_input_report.py --json report.json   # the same, machine-readable

The matrix part runs each case as the test does (same expectation, 200 MB allocation bound) and prints how many
were tried, how many gave a clear error (the right type, a message naming the problem, or one ``error:`` line and
status 2 at an entry point), a correct result or the expected warning, and how many did not (which then fail the
test too); per area; and the case with the largest allocation peak and the slowest one.

``--before-after`` writes the hostile files the issue found (a stride-0 tensor over one float, a 6 GiB shape
claimed over one float, ``num_frames`` as 10**8 shared leaves, a memo index far ahead, one deleted byte that makes
the streaming reader claim 1.5 GiB) and reads each in a fresh process with the SLRT reader of each commit given
(default: ``ba71392``, before issue 12; ``f5a59a7``, before this round; and the working tree), under a 4 GiB
address-space limit so that the old readers fail with MemoryError instead of taking the machine's memory. Per file
and version it prints the outcome, the wall and CPU seconds and the child's peak resident memory.
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import resource
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


def run_matrix() -> dict:
    import datasets
    import test_bad_input_matrix as matrix
    from transformers.utils import logging

    datasets.disable_progress_bars()
    logging.set_verbosity_error()
    logging.disable_progress_bar()

    rows = []
    for name, case in sorted(matrix.CASES.items()):
        with tempfile.TemporaryDirectory() as tmp:
            tracemalloc.start()
            start = time.perf_counter()
            try:
                matrix.run_case(case, Path(tmp))
                status = "as expected"
            except BaseException as exc:  # noqa: BLE001 - a skipped or failing case is reported, not raised
                kind = type(exc).__name__
                status = "skipped" if kind == "Skipped" else f"NOT as expected ({kind}: {str(exc)[:160]})"
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        rows.append(
            {
                "case": name,
                "area": case.area,
                "kind": case.kind,
                "named_in_issue": case.named_in_issue,
                "status": status,
                "seconds": seconds,
                "peak_mib": peak / 2**20,
            }
        )
    return {"cases": rows}


def print_matrix(report: dict) -> None:
    rows = report["cases"]
    ok = [r for r in rows if r["status"] == "as expected"]
    by_kind = Counter(r["kind"] for r in ok)
    clear_errors = by_kind["error"] + by_kind["exit2"]
    print(
        f"bad-input matrix: {len(rows)} cases tried ({sum(r['named_in_issue'] for r in rows)} named in issue 12)"
    )
    print(
        f"  clear error:          {clear_errors} ({by_kind['error']} raised, {by_kind['exit2']} one line + exit 2)"
    )
    print(f"  correct result:       {by_kind['ok']}")
    print(f"  expected warning:     {by_kind['warns']}")
    print(f"  skipped:              {sum(r['status'] == 'skipped' for r in rows)}")
    bad = [r for r in rows if r["status"] not in ("as expected", "skipped")]
    print(f"  NOT as expected:      {len(bad)}")
    for r in bad:
        print(f"    {r['case']}: {r['status']}")
    areas = defaultdict(Counter)
    for r in rows:
        areas[r["area"]]["tried"] += 1
        areas[r["area"]]["as expected"] += r["status"] == "as expected"
    print(
        "  per area: " + ", ".join(f"{a} {c['as expected']}/{c['tried']}" for a, c in sorted(areas.items()))
    )
    readers = [r for r in rows if r["area"] in ("slrt", "skels", "pose", "index")]
    worst_memory = max(readers, key=lambda r: r["peak_mib"])
    slowest = max(readers, key=lambda r: r["seconds"])
    print(
        f"  reader case with the largest allocation peak: {worst_memory['case']} {worst_memory['peak_mib']:.1f} MiB"
    )
    print(
        f"  slowest reader case: {slowest['case']} {slowest['seconds']:.3f} s (traced; tracemalloc slows it)"
    )
    print(f"  whole matrix: {sum(r['seconds'] for r in rows):.1f} s")


# ---------------------------------------------------------------------------------------- before / after

_VERSIONS = ("ba71392", "f5a59a7", "worktree")
_FILES = ("data/safe_pickle.py", "data/legacy_storage.py", "data/slrt.py", "utils/reprs.py", "utils/files.py")

_CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.path.insert(0, sys.argv[1])
from sbold.data import slrt
reader = {"features": slrt.read_slrt_features, "annotations": slrt.read_slrt_annotations,
          "stream": lambda p: list(slrt.iter_slrt_features(p))}[sys.argv[4]]
import tracemalloc
if sys.argv[5] == "trace":  # not for the nested-list file: tracing 10**8 repr steps takes minutes
    tracemalloc.start()
start, cpu = time.perf_counter(), time.process_time()
try:
    value = reader(sys.argv[2])
    outcome = "read: " + ", ".join(f"{k}: array {getattr(v, 'shape', '?')} ({getattr(v, 'nbytes', 0) / 2**30:.2f} GiB)"
                                     for k, v in (value.items() if isinstance(value, dict) else []))[:200]
except BaseException as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:150]}"
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
# VmHWM: this process's own peak resident memory (ru_maxrss would include the parent's, inherited at fork)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"outcome": outcome, "wall_s": wall, "cpu_s": cpu, "max_rss_mib": hwm / 1024,
                  "traced_peak_mib": traced / 2**20 if tracemalloc.is_tracing() else None}))
"""


def _hostile_files(folder: Path) -> dict[str, tuple[Path, str]]:
    import numpy as np
    import test_bad_input_matrix as matrix

    files = {}
    stride0 = matrix._features_file(folder, matrix._tensor([1.0], 0, (10_000, 14_000), (0, 0)))
    files["stride-0 tensor over one float"] = (stride0.rename(folder / "stride0.pkl"), "features")
    claim = matrix._features_file(folder, matrix._tensor([1.0], 0, (40_000, 40_000), (0, 0)))
    files["5.96 GiB stride-0 shape over one float"] = (claim.rename(folder / "claim.pkl"), "features")
    nest = matrix._annotations_file(folder, [matrix._record(num_frames=matrix._nest(8))])
    files["num_frames of 10**8 shared leaves"] = (nest.rename(folder / "nest.dev"), "annotations")
    raw = pickle.dumps([matrix._record()], protocol=3)
    put = raw.index(b"q\x01")
    memo = folder / "memo.dev"
    memo.write_bytes(gzip.compress(raw[:put] + b"r" + struct.pack("<I", 405_694_563) + raw[put + 2 :]))
    files["memo index 405694563"] = (memo, "annotations")
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    from test_safe_pickle import _VALID  # the property test's seed; hypothesis found byte 22 to delete

    deleted = folder / "deleted.pkl"
    deleted.write_bytes(gzip.compress(_VALID[:22] + _VALID[23:]))
    files["one deleted byte (BINUNICODE claims 1627389952 bytes)"] = (deleted, "stream")
    for path, _ in files.values():
        assert path.stat().st_size < 2000, path
    del np
    return files


def _package(version: str, folder: Path) -> Path:
    root = folder / f"pkg_{version}"
    for name in _FILES:
        if version == "worktree":
            source = ROOT / "src" / "signbridge" / name
            text = source.read_text() if source.is_file() else None
        else:
            run = subprocess.run(
                ["git", "show", f"{version}:src/signbridge/{name}"], cwd=ROOT, capture_output=True, text=True
            )
            text = run.stdout if run.returncode == 0 else None
        if text is not None:
            target = root / "sbold" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    for sub in ("", "data", "utils"):
        (root / "sbold" / sub).mkdir(parents=True, exist_ok=True)
        (root / "sbold" / sub / "__init__.py").touch()
    return root


def before_after(versions=_VERSIONS, limit_gib: float = 4.0) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _hostile_files(folder)
        packages = {v: _package(v, folder) for v in versions}
        for label, (path, reader) in files.items():
            for version in versions:
                trace = "trace" if reader != "annotations" else "no-trace"
                command = [sys.executable, "-c", _CHILD, str(packages[version]), str(path)]
                command += [str(int(limit_gib * 2**30)), reader, trace]
                try:
                    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
                    row = json.loads(run.stdout.strip().splitlines()[-1])
                except subprocess.TimeoutExpired:
                    row = {"outcome": "still running after 300 s: stopped"}
                except (IndexError, json.JSONDecodeError):
                    row = {"outcome": f"child failed: {run.stderr.strip()[-200:]}"}
                row["file_bytes"] = path.stat().st_size
                results[f"{label} | {version}"] = row
    return results


def print_before_after(results: dict) -> None:
    print("\nworst hostile reader files, each read in a fresh process (4 GiB address-space limit):")
    for key, row in results.items():
        label, version = key.split(" | ")
        print(f"  {label} ({row['file_bytes']} bytes) on {version}:")
        if "wall_s" in row:
            print(
                f"      {row['wall_s']:.3f} s wall, {row['cpu_s']:.3f} s CPU, peak RSS {row['max_rss_mib']:.0f} MiB"
                + (
                    f", allocated (tracemalloc peak) {row['traced_peak_mib']:.1f} MiB"
                    if row.get("traced_peak_mib") is not None
                    else ""
                )
            )
        print(f"      {row['outcome']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--before-after", action="store_true", help="measure the worst reader files on old commits"
    )
    parser.add_argument("--versions", nargs="+", default=list(_VERSIONS), help="commits (or 'worktree')")
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args(argv)
    report = {}
    if not args.skip_matrix:
        report.update(run_matrix())
        print_matrix(report)
    if args.before_after:
        report["before_after"] = before_after(tuple(args.versions))
        print_before_after(report["before_after"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    bad = [r for r in report.get("cases", []) if r["status"] not in ("as expected", "skipped")]
    return 1 if bad else 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
