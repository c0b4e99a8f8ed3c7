"""Flakiness of the hidden tests: grade a notebook over K base seeds, report verdicts that flip.

Each run is one ``dlcourse grade <assignment> <notebook> --seed <base>``: every hidden test's
seed is derived from the base seed and the test's name, and the result records it, so a flip is
reproducible with ``dlcourse grade ... --replay <results.json>`` (the command is printed). By
default every solution notebook (``solutions/<a>/<a>.ipynb``) is swept with K = 20 base seeds
0..19: a correct solution must pass every test on every seed, so any failure is a grader bug
(a flaky statistical bound, a float32 tolerance too tight for some inputs) or a time limit
hit on a busy machine (rerun before concluding anything).

    .venv/bin/python benchmarks/seed_sweep.py                       # all solutions, K=20
    .venv/bin/python benchmarks/seed_sweep.py 01_logistic_regression --runs 50 --first 1000
    .venv/bin/python benchmarks/seed_sweep.py 03_shallow_networks --notebook my.ipynb --runs 5

Prints, per assignment: runs, tests, the tests whose verdict flipped (with the seeds they failed
on, one message each and a replay command) and the tests that failed on every seed. Exit
status 1 when a verdict flipped, or when a solution failed any test. The results stay in
``grading/seed_sweep/`` (``--keep``) for the replay commands; ``--record FILE`` also writes
the report, e.g. ``benchmarks/results/seed_sweep_cpu_<date>.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from dlcourse.course import Course

ROOT = Path(__file__).resolve().parents[1]
STUDENT = "sweep"


def grade_once(assignment: str, notebook: Path, seed: int, out: Path, limits: list[str]) -> dict:
    """The full result record of one ``dlcourse grade --seed`` run (it holds each test's seed)."""
    cmd = [
        sys.executable,
        "-m",
        "dlcourse",
        "--course",
        str(ROOT),
        "grade",
        assignment,
        str(notebook),
        "--student",
        STUDENT,
        "--out",
        str(out),
        "--force",
        "--seed",
        str(seed),
        "--format",
        "json",
        *(f"--limit={pair}" for pair in limits),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    saved = out / "results" / STUDENT / f"{assignment}.json"
    if done.returncode != 0 or not saved.is_file():
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed ({done.returncode}):\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return json.loads(saved.read_text())


def sweep(assignment: str, notebook: Path, seeds: list[int], limits: list[str], keep: Path):
    """Per test: ``{seed: (passed, message, test seed)}``, and the records' folders by seed."""
    verdicts: dict[str, dict[int, tuple[bool, str, int | None]]] = defaultdict(dict)
    folders = {}
    for seed in seeds:
        out = keep / assignment / f"seed-{seed}"
        start = time.perf_counter()
        record = grade_once(assignment, notebook, seed, out, limits)
        folders[seed] = out / "results" / STUDENT / f"{assignment}.json"
        failed = 0
        for test in record["tests"]:
            verdicts[test["name"]][seed] = (
                bool(test["passed"]),
                test.get("message", ""),
                test.get("seed"),
            )
            failed += not test["passed"]
        print(
            f"  {assignment} seed {seed}: {record['score']:g}/{record['max_score']:g}, "
            f"{failed} failed, {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return verdicts, folders


def report(assignment, notebook, verdicts, folders, solution: bool) -> tuple[list[str], bool]:
    """The report's lines for one assignment, and whether it is clean: no verdict flipped, and
    for a solution, no test failed at all."""
    runs = max((len(v) for v in verdicts.values()), default=0)
    flipped = {n: v for n, v in verdicts.items() if len({p for p, _, _ in v.values()}) > 1}
    always = {n: v for n, v in verdicts.items() if not any(p for p, _, _ in v.values())}
    shown = notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else notebook
    lines = [
        f"{assignment}: {shown}, {runs} base seeds, {len(verdicts)} tests, {len(flipped)} flipped, "
        f"{len(always)} failed on every seed"
    ]
    for kind, tests in (("flipped", flipped), ("failed on every seed", always)):
        for name, by_seed in sorted(tests.items()):
            failing = sorted(s for s, (p, _, _) in by_seed.items() if not p)
            first = failing[0]
            _, message, test_seed = by_seed[first]
            lines.append(f"  {kind}: {name}: failed on base seeds {failing} of {runs}")
            lines.append(f"    e.g. base seed {first} (test seed {test_seed}): {message[:300]}")
            lines.append(
                f"    replay: dlcourse grade {assignment} {notebook} --student {STUDENT} "
                f"--replay {folders[first]}"
            )
    return lines, not flipped and not (solution and always)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load}, python {platform.python_version()}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment of the course")
    parser.add_argument(
        "--notebook",
        type=Path,
        help="the notebook to sweep (one assignment); default: its solution",
    )
    parser.add_argument("--runs", type=int, default=20, help="K, the number of base seeds")
    parser.add_argument("--first", type=int, default=0, help="the first base seed (then +1 ...)")
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="passed on to dlcourse grade --limit (repeatable)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=ROOT / "grading" / "seed_sweep",
        help="where the results stay, for --replay (default: %(default)s)",
    )
    parser.add_argument("--record", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    chosen = args.assignments or Course(ROOT).assignments()
    if args.notebook is not None and len(chosen) != 1:
        parser.error("--notebook needs exactly one assignment")
    seeds = list(range(args.first, args.first + args.runs))
    lines = [
        datetime.now(UTC).isoformat(timespec="seconds"),
        machine(),
        f"base seeds {seeds[0]}..{seeds[-1]}",
    ]
    print("\n".join(lines), flush=True)
    clean = True
    for assignment in chosen:
        solution = args.notebook is None
        notebook = (
            ROOT / "solutions" / assignment / f"{assignment}.ipynb" if solution else args.notebook
        ).resolve()
        try:
            verdicts, folders = sweep(assignment, notebook, seeds, args.limit, args.keep)
        except RuntimeError as exc:  # e.g. a dlcourse without --seed, or a broken notebook
            print(f"seed_sweep: {exc}", file=sys.stderr)
            return 2
        got, ok = report(assignment, notebook, verdicts, folders, solution)
        clean &= ok
        lines += got
        print("\n".join(got), flush=True)
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text("\n".join(lines) + "\n")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
