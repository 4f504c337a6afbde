"""Run a named experiment as a grid of (variant x seed) jobs side by side, then assemble its table and figures.

:func:`run_experiment` skips every job whose results file exists, so a long grid can be finished over
several sittings: run the same command again and only the missing jobs run. Jobs run one
single-threaded process per CPU core (:func:`signbridge.demo.pool.run_jobs_side_by_side`); each
finished job writes ``<results_dir>/<experiment>/<variant>-seed<k>.json`` at once. The table
(``results.md``: mean ± std over seeds and the per-seed values) and the PNG figures are then rebuilt
from all the files present (:func:`signbridge.experiments.report.assemble_results`).
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .registry import EXPERIMENTS, run_sizes

__all__ = ["main", "plan_jobs", "run_experiment"]


def plan_jobs(
    name: str, seeds: Sequence[int], results_dir: Path, variants: Sequence[str] | None = None
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """``(to_run, done)``: the (variant, seed) jobs of experiment ``name`` without and with a results file."""
    experiment = EXPERIMENTS[name]
    if variants is not None:
        unknown = [v for v in variants if v not in experiment.variants]
        if unknown:
            raise ValueError(f"{name} has no variant(s) {unknown}; its variants: {list(experiment.variants)}")
    to_run, done = [], []
    for variant in variants if variants is not None else experiment.variants:
        for seed in seeds:
            target = results_dir / name / f"{variant}-seed{seed}.json"
            (done if target.is_file() else to_run).append((variant, seed))
    return to_run, done


def run_experiment(
    name: str,
    *,
    smoke: bool = False,
    seeds: Sequence[int] | None = None,
    variants: Sequence[str] | None = None,
    workers: int | None = None,
    results_dir: str | os.PathLike | None = None,
    work_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    keep_models: bool = False,
    overrides: dict[str, Any] | None = None,
    report: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Run the missing jobs of experiment ``name`` and assemble its results.

    Args:
        name: one of :data:`~signbridge.experiments.registry.EXPERIMENTS`.
        smoke: tiny sizes on the embedded corpus (checks the whole path; the scores mean nothing).
        seeds: default: the sizes' seeds (0, 1, 2; smoke: 0, 1).
        variants: run only these variants (default: all); the table shows every variant with results.
        workers: jobs at once (default: one per CPU core); 1 runs them here, one after another.
        results_dir: where the per-job JSON, ``results.md`` and the PNGs go, under ``<name>/``
            (default ``model_cards/results``; smoke: ``runs/reproduce-smoke/results``).
        work_dir: the jobs' model folders (default ``runs/reproduce[-smoke]``), deleted after each job
            unless ``keep_models``, and the corpus' Arrow cache (``datasets/``, kept across sittings).
        data_dir: the SLRT annotation folder of the full runs' corpus (``phoenix14t_synthetic``).
        overrides: :class:`~signbridge.experiments.registry.RunSizes` fields to change for every job of
            this run (each job records its sizes; the table flags results made with different sizes).

    Returns:
        ``{"ran": [...], "skipped": [...], "table": path, "figures": [...], "jobs": count}``.
    """
    from ..demo.pool import run_jobs_side_by_side
    from .report import assemble_results

    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; available: {sorted(EXPERIMENTS)}")
    say = report if report is not None else (lambda _line: None)
    sizes = run_sizes(smoke, overrides)
    seeds = list(sizes.seeds if seeds is None else seeds)
    if not seeds or any(not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}")
    results_dir = Path(results_dir or ("runs/reproduce-smoke/results" if smoke else "model_cards/results"))
    work_dir = Path(work_dir or ("runs/reproduce-smoke" if smoke else "runs/reproduce"))
    to_run, done = plan_jobs(name, seeds, results_dir, variants)
    copied = _take_same_jobs(name, to_run, results_dir)
    if copied:
        say(
            f"{name}: {len(copied)} job(s) taken from the same jobs of another experiment: "
            + ", ".join(copied)
        )
        to_run = [(v, s) for v, s in to_run if f"{v}-seed{s}" not in copied]
    if done:
        say(
            f"{name}: {len(done)} job(s) already have results, skipped: "
            + ", ".join(f"{v}-seed{s}" for v, s in done)
        )
    if to_run and sizes.corpus != "synthetic" and data_dir is None:
        raise ValueError(
            f"{name} runs on {sizes.corpus}: give --data_dir, the folder of its SLRT annotation files"
        )
    if to_run and sizes.corpus != "synthetic" and EXPERIMENTS[name].kind == "cvslt":
        from .jobs import load_corpus

        load_corpus(
            sizes, str(data_dir), str(work_dir / "datasets")
        )  # the Arrow cache, before the workers read it
    jobs = {}
    for variant, seed in to_run:
        spec = {
            "experiment": name,
            "variant": variant,
            "seed": seed,
            "smoke": smoke,
            "sizes": sizes.to_dict(),
            "data_dir": None if data_dir is None else str(data_dir),
            "cache_dir": str(work_dir / "datasets"),
            "sign2gloss_dir": str(work_dir / "sign2gloss"),
            "work_dir": str(work_dir / name / f"{variant}-seed{seed}"),
            "results_file": str(results_dir / name / f"{variant}-seed{seed}.json"),
        }
        jobs[f"{variant}-seed{seed}"] = (_run_and_clean, (spec, keep_models))
    if jobs:
        count = workers if workers is not None else min(len(jobs), os.cpu_count() or 1)
        say(f"{name}: running {len(jobs)} job(s), {count} at a time")
        run_jobs_side_by_side(jobs, count, _Printer(say))
    assembled = assemble_results(name, results_dir)
    say(f"{name}: table {assembled['table']}, figures {', '.join(map(str, assembled['figures']))}")
    return {
        "ran": [f"{v}-seed{s}" for v, s in to_run],
        "skipped": [f"{v}-seed{s}" for v, s in done],
        **assembled,
    }


