"""Pruning of an mBART checkpoint's vocabulary (the CV-SLT preparation step of ``scripts/prune_mbart_vocab.py``).

Prune an mBART checkpoint's vocabulary to the tokens a sign-language corpus uses.

As the public CV-SLT/MMTLB releases do for mbart-large-cc25 (250k tokens -> a few thousand): keep every special
token (and every added token such as the language codes), then every id of the tokenised train/dev/test text; slice
`shared` (= `lm_head`) and `final_logits_bias`; save the id map. The output folder holds

- a pruned `MBartForConditionalGeneration` (config.vocab_id_map[i] = original id of new token i),
- a pruned tokenizer of the same class that emits the new ids directly (WordLevel and Unigram/sentencepiece fast
  tokenizers such as mBART's: language switching keeps working because every added token is kept; other
  kinds are copied unchanged with a warning, then map ids with `model.map_original_ids_to_pruned`),
- `vocab_id_map.json` ({"kept_ids": [...], "original_vocab_size": N}).

Build CV-SLT from it with `CVSLTForConditionalGeneration.from_mbart(output_dir, feature_dim=832, ...)` (the id map
travels in the config), and map generated ids back with `model.map_generated_ids_to_original(ids)` when decoding
with the original tokenizer.

Usage::

    python scripts/prune_mbart_vocab.py --mbart_name_or_path /models/mbart-large-cc25 \\
        --dataset phoenix14t --data_dir /data/phoenix14t --lang_code de_DE --output_dir /models/mbart-cc25-phoenix
    python scripts/prune_mbart_vocab.py --mbart_name_or_path /models/mbart-large-cc25 \\
        --text_file train.txt dev.txt test.txt --output_dir /models/mbart-cc25-pruned
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers.utils import logging

from signbridge.utils.files import atomic_write_text

if TYPE_CHECKING:
    from transformers import MBartForConditionalGeneration, PreTrainedTokenizerBase

logger = logging.get_logger(__name__)


def collect_keep_ids(
    tokenizer: PreTrainedTokenizerBase, texts: Iterable[str], extra_tokens: Sequence[str] = ()
) -> list[int]:
    """Sorted ids to keep: all special and added tokens, `extra_tokens` (e.g. the language code) and every id of the
    tokenised `texts` (tokenised without special tokens; those are kept anyway)."""
    keep = set(tokenizer.all_special_ids)
    keep.update(int(i) for i in tokenizer.get_added_vocab().values())
    for token in extra_tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id and token != tokenizer.unk_token:
            raise ValueError(f"extra token {token!r} is not in the tokenizer's vocabulary")
        keep.add(int(token_id))
    texts = list(texts)
    if not texts:
        raise ValueError("no corpus text given: pass --text_file or --dataset")
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        keep.update(int(i) for i in ids)
    lowest = _lowest_scoring_unigram_piece(tokenizer)
    if lowest is not None:
        keep.add(lowest)
    return sorted(keep)


def _lowest_scoring_unigram_piece(tokenizer) -> int | None:
    """The id of a Unigram (sentencepiece) model's lowest-scoring piece, or None for other tokenizers.

    A Unigram tokenizer scores an unknown character ``min(piece scores) - 10``. Pruning away low-scoring pieces
    raises that minimum, so an unknown character can become cheaper than a real segmentation, and a corpus text can
    be segmented differently than before (pieces {xa, b, ab, x, a}: "xab" -> [xa, b] before, [<unk>, ab] after).
    Keeping the lowest-scoring piece keeps the minimum, hence the unknown-character score, exactly as it was.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    model = json.loads(backend.to_str())["model"]
    if model.get("type") != "Unigram" or not model.get("vocab"):
        return None
    scores = [float(score) for _piece, score in model["vocab"]]
    return int(min(range(len(scores)), key=scores.__getitem__))


def check_same_segmentation(
    original_json: str, pruned_json: str, texts: Iterable[str], keep_ids: list[int]
) -> None:
    """Raise ``ValueError`` unless every text encodes with the pruned tokenizer to its original ids, mapped.

    Both tokenizers are ``tokenizers`` JSON strings; special tokens added by the post-processor are compared too.
    """
    from tokenizers import Tokenizer

    position = {old: new for new, old in enumerate(keep_ids)}
    texts = list(texts)
    original = Tokenizer.from_str(original_json).encode_batch(texts)
    pruned = Tokenizer.from_str(pruned_json).encode_batch(texts)
    changed = [
        text
        for text, before, after in zip(texts, original, pruned, strict=True)
        if after.ids != [position.get(i, -1) for i in before.ids]
    ]
    if changed:
        examples = ", ".join(repr(t[:60]) for t in changed[:3])
        raise ValueError(
            f"pruning would change the tokens of {len(changed)} of {len(texts)} corpus text(s), e.g. {examples}; "
            "the pruned tokenizer is not written"
        )


