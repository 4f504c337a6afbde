"""Start-up cost of the package face, measured side by side in one run (issue 9, item 5).

Each command runs in a fresh interpreter, interleaved, repeated; the table gives the median wall time of each, and the two differences the targets are about:

- ``import signbridge`` at most 1 s more than ``import torch`` alone;
- ``signbridge --help`` under 1 s.

    python benchmarks/bench_import.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "import signbridge": [sys.executable, "-c", "import signbridge"],
    "signbridge --help": [sys.executable, "-m", "signbridge", "--help"],
    "first model use": [sys.executable, "-c", "import signbridge; signbridge.CVSLTForConditionalGeneration"],
}


def run_once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():  # warm the file cache once
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(run_once(command))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'command':<22} {'median s':>9} {'min s':>7} {'max s':>7}   ({args.repeats} interleaved runs)")
    for name, values in times.items():
        print(f"{name:<22} {median[name]:>9.2f} {min(values):>7.2f} {max(values):>7.2f}")
    extra = median["import signbridge"] - median["import torch"]
    print(f"\nimport signbridge - import torch: {extra:+.2f} s (target <= +1.00 s)")
    print(f"signbridge --help: {median['signbridge --help']:.2f} s (target < 1.00 s)")


if __name__ == "__main__":
    main()
