"""Check that the files marked as copies are identical to their sources; rewrite them with ``--fix_and_overwrite``.

A saved model carries for ``trust_remote_code`` only the files that its modeling file imports relatively from its
own folder, so a model that embeds another model's part needs that part's files in its folder. signbridge keeps
such files as whole-file copies: a copy opens with the header::

    # Copied from signbridge.models.pose_vae.modeling_pose_vae (whole file): do not edit here; edit the source,
    # then run `python utils/check_copies.py --fix_and_overwrite`.

followed by the source file's text, unchanged. This script finds every ``*.py`` under ``src/signbridge`` whose
first line is such a marker, compares the file with the header plus the source named by the marker, prints a
unified diff for each difference and exits with status 1 if there is one (0 otherwise). With
``--fix_and_overwrite`` it rewrites the differing copies instead (and exits 0).

Usage (from anywhere)::

    python utils/check_copies.py [--fix_and_overwrite] [--root DIR]

``--root`` names the repository root (default: the folder above this script); the tests use it on a temporary
tree. The script needs only the standard library.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "signbridge"
MARKER = re.compile(rf"^# Copied from ({PACKAGE}(?:\.\w+)+) \(whole file\)")
HEADER = (
    "# Copied from {module} (whole file): do not edit here; edit the source,\n"
    "# then run `python utils/check_copies.py --fix_and_overwrite`.\n"
)


@dataclass
class Copy:
    """A marked copy: its path, the dotted name of its source module and that module's path."""

    path: Path
    module: str
    source: Path

    def expected(self) -> str:
        """The text the copy must have: the header, then the source's text."""
        return HEADER.format(module=self.module) + self.source.read_text(encoding="utf-8")


def module_path(root: Path, module: str) -> Path:
    """``signbridge.models.pose_vae.modeling_pose_vae`` -> ``<root>/src/signbridge/models/pose_vae/modeling_pose_vae.py``."""
    return root / "src" / Path(*module.split(".")).with_suffix(".py")


def find_copies(root: Path) -> list[Copy]:
    """Every file under ``<root>/src/signbridge`` whose first line is a copy marker, sorted by path."""
    copies = []
    for path in sorted((root / "src" / PACKAGE).rglob("*.py")):
        with path.open(encoding="utf-8") as handle:
            match = MARKER.match(handle.readline())
        if match:
            copies.append(Copy(path, match.group(1), module_path(root, match.group(1))))
    return copies


def check_copies(root: Path, fix: bool = False) -> list[str]:
    """The problems found, one message each (with a unified diff for a differing copy); ``fix`` rewrites the
    differing copies, which then count as no problem. A missing source, or a source that is itself a copy, is always
    a problem."""
    problems = []
    for copy in find_copies(root):
        name = copy.path.relative_to(root).as_posix()
        if not copy.source.is_file():
            problems.append(
                f"{name}: its source {copy.module} ({copy.source.relative_to(root)}) does not exist"
            )
            continue
        if MARKER.match(copy.source.read_text(encoding="utf-8").partition("\n")[0]):
            problems.append(f"{name}: its source {copy.module} is itself a copy; name the original")
            continue
        expected, actual = copy.expected(), copy.path.read_text(encoding="utf-8")
        if actual == expected:
            continue
        if fix:
            copy.path.write_text(expected, encoding="utf-8")
            print(f"rewrote {name} from {copy.module}")
            continue
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{copy.source.relative_to(root).as_posix()} (with the header)",
            tofile=name,
        )
        problems.append(f"{name} differs from {copy.module}:\n{''.join(diff)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fix_and_overwrite", action="store_true", help="rewrite the copies that differ")
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    problems = check_copies(root, fix=args.fix_and_overwrite)
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{len(problems)} problem(s); run `python utils/check_copies.py --fix_and_overwrite` to rewrite copies"
        )
        return 1
    print(f"{len(find_copies(root))} copies match their sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
