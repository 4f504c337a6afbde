"""signbridge.evaluation.production: baselines, produce_poses, the Table 1 rows, tables and comparisons."""

import numpy as np
import pytest
import torch
from nar_fixtures import TINY_BERT, TINY_PRODUCER, tiny_backtranslator

from signbridge.evaluation import production
from signbridge.metrics import dtw_distance
from signbridge.training import nar_slp

torch.set_num_threads(1)


def test_baselines(corpus):
    train = [e["poses"] for e in corpus["train"]]
    mean = production.mean_pose(train)
    np.testing.assert_allclose(mean, np.concatenate(train).mean(0), rtol=1e-5, atol=1e-6)
    seqs = production.baseline_mean(train, [3, 7])
    assert [len(s) for s in seqs] == [3, 7]
    assert np.all(seqs[1] == mean[None])
    drawn = production.baseline_random(train, 5, seed=1)
    assert len(drawn) == 5
    # one real training sequence, the same for every input (the paper's constant "Random" model)
    assert any(np.array_equal(drawn[0], t) for t in train)
    assert all(np.array_equal(d, drawn[0]) for d in drawn)
    assert np.array_equal(drawn[0], production.baseline_random(train, 2, seed=1)[0])
    others = {len(production.baseline_random(train, 1, seed=s)[0]) for s in range(8)}
    assert len(others) > 1  # the seed picks the sequence


def test_produce_poses_lengths_and_errors(corpus, vae, tokenizer):
    model = nar_slp.build_nar_producer(
        vae,
        tokenizer,
        nar_slp.NARSignProducerArguments(text_encoder_config=TINY_BERT, producer_config=TINY_PRODUCER),
    )
    texts = [e["text"] for e in corpus["dev"][:3]]
    poses, lengths = production.produce_poses(model, tokenizer, texts, batch_size=2)
    batch = tokenizer(texts, padding=True, return_tensors="pt", return_token_type_ids=False)
    expected = model.generate_poses(batch["input_ids"], batch["attention_mask"])
    assert lengths.tolist() == expected.lengths.tolist()
    for i, p in enumerate(poses):
        assert p.shape == (int(expected.lengths[i]), 50, 3)
        np.testing.assert_allclose(p, expected.poses[i, : len(p)].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="empty"):
        production.produce_poses(model, tokenizer, ["  "])


def test_evaluate_production_table(corpus, vae, tokenizer, tae):
    model = nar_slp.build_nar_producer(
        vae,
        tokenizer,
        nar_slp.NARSignProducerArguments(text_encoder_config=TINY_BERT, producer_config=TINY_PRODUCER),
    )
    # untrained: pin the length regulator at ratio 0.5 (128 frames) so that every sequence has FGD windows
    # (a random regulator may predict fewer than 34 frames for all of them, which FGD rightly refuses)
    torch.nn.init.zeros_(model.length_regulator.layers[-1].weight)
    torch.nn.init.zeros_(model.length_regulator.layers[-1].bias)
    lines = []
    results = production.evaluate_production(
        {production.NAR_WITH_KD: (model, tokenizer)},
        {"dev": corpus["dev"], "test": corpus["test"]},
        corpus["train"],
        tae=tae,
        back_translator=tiny_backtranslator(corpus),
        progress=False,
        report=lines.append,
    )
    assert set(results) == {"dev", "test"}
    assert list(results["test"]) == [
        production.GROUND_TRUTH,
        production.MEAN,
        production.RANDOM,
        production.NAR_WITH_KD,
    ]
    gt, mean = results["test"][production.GROUND_TRUTH], results["test"][production.MEAN]
    assert gt["fgd"] == pytest.approx(0.0, abs=1e-6) and gt["dtw"] == 0.0 and gt["dur_acc"] == 1.0
    assert mean["dur_acc"] == 1.0 and mean["fgd"] > 0
    assert mean["fgd_x10"] == pytest.approx(10 * mean["fgd"])
    refs = corpus["test"]
    mean_seqs = production.baseline_mean(
        [e["poses"] for e in corpus["train"]], [len(e["poses"]) for e in refs]
    )
    assert mean["dtw"] == pytest.approx(
        np.mean([dtw_distance(m, e["poses"]) for m, e in zip(mean_seqs, refs, strict=False)])
    )
    for row in results["dev"].values():
        assert {k for k, _ in production.TABLE_COLUMNS} <= set(row)
        assert all(0.0 <= row[k] <= 100.0 for k in ("bleu1", "bleu4", "rouge_l"))
    table = lines[0]
    for header in ("FGD x10", "BLEU-1", "BLEU-4", "ROUGE-L", "DurACC", "DTW", "[DEV]", "[TEST]", "Random"):
        assert header in table
    md = production.format_markdown_table(results)
    assert md.count("\n") == 2 + 2 * 4


