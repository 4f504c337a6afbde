"""The demo's corpus (signbridge.demo.jobs.demo_corpus) on real annotations with a synthesised signal."""

from __future__ import annotations

import numpy as np

from signbridge.data.slrt import read_slrt_annotations
from signbridge.demo import DemoSettings
from signbridge.demo.jobs import demo_corpus


def test_demo_corpus_on_phoenix_annotations(phoenix_dir):
    settings = DemoSettings(annotations_dir=str(phoenix_dir), train_size=400, dev_size=3, test_size=2)
    corpus = demo_corpus(settings)
    assert {k: len(v) for k, v in corpus.items()} == {"train": 400, "dev": 3, "test": 2}
    dev = read_slrt_annotations(phoenix_dir / "phoenix-2014t_cleaned.dev")[:3]
    assert [e["text"] for e in corpus["dev"]] == [r["text"] for r in dev]
    assert [e["poses"].shape[0] for e in corpus["dev"]] == [r["num_frames"] for r in dev]
    # the demo's translators keep at most 40 target tokens: longer training sentences are left out
    assert max(len(e["text"].split()) for e in corpus["train"]) <= 38
    kept = [
        r
        for r in read_slrt_annotations(phoenix_dir / "phoenix-2014t_cleaned.train")
        if len(r["text"].split()) <= 38
    ]
    assert [e["name"] for e in corpus["train"]] == [r["name"] for r in kept[:400]]


class _Events:
    def put(self, _event):
        pass


def test_back_translator_job_starts_from_sign2gloss(tmp_path):
    """``sign2gloss_epochs > 0``: the back-translator's visual head is the Sign2Gloss stage's, kept frozen."""
    import torch
    from safetensors.torch import load_file

    from signbridge.demo.jobs import translator_job
    from signbridge.demo.settings import translator_model_config
    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    settings = DemoSettings(
        train_size=48, dev_size=4, test_size=4, backtranslator_epochs=1.0, sign2gloss_epochs=1.0, seed=3
    )
    config = translator_model_config(200, d_model=16, layers=1)
    threads = torch.get_num_threads()
    try:
        results = translator_job("backtranslator", settings, str(tmp_path), config, _Events())
    finally:
        torch.set_num_threads(threads)
    stage = results["sign2gloss"]
    assert stage["history"] and all(np.isfinite(h["loss"]) for h in stage["history"])
    stage_weights = load_file(str(tmp_path / "backtranslator" / "sign2gloss.safetensors"))
    model = CVSLTForConditionalGeneration.from_pretrained(results["model_dir"])
    # the frozen visual head's weights are the stage's (its batch-norm statistics still follow the data)
    head = {
        f"visual_head.{k}": v
        for k, v in model.visual_head.state_dict().items()
        if "running" not in k and "num_batches" not in k
    }
    assert head and all(torch.equal(head[k], stage_weights[k]) for k in head)
    # the encoder layers were trained on after the stage: they moved
    key = next(k for k in stage_weights if k.startswith("model.encoder.layers."))
    assert not torch.equal(model.state_dict()[key], stage_weights[key])


def test_sign2gloss_needs_glosses(tmp_path):
    import pytest

    from signbridge.demo import jobs

    settings = DemoSettings(train_size=8, dev_size=2, test_size=2, sign2gloss_epochs=1.0, seed=5)
    corpus = jobs.demo_corpus(settings)
    corpus["train"][0] = {**corpus["train"][0], "gloss": ""}  # the cached corpus the job reads
    try:
        with pytest.raises(ValueError, match="needs a gloss sequence for every sample"):
            jobs.translator_job("backtranslator", settings, str(tmp_path), {}, _Events())
    finally:
        jobs._CORPUS_CACHE.clear()
