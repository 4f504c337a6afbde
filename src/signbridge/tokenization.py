"""Corpus tokenizers, for when no pretrained tokenizer is at hand (offline, or a new language).

* :func:`train_corpus_tokenizer` trains the target-side tokenizer of the translation model
  (CVSLT, built on mBART) on a corpus' training text: whole words for German (PHOENIX14T text is
  already lower-cased and tokenised, "... wetter ."), single characters after NFKC normalisation
  for Chinese (CSL-Daily). It uses mBART's special tokens ``<s>=0 <pad>=1 </s>=2 <unk>=3``, then
  ``<mask>`` and the target-language code (e.g. ``de_DE``), and encodes a sentence as mBART's
  target format ``tokens </s> lang_code``.
* :func:`train_bert_tokenizer` builds a WordPiece tokenizer with BERT's special tokens
  (``[PAD]=0 [UNK] [CLS] [SEP] [MASK]``, ``[CLS] x [SEP]``) for the text encoder of the NAR-SLP
  producer when a BERT is trained from scratch.

Both return a :class:`transformers.PreTrainedTokenizerFast` that round-trips through
``save_pretrained`` / ``AutoTokenizer.from_pretrained``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

__all__ = ["MBART_SPECIAL_TOKENS", "BERT_SPECIAL_TOKENS", "train_corpus_tokenizer", "train_bert_tokenizer"]

MBART_SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
BERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_UNLIMITED = 10_000_000


def _checked_texts(texts: Iterable[str], what: str) -> list[str]:
    if isinstance(texts, str):
        raise ValueError(f"{what}: expected an iterable of sentences, got a single string")
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"{what}: text {i} is {type(text).__name__}, expected str")
        out.append(text)
    if not any(t.strip() for t in out):
        raise ValueError(f"{what}: no non-empty text to train on (got {len(out)} texts)")
    return out


def train_corpus_tokenizer(
    texts: Iterable[str],
    level: str = "word",
    lang_code: str = "de_DE",
    min_frequency: int = 1,
    max_vocab_size: int | None = None,
    lowercase: bool = False,
    model_max_length: int = 1024,
) -> PreTrainedTokenizerFast:
    """Train an mBART-style target tokenizer on ``texts``.

    Args:
        texts: training sentences (e.g. the ``text`` column of the training split).
        level: ``"word"`` (split on whitespace; for tokenised German) or ``"char"`` (NFKC, then one
            token per non-space character; for Chinese).
        lang_code: the target-language code token appended after ``</s>`` (``"de_DE"``, ``"zh_CN"``).
        min_frequency: tokens seen fewer times become ``<unk>``.
        max_vocab_size: cap on the vocabulary size (special tokens included); ``None`` for no cap.
        lowercase: lower-case before splitting.
        model_max_length: recorded in the tokenizer config.

    Returns:
        A ``PreTrainedTokenizerFast`` with ``<s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4`` and
        ``lang_code=5``; ``tokenizer("am montag regnet es .")`` gives the ids of
        ``am montag regnet es . </s> de_DE``; ``decode(ids, skip_special_tokens=True)`` gives the
        text back (words joined by spaces; characters joined without spaces at char level).
    """
    texts = _checked_texts(texts, "train_corpus_tokenizer")
    if level not in ("word", "char"):
        raise ValueError(f"train_corpus_tokenizer: level must be 'word' or 'char', got {level!r}")
    if not lang_code or any(c.isspace() for c in lang_code):
        raise ValueError(
            f"train_corpus_tokenizer: lang_code must be a non-empty token without spaces, got {lang_code!r}"
        )
    if min_frequency < 1:
        raise ValueError(f"train_corpus_tokenizer: min_frequency must be >= 1, got {min_frequency}")
    specials = [*MBART_SPECIAL_TOKENS, lang_code]
    if max_vocab_size is not None and max_vocab_size <= len(specials):
        raise ValueError(
            f"train_corpus_tokenizer: max_vocab_size must exceed the {len(specials)} special tokens, got {max_vocab_size}"
        )

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    norms = [normalizers.NFKC()]
    if lowercase:
        norms.append(normalizers.Lowercase())
    tokenizer.normalizer = normalizers.Sequence(norms)
    if level == "word":
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tokenizer.decoder = None  # tokens joined by single spaces
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex("."), behavior="isolated")]
        )
        tokenizer.decoder = decoders.Fuse()  # characters joined without spaces
    trainer = trainers.WordLevelTrainer(
        vocab_size=max_vocab_size or _UNLIMITED,
        min_frequency=min_frequency,
        special_tokens=specials,
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    eos_id, lang_id = tokenizer.token_to_id("</s>"), tokenizer.token_to_id(lang_code)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A </s> {lang_code}",
        pair=f"$A $B </s> {lang_code}",
        special_tokens=[("</s>", eos_id), (lang_code, lang_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        mask_token="<mask>",
        extra_special_tokens=[lang_code],
        model_max_length=model_max_length,
        model_input_names=["input_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )


def _wordpiece_vocab(
    normalizer, pre_tokenizer, texts: list[str], vocab_size: int, min_frequency: int
) -> dict[str, int]:
    """A WordPiece vocabulary built deterministically from the corpus' words.

    tokenizers' ``WordPieceTrainer`` gives a different vocabulary in each process (its merge ties
    are broken in hash-map order, huggingface/tokenizers#1794), which made every from-scratch text
    encoder, and every score built on it, change from run to run. Here: BERT's special tokens,
    every character (word-initial and ``##`` continuation, so no seen character is ever unknown),
    then the corpus' words by frequency (ties alphabetical) up to ``vocab_size``. Words that did not
    fit, or new ones, are split by WordPiece's longest match into known pieces.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        normalized = normalizer.normalize_str(text)
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalized))
    pieces = list(BERT_SPECIAL_TOKENS)
    pieces += sorted({word[0] for word in counts} - set(pieces))
    pieces += sorted({"##" + char for word in counts for char in word[1:]})
    if len(pieces) > vocab_size:
        raise ValueError(
            f"train_bert_tokenizer: vocab_size={vocab_size} cannot hold the corpus' {len(pieces) - len(BERT_SPECIAL_TOKENS)} "
            f"characters and continuation characters plus {len(BERT_SPECIAL_TOKENS)} special tokens; raise it"
        )
    known = set(pieces)
    words = sorted(
        (w for w, n in counts.items() if n >= min_frequency and w not in known), key=lambda w: (-counts[w], w)
    )
    pieces += words[: vocab_size - len(pieces)]
    return {piece: i for i, piece in enumerate(pieces)}


