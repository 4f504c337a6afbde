"""Reproduction experiments: named grids of (variant x seed) jobs, their per-job results and tables.

- :mod:`.registry`: the experiments (CV-SLT Table 4, the lambda sweep, the modality gap, NAR-SLP Table 1)
  and the sizes their variants share;
- :mod:`.jobs`: one job (train, score, write ``<variant>-seed<k>.json``);
- :mod:`.runner`: :func:`run_experiment` (skips finished jobs, runs the rest side by side) and the
  ``scripts/reproduce.py`` entry;
- :mod:`.report`: the markdown table (mean ± std over seeds, per-seed values, the papers' claims) and figures.
"""

from __future__ import annotations

from ..utils.lazy import lazy_exports

_LAZY_NAMES: dict[str, str] = {
    "EXPERIMENTS": "registry",
    "Experiment": "registry",
    "RunSizes": "registry",
    "assemble_results": "report",
    "load_results": "report",
    "results_table": "report",
    "run_experiment": "runner",
}

__getattr__, __dir__ = lazy_exports(
    __name__, globals(), {name: f"{__name__}.{module}" for name, module in _LAZY_NAMES.items()}
)

__all__ = list(_LAZY_NAMES)
