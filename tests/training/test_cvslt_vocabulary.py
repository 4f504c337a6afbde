"""Vocabulary pruning of an mBART checkpoint and decoding back (tiny random mBART saved by the test)."""

from __future__ import annotations

import json

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, MBartConfig, MBartForConditionalGeneration, PreTrainedTokenizerFast

from signbridge.models.cvslt import CVSLTForConditionalGeneration, prune_mbart_vocabulary
from signbridge.tokenization import train_corpus_tokenizer

ALL_TEXTS = [
    "am montag regnet es im norden .",
    "heute scheint die sonne im sueden .",
    "morgen gibt es gewitter und sturm an der kueste .",
    "in der nacht wird es frostig kalt .",
]
CORPUS = ALL_TEXTS[:2]  # the sign corpus uses fewer words than the "pretrained" vocabulary holds


def _script():
    """The functions behind scripts/prune_mbart_vocab.py (the script itself is a thin entry over them)."""
    from signbridge.training import cvslt_vocabulary

    return cvslt_vocabulary


def _tiny_mbart(vocab_size: int, lang_id: int) -> MBartForConditionalGeneration:
    torch.manual_seed(0)
    config = MBartConfig(
        vocab_size=vocab_size,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=48,
        scale_embedding=True,
        init_std=0.3,
        decoder_start_token_id=lang_id,
    )
    model = MBartForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.final_logits_bias.normal_()
    return model


@pytest.fixture
def checkpoint(tmp_path):
    tokenizer = train_corpus_tokenizer(ALL_TEXTS, lang_code="de_DE")
    lang_id = tokenizer.convert_tokens_to_ids("de_DE")
    folder = tmp_path / "mbart"
    _tiny_mbart(len(tokenizer), lang_id).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    corpus_file = tmp_path / "train.txt"
    corpus_file.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    return folder, corpus_file


def test_prune_round_trip(tmp_path, checkpoint):
    folder, corpus_file = checkpoint
    out = tmp_path / "pruned"
    summary = _script().main(
        [
            "--mbart_name_or_path",
            str(folder),
            "--text_file",
            str(corpus_file),
            "--output_dir",
            str(out),
            "--lang_code",
            "de_DE",
        ]
    )
    original_tok = AutoTokenizer.from_pretrained(folder)
    pruned_tok = AutoTokenizer.from_pretrained(out)
    id_map = json.loads((out / "vocab_id_map.json").read_text())["kept_ids"]
    corpus_ids = {i for text in CORPUS for i in original_tok(text)["input_ids"]}
    assert set(id_map) == corpus_ids | set(original_tok.all_special_ids)
    assert summary["pruned_vocab_size"] == len(id_map) < summary["original_vocab_size"] == len(original_tok)
    assert summary["tokenizer_pruned"]

    original = MBartForConditionalGeneration.from_pretrained(folder).eval()
    pruned = MBartForConditionalGeneration.from_pretrained(out).eval()
    assert pruned.config.vocab_id_map == id_map
    assert pruned.config.vocab_size == len(id_map)
    assert id_map[pruned.config.pad_token_id] == original.config.pad_token_id
    assert id_map[pruned.config.eos_token_id] == original.config.eos_token_id
    assert id_map[pruned.config.decoder_start_token_id] == original.config.decoder_start_token_id

    # the pruned tokenizer emits exactly the remapped ids and decodes them back to the text
    position = {old: new for new, old in enumerate(id_map)}
    for text in CORPUS:
        old_ids = original_tok(text)["input_ids"]
        new_ids = pruned_tok(text)["input_ids"]
        assert new_ids == [position[i] for i in old_ids]
        assert pruned_tok.decode(new_ids, skip_special_tokens=True) == text

    # logits of the pruned model are the original logits at the kept columns
    batch = original_tok(CORPUS, return_tensors="pt", padding=True)
    pruned_batch = pruned_tok(CORPUS, return_tensors="pt", padding=True)
    with torch.no_grad():
        full = original(**batch, labels=batch["input_ids"]).logits
        small = pruned(**pruned_batch, labels=pruned_batch["input_ids"]).logits
    torch.testing.assert_close(small, full[..., id_map], atol=1e-5, rtol=1e-5)


