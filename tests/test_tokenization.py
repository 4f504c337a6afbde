"""Corpus tokenizers: special-token layout, mBART target format, decoding, save/load, real CSL-Daily text."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata

import pytest
from transformers import AutoTokenizer

from signbridge.data.synthetic import iter_split
from signbridge.tokenization import train_bert_tokenizer, train_corpus_tokenizer


@pytest.fixture(scope="module")
def corpus_texts():
    return {
        split: [
            e["text"]
            for e in iter_split(split, include_motion=False, train_size=1000, dev_size=100, test_size=0)
        ]
        for split in ("train", "dev")
    }


def test_word_tokenizer_layout_and_target_format(corpus_texts):
    tok = train_corpus_tokenizer(corpus_texts["train"])
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4, 5]) == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "<mask>",
        "de_DE",
    ]
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    words = {w for t in corpus_texts["train"] for w in t.split()}
    assert len(tok) == len(words) + 6
    text = corpus_texts["train"][0]
    ids = tok(text)["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == text.split() + ["</s>", "de_DE"]
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_word_tokenizer_decodes_every_dev_sentence(corpus_texts):
    tok = train_corpus_tokenizer(corpus_texts["train"])
    train_words = {w for t in corpus_texts["train"] for w in t.split()}
    for text in corpus_texts["dev"]:
        ids = tok(text)["input_ids"]
        expected = " ".join(w for w in text.split() if w in train_words)  # unknown words are <unk>
        assert tok.decode(ids, skip_special_tokens=True) == expected
        assert ids.count(tok.unk_token_id) == sum(w not in train_words for w in text.split())


def test_min_frequency_and_cap():
    texts = ["a b c", "a b", "a"]
    tok = train_corpus_tokenizer(texts, min_frequency=2)
    assert tok.convert_tokens_to_ids("c") == tok.unk_token_id
    assert tok.convert_tokens_to_ids("b") != tok.unk_token_id
    capped = train_corpus_tokenizer(texts, max_vocab_size=7)
    assert len(capped) == 7 and capped.convert_ids_to_tokens(6) == "a"  # the most frequent word survives


def test_batch_padding(corpus_texts):
    tok = train_corpus_tokenizer(corpus_texts["train"])
    batch = tok(corpus_texts["train"][:4], padding=True, return_tensors="pt")
    lengths = [len(t.split()) + 2 for t in corpus_texts["train"][:4]]
    assert batch["input_ids"].shape == (4, max(lengths))
    assert batch["attention_mask"].sum(1).tolist() == lengths
    assert (batch["input_ids"][batch["attention_mask"] == 0] == 1).all()


def test_save_load_round_trip(corpus_texts, tmp_path):
    tok = train_corpus_tokenizer(corpus_texts["train"], lang_code="de_DE")
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    for text in corpus_texts["dev"][:20]:
        assert again(text)["input_ids"] == tok(text)["input_ids"]
    assert again.convert_tokens_to_ids("de_DE") == 5
    assert "de_DE" in again.all_special_tokens
    assert again.get_vocab() == tok.get_vocab()


def test_char_tokenizer_nfkc():
    texts = ["他今年四岁。", "今天，天气很好！", "明天下雨？"]
    tok = train_corpus_tokenizer(texts, level="char", lang_code="zh_CN")
    # full-width comma / exclamation mark are NFKC-normalised to ASCII
    assert tok.convert_tokens_to_ids(",") != tok.unk_token_id and "，" not in tok.get_vocab()
    ids = tok("今天，天气很好！")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == list("今天,天气很好!") + ["</s>", "zh_CN"]
    assert tok.decode(ids, skip_special_tokens=True) == unicodedata.normalize("NFKC", "今天，天气很好！")


def test_csl_daily_real_text(csl_dir, tmp_path):
    from signbridge.data.slrt import read_slrt_annotations

    dev = [a["text"] for a in read_slrt_annotations(csl_dir / "csl-daily.dev")]
    test = [a["text"] for a in read_slrt_annotations(csl_dir / "csl-daily.test")]
    tok = train_corpus_tokenizer(dev, level="char", lang_code="zh_CN")
    chars = {c for t in dev for c in unicodedata.normalize("NFKC", t) if not c.isspace()}
    assert len(tok) == len(chars) + 6
    for text in dev[:200]:
        ids = tok(text)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids, skip_special_tokens=True) == unicodedata.normalize("NFKC", text).replace(
            " ", ""
        )
    unknown = sum(c not in chars for t in test for c in unicodedata.normalize("NFKC", t) if not c.isspace())
    assert unknown == sum(tok(t)["input_ids"].count(tok.unk_token_id) for t in test)
    tok.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)(test[0])["input_ids"] == tok(test[0])["input_ids"]
    bert = train_bert_tokenizer(dev, vocab_size=3000)
    ids = bert(dev[0])["input_ids"]
    assert ids[0] == bert.cls_token_id and ids[-1] == bert.sep_token_id and bert.unk_token_id not in ids
    # BERT splits Chinese characters; decode joins them with spaces
    assert bert.decode(ids, skip_special_tokens=True).replace(" ", "") == dev[0]


def test_bert_tokenizer(corpus_texts, tmp_path):
    tok = train_bert_tokenizer(corpus_texts["train"], vocab_size=400)
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(tok) <= 400
    text = corpus_texts["dev"][0]
    enc = tok(text)
    assert enc["input_ids"][0] == 2 and enc["input_ids"][-1] == 3
    assert tok.decode(enc["input_ids"], skip_special_tokens=True) == text
    # lower-casing, umlauts kept
    assert tok("Am Montag in München")["input_ids"] == tok("am montag in münchen")["input_ids"]
    assert "ü" in "".join(tok.get_vocab())
    pair = tok("am montag", "im norden")
    assert pair["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == enc["input_ids"]
    assert again.pad_token_id == 0 and again.mask_token == "[MASK]"


def test_errors():
    with pytest.raises(ValueError, match="level"):
        train_corpus_tokenizer(["a b"], level="bpe")
    with pytest.raises(ValueError, match="single string"):
        train_corpus_tokenizer("a b c")
    with pytest.raises(ValueError, match="no non-empty text"):
        train_corpus_tokenizer(["", "  "])
    with pytest.raises(ValueError, match="text 1 is int"):
        train_corpus_tokenizer(["a", 3])
    with pytest.raises(ValueError, match="lang_code"):
        train_corpus_tokenizer(["a"], lang_code="de DE")
    with pytest.raises(ValueError, match="max_vocab_size"):
        train_corpus_tokenizer(["a"], max_vocab_size=6)
    with pytest.raises(ValueError, match="vocab_size"):
        train_bert_tokenizer(["a"], vocab_size=5)


def test_bert_tokenizer_is_the_same_in_every_process(corpus_texts):
    """tokenizers' WordPieceTrainer changes its vocabulary from process to process
    (huggingface/tokenizers#1794); ours must not, or every from-scratch encoder changes run to run."""
    script = (
        "import json, sys\n"
        "from signbridge.tokenization import train_bert_tokenizer\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps(sorted(train_bert_tokenizer(texts, vocab_size=120).get_vocab().items())))\n"
    )
    vocabs = [
        subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(corpus_texts["train"]),
            text=True,
            capture_output=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    here = json.dumps(sorted(train_bert_tokenizer(corpus_texts["train"], vocab_size=120).get_vocab().items()))
    assert vocabs[0].strip() == vocabs[1].strip() == here


def test_bert_tokenizer_vocabulary_and_fallback(corpus_texts):
    texts = corpus_texts["train"]
    small = train_bert_tokenizer(texts, vocab_size=120)
    vocab = small.get_vocab()
    assert len(vocab) == 120
    # every character of the corpus is a piece, so no seen word is ever [UNK]
    for text in texts[:50]:
        assert small.unk_token_id not in small(text)["input_ids"]
        decoded = small.decode(small(text)["input_ids"], skip_special_tokens=True)
        assert decoded.replace(" ", "") == text.lower().replace(" ", "")  # BERT splits off "-" and the like
    # the most frequent words are whole pieces; a word that did not fit is split into known pieces
    words = [w for t in texts for w in t.lower().split() if w.isalpha()]
    most_common = max(set(words), key=lambda w: (words.count(w), w))
    assert most_common in vocab
    rare = next(w for w in sorted(set(words), key=words.count) if w not in vocab and len(w) > 2)
    pieces = small.tokenize(rare)
    assert (
        len(pieces) > 1
        and all(p.startswith("##") for p in pieces[1:])
        and "".join(pieces).replace("##", "") == rare
    )
    with pytest.raises(ValueError, match="cannot hold the corpus"):
        train_bert_tokenizer(texts, vocab_size=20)
