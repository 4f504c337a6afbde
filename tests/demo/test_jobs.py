"""The demo's corpus (signbridge.demo.jobs.demo_corpus) on real annotations with a synthesised signal."""

from __future__ import annotations

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
