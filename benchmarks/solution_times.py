"""Solution notebooks' grading time against their assignment's limits (issue #12, "Across").

Grades each named assignment's solution notebook with `dlcourse grade --json` several times and
prints the medians of the whole grading run (cells and probes), of the notebook's cells (the
worker's own record; ratio to `notebook_seconds`) and of the slowest cell (ratio to
`cell_seconds`), the limits in `autograder/<a>/assignment.toml`.
Goal: every ratio well under 1 (the limits are wall-clock and sized for a busy grader).

    .venv/bin/python benchmarks/solution_times.py 01_logistic_regression 02_softmax_regression [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def grade_once(assignment: str, out: Path) -> tuple[float, float, float, float]:
    """(wall seconds, summed cell seconds, slowest cell seconds, score fraction) of one run."""
    notebook = ROOT / "source" / assignment / f"{assignment}.ipynb"
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlcourse",
            "--course",
            str(ROOT),
            "grade",
            assignment,
            str(notebook),
            "--json",
            "--force",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    result = json.loads(done.stdout)
    # the per-cell record is in the full result the grader writes under --out
    record = json.loads((out / "results" / result["student"] / f"{assignment}.json").read_text())
    cells = [cell["seconds"] for cell in record["execution"]]
    return wall, sum(cells), max(cells), result["score"] / result["max_score"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    import torch

    print(datetime.now(UTC).isoformat(timespec="seconds"))
    print(uptime)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores visible, {platform.machine()}")
    print(
        f"{'assignment':24s} {'runs':>4s} {'wall':>7s} {'cells':>7s} {'slowest':>8s} "
        f"{'cells/limit':>11s} {'slowest/limit':>13s} score"
    )
    for assignment in args.assignments:
        limits = tomllib.loads((ROOT / "autograder" / assignment / "assignment.toml").read_text())[
            "limits"
        ]
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(args.repeat):
                runs.append(grade_once(assignment, Path(tmp) / str(k)))
        wall, cells, slowest, score = (statistics.median(r[i] for r in runs) for i in range(4))
        print(
            f"{assignment:24s} {len(runs):4d} {wall:7.1f} {cells:7.1f} {slowest:8.1f} "
            f"{cells / limits['notebook_seconds']:11.2f} {slowest / limits['cell_seconds']:13.2f} "
            f"{score:.0%}"
        )


if __name__ == "__main__":
    main()
