"""The end-to-end demo on the embedded corpus (the README's main job, ``signbridge demo``).

It generates the embedded corpus, trains on the CPU the per-frame pose VAE and then, side by side
in worker processes (one per core, a progress bar each), a small CV-SLT (visual features -> text),
a pose-input CV-SLT back-translator (poses -> text), the pose autoencoder (TAE) of FGD and two
NARSignProducers (without and with knowledge distillation); translates a few dev samples and
shows them beside their references; reports the translation scores and the production table (the
NAR-SLP paper's Table 1 format) on dev and test; produces poses for a few sentences and writes
``.pose`` files and GIFs; every model is saved with ``save_pretrained``, and two are reloaded
through the Auto classes.

The demo is a command-line program: its lines go to ``report`` (``print`` by default). Everything
it measures is also returned as a dict.

Modules: :mod:`.settings` (:class:`DemoSettings` and the model configs built from it),
:mod:`.jobs` (one training job per model after the pose VAE), :mod:`.pool` (a general utility that
runs jobs side by side in worker processes, their progress coming back as events),
:mod:`.progress` (the jobs' progress bars and lines) and :mod:`.run` (:func:`run_demo`, step by
step). The names below load on first use, so a spawned worker that needs only a job function or
the pool does not import the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils.lazy import lazy_exports

#: public name -> module that defines it (imported on first use)
_LAZY_NAMES = {
    "DEMO_SENTENCES": "signbridge.demo.settings",
    "DemoSettings": "signbridge.demo.settings",
    "run_demo": "signbridge.demo.run",
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY_NAMES)


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names above load lazily
    from .run import run_demo  # noqa: F401
    from .settings import DEMO_SENTENCES, DemoSettings  # noqa: F401

__all__ = ["DEMO_SENTENCES", "DemoSettings", "run_demo"]
