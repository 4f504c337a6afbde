"""The ``signbridge`` command.

Subcommands:

- ``signbridge corpus OUT_DIR --format slrt|skels|pose``: write the embedded corpus in a real format
  and print its statistics;
- ``signbridge produce "TEXT" --model DIR --out out.pose [--gif out.gif]``: text -> sign poses with a
  saved NARSignProducer;
- ``signbridge demo [--quick]``: the end-to-end demo on the embedded corpus (the README's main job).

Heavy imports happen inside the subcommands so that ``signbridge --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__


def _cmd_corpus(args: argparse.Namespace) -> int:
    from .data.synthetic import SyntheticCorpusConfig, corpus_statistics, generate_corpus, write_corpus

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
    import torch
    from transformers import AutoTokenizer

    from .data.pose_files import render_pose_gif, write_pose_file
    from .models.nar_slp import NARSignProducer

    text = args.text.strip()
    if not text:
        raise SystemExit("signbridge produce: the text is empty; give a sentence to produce")
    model = NARSignProducer.from_pretrained(args.model)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    batch = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        output = model.generate_poses(batch["input_ids"], batch["attention_mask"])
    length = int(output.lengths[0])
    poses = output.poses[0, :length].cpu().numpy()
    fps = getattr(model.config, "fps", 25)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_pose_file(out, poses, fps=fps)
    print(f"{length} frames ({length / fps:.2f} s at {fps} fps) written to {out}")
    if args.gif:
        render_pose_gif(args.gif, poses, fps=fps)
        print(f"rendered {args.gif}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import DemoSettings, run_demo

    settings = DemoSettings.quick() if args.quick else DemoSettings.full()
    if args.workers is not None:
        if args.workers < 1:
            raise SystemExit(f"signbridge demo: --workers must be at least 1, got {args.workers}")
        settings.workers = args.workers
    run_demo(output_dir=args.output_dir, quick=args.quick, settings=settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signbridge",
        description="Sign language translation (CV-SLT) and production (NAR-SLP) with Hugging Face transformers.",
    )
    parser.add_argument("--version", action="version", version=f"signbridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    corpus = sub.add_parser(
        "corpus", help="write the embedded corpus in a real format and print its statistics"
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
        "produce", help="produce a sign pose sequence from text with a saved NARSignProducer"
    )
    produce.add_argument("text", help='the sentence, e.g. "am tag regen im norden"')
    produce.add_argument(
        "--model", required=True, help="folder of a saved NARSignProducer (with its tokenizer)"
    )
    produce.add_argument("--out", required=True, help="the .pose file to write")
    produce.add_argument("--gif", default=None, help="also render a GIF here (needs the `pose` extra)")
    produce.set_defaults(func=_cmd_produce)

    demo = sub.add_parser(
        "demo", help="end-to-end demo on the embedded corpus (trains small models on the CPU)"
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