def test_evaluate_production_with_comparisons(corpus, vae, tokenizer, tae):
    """Each pair of rows gets a paired bootstrap over the test sentences; its single-run values are the table's."""
    model = nar_slp.build_nar_producer(
        vae,
        tokenizer,
        nar_slp.NARSignProducerArguments(text_encoder_config=TINY_BERT, producer_config=TINY_PRODUCER),
    ).eval()
    torch.nn.init.zeros_(model.length_regulator.layers[-1].weight)
    torch.nn.init.zeros_(model.length_regulator.layers[-1].bias)
    producers = {production.NAR_WITHOUT_KD: (model, tokenizer), production.NAR_WITH_KD: (model, tokenizer)}
    assert production.default_comparisons(list(producers)) == [
        (production.NAR_WITHOUT_KD, production.MEAN),
        (production.NAR_WITHOUT_KD, production.RANDOM),
        (production.NAR_WITH_KD, production.MEAN),
        (production.NAR_WITH_KD, production.RANDOM),
        (production.NAR_WITH_KD, production.NAR_WITHOUT_KD),
    ]
    lines = []
    table, compared = production.evaluate_production_with_comparisons(
        producers,
        {"test": corpus["test"]},
        corpus["train"],
        tae=tae,
        num_resamples=50,
        progress=False,
        report=lines.append,
    )
    assert list(compared) == ["test"] and len(compared["test"]) == 5
    rows = table["test"]
    for record in compared["test"].values():
        for metric, key in (("fgd_x10", "fgd_x10"), ("dur_acc", "dur_acc")):
            r = record[metric]
            assert r["a_value"] == pytest.approx(rows[r["a"]][key], rel=1e-5, abs=1e-9)
            assert r["b_value"] == pytest.approx(rows[r["b"]][key], rel=1e-5, abs=1e-9)
            assert r["num_resamples"] == 50 and r["num_sentences"] == len(corpus["test"])
            assert r["a_below_b"] == (r["interval"][1] < 0)
    # one model under two names: the same poses, a difference of exactly 0 in every resample
    same = compared["test"][f"{production.NAR_WITH_KD} vs {production.NAR_WITHOUT_KD}"]["fgd_x10"]
    assert same["interval"] == [0.0, 0.0] and same["p_a_below_b"] == 0.0 and not same["a_below_b"]
    assert "Paired bootstrap" in lines[0] and "P(A<B)" in lines[0] and "[TEST]" in lines[0]
    # the same seeds give the same comparisons; no pairs, none
    again = production.evaluate_production_with_comparisons(
        producers,
        {"test": corpus["test"]},
        corpus["train"],
        tae=tae,
        num_resamples=50,
        progress=False,
        report=lambda text: None,
    )
    assert again[1] == compared
    _, none = production.evaluate_production_with_comparisons(
        producers,
        {"test": corpus["test"]},
        corpus["train"],
        tae=tae,
        comparisons=[],
        progress=False,
        report=lambda text: None,
    )
    assert none == {}


def test_evaluate_production_script_refuses_comparisons_json_without_comparisons(tmp_path):
    with pytest.raises(ValueError, match="--comparisons_json needs --comparisons"):
        production.main(["--comparisons_json", str(tmp_path / "c.json")])


def test_score_production_refuses_mismatched_or_bad_input(corpus, tae):
    refs = corpus["dev"][:2]
    with pytest.raises(ValueError, match="2 references"):
        production.score_production([refs[0]["poses"]], refs, tae=tae)
    bad = [np.full_like(r["poses"], np.nan) for r in refs]
    with pytest.raises(ValueError, match="NaN"):
        production.score_production(bad, refs, tae=tae)
    wrong = [r["poses"][:, :49] for r in refs]
    with pytest.raises(ValueError, match="expected 50 joints"):
        production.score_production(wrong, refs, tae=tae)