def _take_same_jobs(name: str, to_run: list[tuple[str, int]], results_dir: Path) -> list[str]:
    """Write the results of ``to_run``'s variants that are the same job as another experiment's
    (:attr:`Experiment.same_job_as`) from that job's file, where it exists; returns the names written."""
    import json

    from .jobs import write_json

    aliases = EXPERIMENTS[name].same_job_as
    copied = []
    for variant, seed in to_run:
        if variant not in aliases:
            continue
        other, other_variant = aliases[variant]
        source = results_dir / other / f"{other_variant}-seed{seed}.json"
        if not source.is_file():
            continue
        data = json.loads(source.read_text(encoding="utf-8"))
        if data.get("switches") != EXPERIMENTS[name].variants[variant]:
            raise ValueError(
                f"{name}/{variant} is declared the same job as {other}/{other_variant}, but their switches differ: "
                f"{EXPERIMENTS[name].variants[variant]} vs {data.get('switches')}"
            )
        data.update(
            {"experiment": name, "variant": variant, "same_job_as": f"{other}/{other_variant}-seed{seed}"}
        )
        write_json(data, results_dir / name / f"{variant}-seed{seed}.json")
        copied.append(f"{variant}-seed{seed}")
    return copied


def _run_and_clean(spec: dict[str, Any], keep_models: bool, events) -> dict[str, Any]:
    from .jobs import run_job

    result = run_job(spec, events)
    if not keep_models:
        shutil.rmtree(spec["work_dir"], ignore_errors=True)
    return result


class _Printer:
    """Shows the jobs' start/done/say events as lines (training steps are not shown)."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say

    def __call__(self, event) -> None:
        kind, name, value = event
        if kind == "start":
            self.say(f"  {name}: started")
        elif kind == "done":
            self.say(f"  {name}: done in {value['wall_s']:.0f} s")
        elif kind == "trained":
            self.say(f"  {name}: trained ({value} steps)")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry of ``scripts/reproduce.py``."""
    parser = argparse.ArgumentParser(
        prog="reproduce.py",
        description="Run a named experiment's (variant x seed) grid and assemble its results.",
    )
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes on the embedded corpus (a check, not results)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2 (smoke: 0 1)")
    parser.add_argument("--variants", nargs="+", default=None, help="only these variants (default: all)")
    parser.add_argument("--workers", type=int, default=None, help="jobs at once (default: one per CPU core)")
    parser.add_argument("--results_dir", default=None, help="default: model_cards/results")
    parser.add_argument(
        "--work_dir", default=None, help="model folders while a job runs (default: runs/reproduce)"
    )
    parser.add_argument(
        "--data_dir", default=None, help="the SLRT annotation folder (e.g. ../shared/data/phoenix-2014t)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="change a RunSizes field for every job of this run, e.g. --set epochs=20 --set d_model=192",
    )
    parser.add_argument("--keep_models", action="store_true", help="keep each job's trained models")
    args = parser.parse_args(argv)
    return run_experiment(
        args.experiment,
        smoke=args.smoke,
        seeds=args.seeds,
        variants=args.variants,
        workers=args.workers,
        results_dir=args.results_dir,
        work_dir=args.work_dir,
        data_dir=args.data_dir,
        keep_models=args.keep_models,
        overrides=_parse_overrides(args.overrides),
    )


def _parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    import json

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"reproduce.py: error: --set takes FIELD=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value  # a plain string
    return out