def _remap_special_tokens(node, position):
    """Rewrite ids inside post-processor `special_tokens` entries (recursively through Sequence processors)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "special_tokens" and isinstance(value, dict):
                for entry in value.values():
                    entry["ids"] = [position[i] for i in entry["ids"]]
            elif key in ("sep", "cls") and isinstance(value, list) and len(value) == 2:
                node[key] = [value[0], position[value[1]]]
            else:
                _remap_special_tokens(value, position)
    elif isinstance(node, list):
        for item in node:
            _remap_special_tokens(item, position)


def prune_tokenizer_json(tokenizer_json: str, keep_ids: list[int]) -> str:
    """Return a `tokenizers` JSON whose vocabulary is `keep_ids` (new id = position in `keep_ids`).

    Supported models: WordLevel and Unigram (sentencepiece, as mBART's). Every kept piece keeps its score; the
    segmentation of the corpus stays the same only if the lowest-scoring piece is kept too (see
    :func:`collect_keep_ids`), which :func:`check_same_segmentation` verifies.
    """
    data = json.loads(tokenizer_json)
    position = {old: new for new, old in enumerate(keep_ids)}
    model = data["model"]
    kind = model.get("type")
    if kind == "WordLevel":
        model["vocab"] = {tok: position[i] for tok, i in model["vocab"].items() if i in position}
    elif kind == "Unigram":
        vocab = model["vocab"]
        in_model = [i for i in keep_ids if i < len(vocab)]
        if in_model != keep_ids[: len(in_model)]:
            raise ValueError("Unigram pruning needs added tokens to have ids after the model's pieces")
        model["vocab"] = [vocab[i] for i in in_model]
        if model.get("unk_id") is not None:
            if model["unk_id"] not in position:
                raise ValueError("the unknown token must be kept")
            model["unk_id"] = position[model["unk_id"]]
    else:
        raise ValueError(f"pruning a {kind!r} tokenizer model is not supported (WordLevel and Unigram are)")
    added = []
    for token in data.get("added_tokens") or []:
        if token["id"] in position:
            added.append({**token, "id": position[token["id"]]})
        else:
            raise ValueError(f"added token {token['content']!r} (id {token['id']}) is not among the kept ids")
    data["added_tokens"] = added
    _remap_special_tokens(data.get("post_processor"), position)
    return json.dumps(data, ensure_ascii=False)


def prune_mbart_checkpoint(
    mbart_name_or_path: str | os.PathLike | MBartForConditionalGeneration,
    output_dir: str | os.PathLike,
    texts: Iterable[str],
    tokenizer_name_or_path: str | os.PathLike | None = None,
    extra_tokens: Sequence[str] = (),
) -> dict[str, Any]:
    """Prune model and tokenizer, write them with `vocab_id_map.json` to `output_dir`; returns a summary dict.

    Raises ``ValueError`` before writing anything when the pruned tokenizer would tokenise a corpus text differently.
    """
    from transformers import AutoTokenizer, MBartForConditionalGeneration

    from signbridge.models.cvslt.modeling_cvslt import prune_mbart_vocabulary

    output_dir = Path(output_dir)
    texts = list(texts)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_name_or_path or mbart_name_or_path))
    keep = collect_keep_ids(tokenizer, texts, extra_tokens)
    pruned_json = None
    if getattr(tokenizer, "is_fast", False):
        try:
            pruned_json = prune_tokenizer_json(tokenizer.backend_tokenizer.to_str(), keep)
        except ValueError as error:
            logger.warning(
                f"tokenizer kept unpruned ({error}); map ids with model.map_original_ids_to_pruned"
            )
    if pruned_json is not None:
        # every corpus text must keep its tokens (a pruned Unigram model can segment differently): refuse if not
        check_same_segmentation(tokenizer.backend_tokenizer.to_str(), pruned_json, texts, keep)
    mbart = (
        mbart_name_or_path
        if isinstance(mbart_name_or_path, MBartForConditionalGeneration)
        else MBartForConditionalGeneration.from_pretrained(str(mbart_name_or_path))
    )
    original_vocab = mbart.config.vocab_size
    if keep[-1] >= original_vocab:
        raise ValueError(f"tokenizer id {keep[-1]} is outside the model's vocabulary ({original_vocab})")
    pruned = prune_mbart_vocabulary(mbart, keep)
    output_dir.mkdir(parents=True, exist_ok=True)
    pruned.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    tokenizer_file = output_dir / "tokenizer.json"
    pruned_tokenizer = pruned_json is not None and tokenizer_file.exists()
    if pruned_tokenizer:
        atomic_write_text(tokenizer_file, pruned_json)
        for name in (
            "sentencepiece.bpe.model",
            "spiece.model",
        ):  # slow-tokenizer files would disagree with the ids
            (output_dir / name).unlink(missing_ok=True)
        config_file = output_dir / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8"))
        position = {old: new for new, old in enumerate(keep)}
        if "added_tokens_decoder" in config:
            config["added_tokens_decoder"] = {
                str(position[int(k)]): v
                for k, v in config["added_tokens_decoder"].items()
                if int(k) in position
            }
        atomic_write_text(config_file, json.dumps(config, indent=2, ensure_ascii=False))
    atomic_write_text(
        output_dir / "vocab_id_map.json",
        json.dumps({"kept_ids": keep, "original_vocab_size": original_vocab}),
    )
    summary = {
        "original_vocab_size": original_vocab,
        "pruned_vocab_size": len(keep),
        "tokenizer_pruned": pruned_tokenizer,
        "output_dir": str(output_dir),
    }
    logger.info(f"pruned vocabulary: {summary}")
    return summary


@dataclass
class PruneVocabularyArguments:
    """What ``scripts/prune_mbart_vocab.py`` prunes, and with which corpus text."""

    mbart_name_or_path: str = field(metadata={"help": "mBART checkpoint folder (or Hub id)"})
    output_dir: str = field(metadata={"help": "where the pruned model, tokenizer and vocab_id_map.json go"})
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "defaults to the checkpoint's tokenizer"}
    )
    text_file: list[str] = field(default_factory=list, metadata={"help": "text files, one sentence per line"})
    dataset: str | None = field(
        default=None, metadata={"help": "a load_sign_dataset name (all its splits are used)"}
    )
    data_dir: str | None = field(default=None, metadata={"help": "the corpus folder of --dataset"})
    text_column: str = field(
        default="text", metadata={"help": "the column of --dataset holding the target text"}
    )
    lang_code: list[str] = field(
        default_factory=list, metadata={"help": "extra token(s) to keep, e.g. de_DE"}
    )


def corpus_texts(args: PruneVocabularyArguments) -> list[str]:
    """Every non-empty line of ``args.text_file`` and every ``text_column`` value of ``args.dataset``'s splits."""
    texts = []
    for path in args.text_file:
        texts.extend(
            line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()
        )
    if args.dataset:
        from signbridge.data.builders import load_sign_dataset

        dataset = load_sign_dataset(args.dataset, data_dir=args.data_dir)
        for split in dataset:
            texts.extend(dataset[split][args.text_column])
    return texts


def main(argv: Sequence[str] | None = None) -> dict:
    """``scripts/prune_mbart_vocab.py``: prune and save; returns the summary."""
    from signbridge.utils.arguments import parse_config_and_flags
    from signbridge.utils.files import check_model_folder, check_output_folder

    (args,) = parse_config_and_flags((PruneVocabularyArguments,), argv)
    check_output_folder(args.output_dir, "--output_dir", create=True)  # user errors before any work
    check_model_folder(
        args.mbart_name_or_path, "mbart", "an mBART checkpoint", "--mbart_name_or_path", allow_hub_id=True
    )
    return prune_mbart_checkpoint(
        args.mbart_name_or_path,
        args.output_dir,
        corpus_texts(args),
        args.tokenizer_name_or_path,
        args.lang_code,
    )


__all__ = [
    "PruneVocabularyArguments",
    "check_same_segmentation",
    "collect_keep_ids",
    "corpus_texts",
    "main",
    "prune_mbart_checkpoint",
    "prune_tokenizer_json",
]