def train_bert_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 8000,
    lowercase: bool = True,
    min_frequency: int = 1,
    model_max_length: int = 512,
) -> PreTrainedTokenizerFast:
    """Build a BERT-style WordPiece tokenizer from ``texts`` (for a ``BertModel`` trained from scratch).

    The vocabulary is deterministic (the same texts give the same ids in every process): the
    special tokens, the corpus' characters (word-initial and ``##`` continuation) and its most
    frequent words; see :func:`_wordpiece_vocab` for why not tokenizers' ``WordPieceTrainer``.

    Special tokens ``[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4``; encodes ``[CLS] x [SEP]`` (pairs
    ``[CLS] a [SEP] b [SEP]`` with token types 0/1); BERT normalisation (accents kept, so German
    umlauts survive; Chinese characters split) and pre-tokenisation; ``##`` continuation pieces.
    """
    texts = _checked_texts(texts, "train_bert_tokenizer")
    if vocab_size <= len(BERT_SPECIAL_TOKENS):
        raise ValueError(
            f"train_bert_tokenizer: vocab_size must exceed {len(BERT_SPECIAL_TOKENS)}, got {vocab_size}"
        )
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=lowercase
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocab = _wordpiece_vocab(normalizer, pre_tokenizer, texts, vocab_size, min_frequency)
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # keep " ." as in the corpus
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )
