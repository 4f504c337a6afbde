"""Assemble an experiment's results table (markdown) and figures (PNG) from its jobs' JSON files.

Everything here reads only ``<results_dir>/<experiment>/<variant>-seed<k>.json``, so a table can be
rebuilt at any time from committed results, whichever sitting ran which job.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.files import atomic_write, atomic_write_text
from .registry import EXPERIMENTS, LAMBDAS, Experiment

__all__ = ["assemble_results", "load_results", "mean_std", "results_table"]

_FILE = re.compile(r"^(?P<variant>.+)-seed(?P<seed>\d+)\.json$")


def load_results(folder: str | Path) -> dict[str, dict[int, dict[str, Any]]]:
    """``{variant: {seed: job JSON}}`` of every ``<variant>-seed<k>.json`` in ``folder``."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted(Path(folder).glob("*-seed*.json")):
        match = _FILE.match(path.name)
        if match is None:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err}); delete it to run the job again") from err
        out.setdefault(match["variant"], {})[int(match["seed"])] = data
    return out


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def _number(value: float) -> str:
    """Two decimals (BLEU, ROUGE, DTW), or three significant digits for small values (FGD, gaps)."""
    return f"{value:.2f}" if value == 0 or abs(value) >= 1 else f"{value:.3g}"


def _cell(values: list[float]) -> str:
    mean, std = mean_std(values)
    return f"{_number(mean)} ± {_number(std)}"


def _metric_keys(experiment: Experiment, results) -> list[str]:
    if experiment.metrics:
        return list(experiment.metrics)
    keys: dict[str, None] = {}
    for seeds in results.values():
        for data in seeds.values():
            keys.update(dict.fromkeys(data["metrics"]))
    return list(keys)