def test_cvslt_from_pruned_mbart_decodes_to_text(tmp_path, checkpoint):
    folder, corpus_file = checkpoint
    out = tmp_path / "pruned"
    _script().main(
        ["--mbart_name_or_path", str(folder), "--text_file", str(corpus_file), "--output_dir", str(out)]
    )
    original_tok = AutoTokenizer.from_pretrained(folder)
    pruned_tok = AutoTokenizer.from_pretrained(out)
    lang = pruned_tok.convert_tokens_to_ids("de_DE")
    overrides = {
        "feature_dim": 6,
        "visual_hidden_size": 8,
        "visual_ffn_dim": 16,
        "max_sign_positions": 20,
        "latent_dim": 4,
        "dropout": 0.0,
        "visual_dropout": 0.0,
    }
    from_folder = CVSLTForConditionalGeneration.from_mbart(out, tgt_lang_code_id=lang, **overrides).eval()
    # the same model from the full checkpoint with keep_token_ids (token ids are the checkpoint's own)
    id_map = from_folder.config.vocab_id_map
    from_full = CVSLTForConditionalGeneration.from_mbart(
        folder,
        keep_token_ids=id_map,
        tgt_lang_code_id=original_tok.convert_tokens_to_ids("de_DE"),
        **overrides,
    ).eval()
    assert from_full.config.vocab_id_map == id_map
    assert from_full.config.tgt_lang_code_id == lang
    from_full.load_state_dict(from_folder.state_dict())  # same shapes: only the new modules differed

    features = torch.randn(2, 5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    generated = from_folder.generate(
        input_features=features, attention_mask=mask, num_beams=2, max_new_tokens=6
    )
    assert torch.equal(
        generated,
        from_full.generate(input_features=features, attention_mask=mask, num_beams=2, max_new_tokens=6),
    )
    original_ids = from_folder.map_generated_ids_to_original(generated)
    for row, orig_row in zip(generated, original_ids, strict=True):
        assert original_tok.decode(orig_row, skip_special_tokens=True) == pruned_tok.decode(
            row, skip_special_tokens=True
        )
    assert set(original_ids.flatten().tolist()) <= set(id_map)

    labels = original_tok(CORPUS, return_tensors="pt", padding=True)["input_ids"]
    labels[labels == original_tok.pad_token_id] = -100
    mapped = from_folder.map_original_ids_to_pruned(labels)
    assert torch.equal(
        from_folder.map_generated_ids_to_original(mapped.clamp(min=0))[labels != -100], labels[labels != -100]
    )
    assert (mapped[labels == -100] == -100).all()
    pruned_labels = pruned_tok(CORPUS, return_tensors="pt", padding=True)["input_ids"]
    assert torch.equal(mapped[labels != -100], pruned_labels[labels != -100])
    removed = max(set(range(len(original_tok))) - set(id_map))
    with pytest.raises(ValueError, match="not in the pruned vocabulary"):
        from_folder.map_original_ids_to_pruned(torch.tensor([[removed]]))


def test_prune_rejects_dropping_special_tokens():
    mbart = _tiny_mbart(20, 5)
    with pytest.raises(ValueError, match="pad_token_id=1 is not among keep_token_ids"):
        prune_mbart_vocabulary(mbart, [0, 2, 3, 5, 7])
    with pytest.raises(ValueError, match="sorted"):
        prune_mbart_vocabulary(mbart, [0, 2, 1])


def test_unigram_tokenizer_pruning_keeps_corpus_segmentation():
    script = _script()
    backend = Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.train_from_iterator(
        ALL_TEXTS * 5,
        trainers.UnigramTrainer(
            vocab_size=60,
            special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
            unk_token="<unk>",
            show_progress=False,
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    keep = script.collect_keep_ids(tokenizer, CORPUS)
    assert len(keep) < len(tokenizer)
    pruned = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(script.prune_tokenizer_json(backend.to_str(), keep)),
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    position = {old: new for new, old in enumerate(keep)}
    for text in CORPUS:
        old_ids = tokenizer(text)["input_ids"]
        assert pruned(text)["input_ids"] == [position[i] for i in old_ids]
        assert pruned.decode(pruned(text)["input_ids"]) == tokenizer.decode(old_ids)


def test_prune_with_an_mbart_tokenizer_keeps_language_codes_and_segmentation(tmp_path):
    """The mbart-large-cc25 situation in miniature: a sentencepiece (Unigram) MBartTokenizer whose language codes
    are added tokens after the pieces; the pruned folder still loads as MBartTokenizer and switches languages."""
    from transformers import MBartTokenizer

    backend = Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.train_from_iterator(
        ALL_TEXTS * 5,
        trainers.UnigramTrainer(
            vocab_size=80,
            special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
            unk_token="<unk>",
            show_progress=False,
        ),
    )
    pieces = [tuple(piece) for piece in json.loads(backend.to_str())["model"]["vocab"]]
    tokenizer = MBartTokenizer(vocab=pieces, src_lang="en_XX", tgt_lang="de_DE")
    folder = tmp_path / "mbart"
    tokenizer.save_pretrained(folder)
    _tiny_mbart(len(tokenizer), tokenizer.convert_tokens_to_ids("de_DE")).save_pretrained(folder)
    corpus_file = tmp_path / "train.txt"
    corpus_file.write_text("\n".join(CORPUS), encoding="utf-8")
    out = tmp_path / "pruned"
    summary = _script().main(
        ["--mbart_name_or_path", str(folder), "--text_file", str(corpus_file), "--output_dir", str(out)]
    )
    assert summary["tokenizer_pruned"] and summary["pruned_vocab_size"] < summary["original_vocab_size"]
    pruned = AutoTokenizer.from_pretrained(out, src_lang="en_XX", tgt_lang="de_DE")
    assert isinstance(pruned, MBartTokenizer)
    id_map = json.loads((out / "vocab_id_map.json").read_text())["kept_ids"]
    position = {old: new for new, old in enumerate(id_map)}
    for text in CORPUS:
        old_ids = tokenizer(text_target=text)["input_ids"]
        new_ids = pruned(text_target=text)["input_ids"]
        assert old_ids[-1] == tokenizer.convert_tokens_to_ids("de_DE")
        assert new_ids == [position[i] for i in old_ids]
        assert pruned.decode(new_ids, skip_special_tokens=True) == text
    # every language code survives, so the tokenizer can still switch target languages
    assert pruned.convert_tokens_to_ids("fr_XX") == position[tokenizer.convert_tokens_to_ids("fr_XX")]


# ------------------------------------------------------------------------------------------------ segmentation


def _unigram_tokenizer():
    """A Unigram model where pruning to the corpus' pieces changes a segmentation unless the lowest piece stays:
    "xab" -> [xa, b] with the full vocabulary; with only {xa, b, ab} the unknown-character score rises to
    min(-12, -12, -1) - 10 = -22, and [<unk>(x), ab] (-23) beats [xa, b] (-24)."""
    from tokenizers import Tokenizer, models

    vocab = [("<unk>", 0.0), ("xa", -12.0), ("b", -12.0), ("ab", -1.0), ("x", -30.0), ("a", -30.0)]
    backend = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=False))
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")


def test_pruning_keeps_every_corpus_segmentation():
    from tokenizers import Tokenizer

    tokenizer, texts = _unigram_tokenizer(), ["xab", "ab"]
    original = [tokenizer.backend_tokenizer.encode(t).tokens for t in texts]
    assert original == [["xa", "b"], ["ab"]]
    script = _script()
    naive = sorted(
        {0} | {i for t in texts for i in tokenizer.backend_tokenizer.encode(t).ids}
    )  # the corpus' pieces
    naive_json = script.prune_tokenizer_json(tokenizer.backend_tokenizer.to_str(), naive)
    assert Tokenizer.from_str(naive_json).encode("xab").ids == [0, 3]  # [<unk>, ab]: the counterexample
    with pytest.raises(ValueError, match="change the tokens of 1 of 2 corpus text"):
        script.check_same_segmentation(tokenizer.backend_tokenizer.to_str(), naive_json, texts, naive)
    keep = script.collect_keep_ids(tokenizer, texts)
    assert 4 in keep or 5 in keep  # the lowest-scoring piece ("x" or "a", score -30) is kept
    pruned_json = script.prune_tokenizer_json(tokenizer.backend_tokenizer.to_str(), keep)
    script.check_same_segmentation(tokenizer.backend_tokenizer.to_str(), pruned_json, texts, keep)
    position = {old: new for new, old in enumerate(keep)}
    for text in texts:
        before = tokenizer.backend_tokenizer.encode(text).ids
        assert Tokenizer.from_str(pruned_json).encode(text).ids == [position[i] for i in before]
