"""The README's Python blocks run: every ```python block is executed, in order, in one namespace, in a temp folder.

Conventions (also in the README, under "Set up and run"):

- ``<!-- readme-test: skip (reason) -->`` on the line before a block skips it (a block that needs a download, real
  corpora or an optional extra). The reason is required.
- Blocks are fragments: names a block uses without defining (``feats``, ``tokenizer``, ``train``...) are made by a
  setup hook here, keyed by a line of the block, with tiny sizes. Folders the README names (``demo_output/models/...``,
  ``path/to/bert``, ``runs/pose_autoencoder_synthetic``) are written by the hooks into the temp folder.
- :data:`SUBSTITUTIONS` shrink corpus sizes the README states (4000 training sequences take 30 s to generate).

Every hook key and substitution must match the README, so an edited block whose hook went stale fails here too.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->")

#: (text in the README's Python code, what runs instead): corpus sizes only; each must occur at least once
SUBSTITUTIONS = [
    (
        'load_sign_dataset("synthetic")',
        'load_sign_dataset("synthetic", train_size=8, dev_size=4, test_size=4)',
    ),
    ("train_size=200, seed=3", "train_size=12, dev_size=4, test_size=4, seed=3"),
    ("corpus = generate_corpus()", "corpus = generate_corpus(train_size=12, dev_size=4, test_size=4)"),
    ("train_size=200, dev_size=20, test_size=20", "train_size=6, dev_size=2, test_size=2"),
    ("SyntheticCorpusConfig(seed=1)", "SyntheticCorpusConfig(seed=1, dev_size=3)"),
    # the real annotations beside the clone (../shared), 20 samples a split instead of all 8257
    ('data_dir="../shared/data/phoenix-2014t")', "data_dir=PHOENIX_DIR, max_samples=20)"),
    ('data_dir="../shared/data/phoenix-2014t",', "data_dir=PHOENIX_DIR,"),
]

PHOENIX_DIR = REPO.parent / "shared" / "data" / "phoenix-2014t"


class SkipBlock(Exception):
    """Raised by a hook when its block needs something this machine lacks (the test then skips that block only)."""


def readme_blocks(text: str) -> list[dict]:
    """The ```python blocks: first line number (1-based, of the code), code, and the skip reason if marked."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            match = SKIP.search(previous)
            code = "\n".join(lines[start:end])
            blocks.append({"line": start + 1, "code": code, "skip": match and match.group("reason").strip()})
            i = end
        i += 1
    return blocks


# ------------------------------------------------------------------------------------------------------ setup hooks
def _corpus():
    from signbridge.data.synthetic import generate_corpus

    return generate_corpus(train_size=12, dev_size=4, test_size=4, seed=0)


def _five_lines(ns, corpus):
    """Saved CV-SLT and NAR-SLP folders where the demo writes them, and a batch of features."""
    import torch

    from signbridge import CVSLTConfig, CVSLTForConditionalGeneration
    from signbridge.tokenization import train_corpus_tokenizer

    texts = [ex["text"] for ex in corpus["train"]]
    tok = train_corpus_tokenizer(texts, level="word", lang_code="de_DE")
    config = CVSLTConfig(
        feature_dim=832,
        vocab_size=len(tok),
        tgt_lang_code_id=tok.convert_tokens_to_ids("de_DE"),
        **_TINY_CVSLT,
    )
    torch.manual_seed(0)
    CVSLTForConditionalGeneration(config).save_pretrained("demo_output/models/cvslt/model")
    tok.save_pretrained("demo_output/models/cvslt/model")
    _save_tiny_producer(corpus, "demo_output/models/nar_slp")
    examples = corpus["dev"][:2]
    length = max(len(ex["features"]) for ex in examples)
    ns["feats"] = torch.zeros(len(examples), length, 832)
    ns["mask"] = torch.zeros(len(examples), length, dtype=torch.long)
    for i, ex in enumerate(examples):
        ns["feats"][i, : len(ex["features"])] = torch.from_numpy(ex["features"])
        ns["mask"][i, : len(ex["features"])] = 1


_TINY_CVSLT = {
    "d_model": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "latent_dim": 8,
    "visual_hidden_size": 32,
    "visual_ffn_dim": 64,
}


def _save_tiny_producer(corpus, folder):
    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.pose_vae import PoseVAEConfig, PoseVAEModel
    from signbridge.training.nar_slp import (
        NARSignProducerArguments,
        build_nar_producer,
        build_nar_tokenizer,
        save_producer,
    )

    vae = PoseVAEModel(PoseVAEConfig(num_joints=50, joint_dim=3, hidden_sizes=[32, 16], latent_dim=8))
    vae.config.set_normalization(PoseNormalizer.fit(ex["poses"] for ex in corpus["train"]))
    tokenizer = build_nar_tokenizer([ex["text"] for ex in corpus["train"]], vocab_size=300)
    args = NARSignProducerArguments(
        text_encoder_config={
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 32,
        },
        producer_config={
            "d_model": 16,
            "decoder_layers": 1,
            "decoder_attention_heads": 2,
            "decoder_ffn_dim": 32,
        },
    )
    save_producer(build_nar_producer(vae, tokenizer, args), tokenizer, folder)


def _processors_and_pipelines(ns, corpus):
    """What the demo saves beside the five-line folders: the CV-SLT folder's processor, and the pose-input
    back-translator (a CV-SLT folder with a pose feature extractor holding the training statistics)."""
    import torch
    from transformers import AutoTokenizer

    from signbridge import CVSLTConfig, CVSLTForConditionalGeneration
    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.cvslt import CVSLTProcessor, SignFeatureExtractor, SignPoseFeatureExtractor
    from signbridge.training.model_folder import finish_model_folder

    tok = AutoTokenizer.from_pretrained("demo_output/models/cvslt/model")
    features = SignFeatureExtractor(feature_size=832)
    finish_model_folder("demo_output/models/cvslt/model", processor=CVSLTProcessor(features, tok))
    config = CVSLTConfig(
        feature_dim=150,
        vocab_size=len(tok),
        tgt_lang_code_id=tok.convert_tokens_to_ids("de_DE"),
        **_TINY_CVSLT,
    )
    torch.manual_seed(0)
    folder = "demo_output/models/backtranslator/model"
    CVSLTForConditionalGeneration(config).save_pretrained(folder)
    poses = SignPoseFeatureExtractor(
        normalization=PoseNormalizer.fit(ex["poses"] for ex in corpus["train"]).to_dict()
    )
    finish_model_folder(folder, processor=CVSLTProcessor(poses, tok))


def _loading(ns, corpus):
    """Tiny corpora in the real formats where the block reads them (data/...), written by write_corpus."""
    from signbridge.data.synthetic import write_corpus

    for folder, prefix in (("data/phoenix-2014t", "phoenix-2014t_cleaned"), ("data/csl-daily", "csl-daily")):
        written = write_corpus(corpus, folder, format="slrt")
        (written / "features").mkdir()
        for split in ("train", "dev", "test"):
            (written / f"synthetic.{split}").rename(written / f"{prefix}.{split}")
            (written / f"synthetic.{split}.features").rename(
                written / "features" / f"{prefix}.{split}.features"
            )
    write_corpus(corpus, "data/phoenix14t-skels", format="skels")
    write_corpus(corpus, "data/lexicon", format="pose")


def _normalisation(ns, corpus):
    ns["poses"] = ns["corpus"]["train"][0]["poses"]


def _collators(ns, corpus):
    from signbridge.tokenization import train_bert_tokenizer, train_corpus_tokenizer

    texts = [ex["text"] for ex in corpus["train"]]
    ns["tokenizer"] = train_corpus_tokenizer(texts, level="word", lang_code="de_DE")
    ns["bert_tokenizer"] = train_bert_tokenizer(texts, vocab_size=300)
    ns["examples"] = corpus["train"][:3]


def _tokenizers(ns, corpus):
    ns["train_texts"] = [ex["text"] for ex in corpus["train"]]


def _cvslt_model(ns, corpus):
    from signbridge.data.collators import SignTranslationCollator
    from signbridge.tokenization import train_corpus_tokenizer

    # the German tokenizer (the block before ends with a Chinese one)
    tokenizer = train_corpus_tokenizer(
        [ex["text"] for ex in corpus["train"]], level="word", lang_code="de_DE"
    )
    batch = SignTranslationCollator(tokenizer)(corpus["dev"][:2])
    ns.update(
        tokenizer=tokenizer,
        feats=batch["input_features"],
        mask=batch["attention_mask"],
        labels=batch["labels"],
    )


def _cvslt_trainer(ns, corpus):
    from datasets import Dataset

    def dataset(examples):
        return Dataset.from_dict(
            {"features": [ex["features"] for ex in examples], "text": [ex["text"] for ex in examples]}
        )

    ns["train"], ns["dev"] = dataset(corpus["train"][:8]), dataset(corpus["dev"])


def _production(ns, corpus):
    import torch
    from transformers import BertConfig, BertModel

    from signbridge.data.collators import PoseProductionCollator
    from signbridge.data.normalization import PoseNormalizer

    tokenizer = ns["bert_tokenizer"]
    BertModel(
        BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2),
        add_pooling_layer=False,
    ).save_pretrained("path/to/bert")
    normalizer = PoseNormalizer.fit(ex["poses"] for ex in corpus["train"])
    batch = PoseProductionCollator(tokenizer, normalizer=normalizer)(corpus["dev"][:2])
    ns.update(
        train=corpus["train"],
        frames=torch.from_numpy(corpus["train"][0]["poses"]),
        tokenizer=tokenizer,
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        normalised_poses=batch["pose_labels"],
        pose_mask=batch["pose_mask"],
    )


def _translation_scores(ns, corpus):
    ns["refs"] = [ex["text"] for ex in corpus["dev"]]
    ns["hyps"] = [" ".join(ref.split()[:-2]) + " ." for ref in ns["refs"]]


def _fgd(ns, corpus):
    from signbridge.data.normalization import PoseNormalizer
    from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel

    normalizer = PoseNormalizer.fit(ex["poses"] for ex in corpus["train"])
    config = PoseAutoencoderConfig(
        num_joints=50,
        joint_dim=3,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
    )
    config.normalization = normalizer.to_dict()
    PoseAutoencoderModel(config).save_pretrained("runs/pose_autoencoder_synthetic")
    ns["real_poses"] = [ex["poses"] for ex in corpus["train"]]
    ns["produced_poses"] = [ex["poses"] + 0.05 for ex in corpus["dev"] + corpus["test"]]


def _real_annotations(ns, corpus):
    """The PHOENIX14T annotation sample of ../shared; the block is skipped (and said so) where it is absent."""
    if not PHOENIX_DIR.is_dir():
        raise SkipBlock(f"{PHOENIX_DIR} is absent (../shared holds the real annotation samples)")
    ns["PHOENIX_DIR"] = str(PHOENIX_DIR)


def _modality_gap(ns, corpus):
    """A tiny CV-SLT model, its collator and dev examples of the embedded corpus."""
    import torch

    from signbridge import CVSLTConfig, CVSLTForConditionalGeneration
    from signbridge.data.collators import SignTranslationCollator
    from signbridge.tokenization import train_corpus_tokenizer

    tokenizer = train_corpus_tokenizer(
        [ex["text"] for ex in corpus["train"]], level="word", lang_code="de_DE"
    )
    config = CVSLTConfig(
        feature_dim=832,
        vocab_size=len(tokenizer),
        tgt_lang_code_id=tokenizer.convert_tokens_to_ids("de_DE"),
        **_TINY_CVSLT,
    )
    torch.manual_seed(0)
    ns.update(
        model=CVSLTForConditionalGeneration(config).eval(),
        collator=SignTranslationCollator(tokenizer),
        dev_examples=corpus["dev"][:3],
    )


#: a line of the block -> the hook that runs before it
HOOKS = {
    "gap = modality_gap(model, [collator(dev_examples)])": _modality_gap,
    'ds = load_sign_dataset("phoenix14t_synthetic"': _real_annotations,
    "translator = AutoModelForSeq2SeqLM.from_pretrained(": _five_lines,
    'translate = signbridge.pipeline("sign-language-translation"': _processors_and_pipelines,
    'ds = load_sign_dataset("synthetic")': _loading,
    'normalizer = PoseNormalizer.fit(ex["poses"] for ex in corpus["train"])': _normalisation,
    "collate = SignTranslationCollator(tokenizer": _collators,
    'tokenizer = train_corpus_tokenizer(train_texts, level="word"': _tokenizers,
    "config = CVSLTConfig(feature_dim=832": _cvslt_model,
    'args = CVSLTTrainingArguments(output_dir="runs/x"': _cvslt_trainer,
    "# 1. a per-frame pose VAE": _production,
    "translation_scores(hyps, refs)": _translation_scores,
    'fgd = FGD(model="runs/pose_autoencoder_synthetic")': _fgd,
}


# ------------------------------------------------------------------------------------------------------------ tests
def test_readme_conventions_hold():
    text = README.read_text(encoding="utf-8")
    blocks = readme_blocks(text)
    assert len(blocks) >= 10
    for marker in re.findall(r"<!--\s*readme-test[^>]*-->", text):
        assert SKIP.fullmatch(marker), (
            f"malformed readme-test marker {marker!r}: write <!-- readme-test: skip (reason) -->"
        )
    runnable = [b for b in blocks if not b["skip"]]
    for key in HOOKS:
        found = [b["line"] for b in runnable if key in b["code"]]
        assert len(found) == 1, (
            f"hook key {key!r} matches the runnable README blocks at lines {found}, not one"
        )
    code = "\n".join(b["code"] for b in runnable)
    for old, _ in SUBSTITUTIONS:
        assert old in code, f"substitution {old!r} no longer matches the README: update SUBSTITUTIONS"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    pytest.importorskip("pose_format", reason="the README's .pose examples need pose-format (the dev extra)")
    pytest.importorskip("evaluate", reason="the README's FGD example needs evaluate (the dev extra)")
    import datasets
    import torch

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets-cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    corpus = _corpus()
    namespace: dict = {"__name__": "readme"}
    timings = []
    try:
        for block in readme_blocks(README.read_text(encoding="utf-8")):
            if block["skip"]:
                continue
            code = block["code"]
            for old, new in SUBSTITUTIONS:
                code = code.replace(old, new)
            start = time.perf_counter()
            try:
                for key, hook in HOOKS.items():
                    if key in block["code"]:
                        hook(namespace, corpus)
            except SkipBlock as reason:
                print(f"README.md block at line {block['line']} skipped: {reason}")
                continue
            # compiled at its README line, so a traceback points into README.md
            compiled = compile("\n" * (block["line"] - 1) + code, str(README), "exec")
            try:
                exec(compiled, namespace)
            except Exception as exc:
                raise AssertionError(
                    f"README.md block at line {block['line']} failed: {type(exc).__name__}: {exc}"
                ) from exc
            timings.append((block["line"], round(time.perf_counter() - start, 2)))
    finally:
        torch.set_num_threads(threads)
    print("README blocks (line, seconds):", timings)
    assert np.isfinite(namespace["result"]["fgd_x10"])  # the last block's score