def _sub_table(keys: list[str], variants: list[str], results) -> tuple[list[str], list[str]]:
    """(mean ± std lines, per-seed lines) of one table of metric ``keys``."""
    grouped: dict[str, list[str]] = {}
    for key in keys:
        row, _, metric = key.rpartition("|")
        grouped.setdefault(row, []).append(metric)
    columns = list(dict.fromkeys(m for metrics in grouped.values() for m in metrics))
    if columns and all(re.match(r"^\d+", c) for c in columns):  # numeric intervals ("0-50", "50-100", "200+")
        columns.sort(key=lambda c: int(re.match(r"^\d+", c).group()))
    lines = ["| variant | seeds | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    per_seed = ["| variant | seed | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for variant in variants:
        seeds = results[variant]
        for row in grouped:
            label = f"{variant} {row}".strip()
            cells = []
            for column in columns:
                key = f"{row}|{column}" if row else column
                values = [seeds[s]["metrics"][key] for s in sorted(seeds) if key in seeds[s]["metrics"]]
                cell = _cell(values) if values else ""
                if values and len(values) < len(seeds):
                    cell += f" (n={len(values)})"
                cells.append(cell)
            if not any(cells):
                continue
            lines.append(f"| {label} | {len(seeds)} | " + " | ".join(cells) + " |")
            for seed in sorted(seeds):
                got = seeds[seed]["metrics"]
                values = [got.get(f"{row}|{c}" if row else c) for c in columns]
                per_seed.append(
                    f"| {label} | {seed} | "
                    + " | ".join("" if v is None else _number(v) for v in values)
                    + " |"
                )
    return lines, per_seed


def results_table(experiment: Experiment, results: dict[str, dict[int, dict[str, Any]]]) -> str:
    """The markdown table: one row per variant (mean ± std over seeds) then the per-seed values.

    Metric keys ``"<row>|<metric>"`` (the NAR-SLP production table) become rows ``<variant> <row>``
    with one column per metric; keys ``"<table>::<row>|<metric>"`` go to a separate table titled
    ``<table>`` (the NAR-SLP FGD per length interval). Then each of the experiment's claims: the
    per-seed differences A - B, their mean ± std, and whether the direction reproduced (``yes``: A > B
    on every seed; ``partly``: on average only; ``no``).
    """
    keys = _metric_keys(experiment, results)
    tables: dict[str, list[str]] = {}
    for key in keys:
        title, _, rest = key.rpartition("::")
        tables.setdefault(title, []).append(rest)
    variants = [v for v in experiment.variants if v in results]
    lines = [f"### {experiment.name}", "", experiment.description, ""]
    for title, table_keys in tables.items():
        prefix = f"{title}::" if title else ""
        if title:
            lines += ["", f"#### {title}", ""]
        # the sub-table reads results through the full keys
        view = {
            v: {
                s: {
                    "metrics": {
                        k[len(prefix) :]: x
                        for k, x in d["metrics"].items()
                        if k.startswith(prefix) and (prefix or "::" not in k)
                    }
                }
                for s, d in results[v].items()
            }
            for v in variants
        }
        means, per_seed = _sub_table(table_keys, variants, view)
        lines += means + ["", "Per seed:", ""] + per_seed
    configurations = {
        json.dumps(d.get("sizes"), sort_keys=True) for seeds in results.values() for d in seeds.values()
    }
    if len(configurations) > 1:
        lines += [
            "",
            f"**Warning: these results come from {len(configurations)} different configurations** "
            "(the jobs' `sizes` differ); compare variants only within one configuration.",
        ]
    claims = [c for c in experiment.claims if c[1] in results and c[2] in results]
    if claims:
        lines += ["", "| claim | A - B (mean ± std over seeds) | reproduced in direction |", "|---|---|---|"]
        for text, a, b, metric in claims:
            # a pair of metrics compares two rows of the same jobs (e.g. w/o KD vs w/ KD of one NAR-SLP run)
            metric_a, metric_b = metric if isinstance(metric, tuple) else (metric, metric)
            common = sorted(
                s
                for s in set(results[a]) & set(results[b])
                if metric_a in results[a][s]["metrics"] and metric_b in results[b][s]["metrics"]
            )
            diffs = [results[a][s]["metrics"][metric_a] - results[b][s]["metrics"][metric_b] for s in common]
            if not diffs:
                continue
            mean, std = mean_std(diffs)
            verdict = "yes" if mean > 0 and all(d > 0 for d in diffs) else ("partly" if mean > 0 else "no")
            if metric_a == metric_b:
                what = f"{metric}: {a} - {b}"
            else:
                what = f"{a}: {metric_a} - {metric_b}" if a == b else f"{a} {metric_a} - {b} {metric_b}"
            lines.append(
                f"| {text} ({what}) | {_number(mean)} ± {_number(std)} (n={len(diffs)}) | {verdict} |"
            )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- figures


def _figure_lambda(plt, results, folder: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for metric, label in (("dev_bleu4", "prior path (inference)"), ("dev_posterior_bleu4", "posterior path")):
        xs, means, stds = [], [], []
        for lam in LAMBDAS:
            seeds = results.get(f"lambda{lam}", {})
            values = [d["metrics"][metric] for d in seeds.values() if metric in d["metrics"]]
            if values:
                xs.append(lam)
                mean, std = mean_std(values)
                means.append(mean)
                stds.append(std)
        if xs:
            ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=label)
    ax.set_xlabel("lambda (self-distillation weight)")
    ax.set_ylabel("dev BLEU-4")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return [_save(plt, fig, folder / "lambda_bleu4.png")]


def _figure_gap(plt, results, folder: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for index, (variant, seeds) in enumerate(results.items()):
        color = f"C{index}"  # one colour per variant, one line per seed
        for k, seed in enumerate(sorted(seeds)):
            series = np.asarray(seeds[seed].get("series", {}).get("gap", []), dtype=float)
            if len(series):
                label = f"{variant} ({len(seeds)} seeds)" if k == 0 else None
                ax.plot(series[:, 0], series[:, 1], marker=".", alpha=0.7, color=color, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("modality gap (L2 of unit sentence vectors)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    paths = [_save(plt, fig, folder / "modality_gap_curve.png")]
    panels = {v: s[min(s)]["projection"] for v, s in results.items() if "projection" in s[min(s)]}
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
        for ax, (variant, proj) in zip(axes[0], panels.items(), strict=True):
            sign, text = np.asarray(proj["sign"]), np.asarray(proj["text"])
            ax.scatter(sign[:, 0], sign[:, 1], s=8, label="sign")
            ax.scatter(text[:, 0], text[:, 1], s=8, marker="^", label="text")
            ax.set_title(f"{variant} (seed {min(results[variant])}), layer {proj['layer']}")
            ax.legend(fontsize=8)
        paths.append(_save(plt, fig, folder / "modality_projection.png"))
    return paths


def _figure_bars(metric: str, title: str, file_stem: str):
    """A bar per variant: ``metric``'s mean over seeds with its std as error bar."""

    def draw(plt, results, folder: Path, experiment: Experiment) -> list[Path]:
        fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(results)), 3.6))
        names = [v for v in experiment.variants if v in results]
        values = [
            [d["metrics"][metric] for d in results[v].values() if metric in d["metrics"]] for v in names
        ]
        stats = [mean_std(v) if v else (math.nan, 0.0) for v in values]
        ax.bar(range(len(names)), [m for m, _ in stats], yerr=[s for _, s in stats], capsize=3)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_ylabel(title)
        return [_save(plt, fig, folder / f"{file_stem}.png")]

    return draw


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_write(path) as f:  # a failed write keeps an earlier figure
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=110)
    plt.close(fig)
    return path


