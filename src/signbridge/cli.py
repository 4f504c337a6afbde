"""The ``signbridge`` command.

Subcommands:

- ``signbridge corpus OUT_DIR --format slrt|skels|pose``: write the embedded corpus in a real format
  and print its statistics;
- ``signbridge produce "TEXT" --model DIR --out out.pose [--gif out.gif]``: text -> sign poses with a
  saved NARSignProducer;
- ``signbridge translate INPUT --model DIR [--out out.tsv] [--batch_size N]``: sign poses -> text with a saved
  pose-input CV-SLT model; INPUT is a ``.pose`` or ``.skels`` file, a folder of them, or a video (with the
  ``video`` extra);
- ``signbridge demo [--quick]``: the end-to-end demo on the embedded corpus (the README's main job).

Heavy imports happen inside the subcommands so that ``signbridge --help`` answers at once.

A user error (a missing or wrong model folder, a file where a folder belongs, an unwritable output,
a bad value; see :mod:`signbridge.utils.errors`) prints one line, ``signbridge: error: ...``, on
stderr and exits with status 2, like an argparse usage error; ``signbridge`` without a command
prints the usage and exits 2. Anything else is a bug and shows its traceback; ``--debug`` shows
the traceback of user errors too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .utils.errors import UserError, is_user_error, report_user_error
from .utils.files import atomic_write_text, check_model_folder, check_output_file, check_output_folder


def _cmd_corpus(args: argparse.Namespace) -> int:
    from .data.synthetic import SyntheticCorpusConfig, corpus_statistics, generate_corpus, write_corpus

    check_output_folder(args.out_dir, "OUT_DIR", create=True)
    config = SyntheticCorpusConfig(
        seed=args.seed,
        train_size=args.train_size,
        dev_size=args.dev_size,
        test_size=args.test_size,
        feature_dim=args.feature_dim,
    )
    corpus = generate_corpus(config)
    out = write_corpus(corpus, args.out_dir, format=args.format)
    stats = corpus_statistics(corpus)
    print(f"wrote the embedded corpus ({args.format} format) to {out}")
    print(json.dumps(stats, indent=2, ensure_ascii=False, default=str))
    return 0


def _cmd_produce(args: argparse.Namespace) -> int:
    # the arguments are checked before the heavy imports and before the model is loaded
    text = args.text.strip()
    if not text:
        raise UserError("produce: the text is empty; give a sentence to produce")
    out = check_output_file(args.out, "--out")
    if args.gif:
        check_output_file(args.gif, "--gif")
    check_model_folder(args.model, "nar_slp", "a NARSignProducer")

    import torch
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one sentence: a weight-loading bar is noise on stderr

    from .data.pose_files import render_pose_gif, write_pose_file
    from .models.nar_slp import NARSignProducer

    model = NARSignProducer.from_pretrained(args.model)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    batch = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        output = model.generate_poses(batch["input_ids"], batch["attention_mask"])
    length = int(output.lengths[0])
    poses = output.poses[0, :length].cpu().numpy()
    fps = getattr(model.config, "fps", 25)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_pose_file(out, poses, fps=fps)
    print(f"{length} frames ({length / fps:.2f} s at {fps} fps) written to {out}")
    if args.gif:
        render_pose_gif(args.gif, poses, fps=fps)
        print(f"rendered {args.gif}")
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    # the arguments are checked before the heavy imports and before the model is loaded
    source = Path(args.input)
    if not source.exists():
        raise FileNotFoundError(f"translate: INPUT {source}: no such file or folder")
    if args.batch_size < 1:
        raise UserError(f"translate: --batch_size must be at least 1, got {args.batch_size}")
    out = check_output_file(args.out, "--out") if args.out else None
    check_model_folder(args.model, "cvslt", "a CV-SLT translator")

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the translation bar is the one that matters

    from .evaluation.translation import translate_files

    results = translate_files(
        [source],
        args.model,
        batch_size=args.batch_size,
        num_beams=args.num_beams,
        max_new_tokens=args.max_new_tokens,
    )
    lines = [f"{name}\t{' '.join(text.split())}" for name, text in results]
    if out is None:
        print("\n".join(lines))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        text = "name\ttranslation\n" + "".join(line + "\n" for line in lines)
        atomic_write_text(out, text)  # a failed write keeps an earlier file
        print(f"{len(lines)} translations written to {out}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise UserError(f"demo: --workers must be at least 1, got {args.workers}")
    check_output_folder(args.output_dir, "--output-dir", create=True)
    from .demo import DemoSettings, run_demo

    settings = DemoSettings.quick() if args.quick else DemoSettings.full()
    if args.workers is not None:
        settings.workers = args.workers
    run_demo(output_dir=args.output_dir, quick=args.quick, settings=settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signbridge",
        description="Sign language translation (CV-SLT) and production (NAR-SLP) with Hugging Face transformers.",
    )
    parser.add_argument("--version", action="version", version=f"signbridge {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of every error, user errors included"
    )
    # subcommands accept --debug too (after the command); SUPPRESS keeps the top-level value otherwise
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    corpus = sub.add_parser(
        "corpus", parents=[debug], help="write the embedded corpus in a real format and print its statistics"
    )
    corpus.add_argument("out_dir", help="folder to write into")
    corpus.add_argument(
        "--format",
        choices=["slrt", "skels", "pose"],
        default="slrt",
        help="slrt: SLRT gzip pickles (annotations + features); skels: Progressive "
        "Transformers .skels/.text/.gloss/.files; pose: pose-format .pose files + index.csv",
    )
    corpus.add_argument("--seed", type=int, default=0)
    corpus.add_argument("--train-size", type=int, default=4000)
    corpus.add_argument("--dev-size", type=int, default=300)
    corpus.add_argument("--test-size", type=int, default=300)
    corpus.add_argument("--feature-dim", type=int, default=832)
    corpus.set_defaults(func=_cmd_corpus)

    produce = sub.add_parser(
        "produce", parents=[debug], help="produce a sign pose sequence from text with a saved NARSignProducer"
    )
    produce.add_argument("text", help='the sentence, e.g. "am tag regen im norden"')
    produce.add_argument(
        "--model", required=True, help="folder of a saved NARSignProducer (with its tokenizer)"
    )
    produce.add_argument("--out", required=True, help="the .pose file to write")
    produce.add_argument("--gif", default=None, help="also render a GIF here (needs the `pose` extra)")
    produce.set_defaults(func=_cmd_produce)

    translate = sub.add_parser(
        "translate",
        parents=[debug],
        help="translate sign poses (or a video) to text with a saved CV-SLT model",
    )
    translate.add_argument(
        "input", help="a .pose or .skels file, a folder of them, or a video (needs the `video` extra)"
    )
    translate.add_argument("--model", required=True, help="folder of a saved pose-input CV-SLT model")
    translate.add_argument("--out", default=None, help="write name<TAB>translation lines to this TSV file")
    translate.add_argument("--batch_size", "--batch-size", type=int, default=8, help="sequences per batch")
    translate.add_argument("--num_beams", "--num-beams", type=int, default=5, help="beam size")
    translate.add_argument(
        "--max_new_tokens", "--max-new-tokens", type=int, default=40, help="most tokens per translation"
    )
    translate.set_defaults(func=_cmd_translate)

    demo = sub.add_parser(
        "demo",
        parents=[debug],
        help="end-to-end demo on the embedded corpus (trains small models on the CPU)",
    )
    demo.add_argument("--quick", action="store_true", help="a first look in under 3 minutes (tiny sizes)")
    demo.add_argument("--output-dir", default="demo_output", help="where models, .pose files and GIFs go")
    demo.add_argument(
        "--workers",
        type=int,
        default=None,
        help="models trained side by side, one single-threaded process each "
        "(default: one per CPU core, at most 5; 1: one after another in this process)",
    )
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; user errors print one line and return 2, bugs raise (see the module doc)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.error("no command given; choose one of corpus, produce, translate, demo (signbridge --help)")
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        if not is_user_error(exc):
            raise  # a bug: the traceback is what a report needs
        return report_user_error(exc, parser.prog, args.debug)


if __name__ == "__main__":
    sys.exit(main())