def _nar_figure(plt, results, folder: Path, experiment: Experiment) -> list[Path]:
    """Table 1's rows on test, one bar per (row, variant), mean ± std over seeds: FGD x10 and back-translation
    BLEU-4 side by side (a back-translator that reads the poses puts Ground Truth far above Mean)."""
    panels = (("fgd_x10", "test FGD x10 (lower is better)"), ("bleu4", "test back-translation BLEU-4"))
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.8))
    variants = list(results)
    width = 0.8 / max(len(variants), 1)
    for ax, (metric, label) in zip(axes, panels, strict=True):
        row_names: list[str] = []
        for seeds in results.values():
            for data in seeds.values():
                for key in data["metrics"]:
                    if key.startswith("test: ") and key.endswith(f"|{metric}"):
                        row = key[len("test: ") : -len(metric) - 1]
                        if row not in row_names:
                            row_names.append(row)
        for i, variant in enumerate(variants):
            values = [
                [
                    d["metrics"][f"test: {row}|{metric}"]
                    for d in results[variant].values()
                    if f"test: {row}|{metric}" in d["metrics"]
                ]
                for row in row_names
            ]
            stats = [mean_std(v) if v else (float("nan"), 0.0) for v in values]
            ax.bar(
                [j + (i - (len(variants) - 1) / 2) * width for j in range(len(row_names))],
                [m for m, _ in stats],
                width,
                yerr=[sd for _, sd in stats],
                capsize=3,
                label=f"{variant} ({len(results[variant])} seeds)",
            )
        ax.set_xticks(range(len(row_names)), row_names, rotation=30, ha="right")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return [_save(plt, fig, folder / f"{experiment.name}.png")]


def assemble_results(name: str, results_dir: str | Path) -> dict[str, Any]:
    """Write ``results.md`` and the PNG figures of experiment ``name`` from its JSON files.

    Returns ``{"table": path, "figures": [paths], "jobs": count}``.
    """
    from ..utils.import_utils import require_matplotlib

    experiment = EXPERIMENTS[name]
    folder = Path(results_dir) / name
    results = load_results(folder)
    if not results:
        raise FileNotFoundError(f"no job results (<variant>-seed<k>.json) in {folder}")
    table = folder / "results.md"
    atomic_write_text(table, results_table(experiment, results))
    plt = require_matplotlib("the experiment figures")
    if name == "cvslt_lambda":
        figures = _figure_lambda(plt, results, folder)
    elif name == "cvslt_modality_gap":
        figures = _figure_gap(plt, results, folder)
    elif experiment.kind == "nar_slp":
        figures = _nar_figure(plt, results, folder, experiment)
    else:
        figures = _figure_bars("test_bleu4", "test BLEU-4", experiment.name)(plt, results, folder, experiment)
        if "final_gap" in experiment.metrics:
            figures += _figure_bars("final_gap", "modality gap after training", f"{experiment.name}_gap")(
                plt, results, folder, experiment
            )
    return {"table": table, "figures": figures, "jobs": sum(len(s) for s in results.values())}
